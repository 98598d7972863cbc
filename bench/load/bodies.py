"""The request bodies the load test sends (the locustfile and the lifecycle driver both use
them; no Locust here). `data` is the JSON file `run` writes for the locustfile."""

from __future__ import annotations

from typing import Any


def acceptance_body(data: dict[str, Any], applicant: dict[str, Any]) -> dict[str, Any]:
    """What the counter sends (docs/api.md, POST /applications): 首次申领 (12) for an adult who
    never had a card, 换领 (29 其他原因换领) for a card holder; a camera frame of the applicant's
    face; both thumbs registered (images, or the capture client's templates: `finger_mode`);
    the materials shown and the pledge."""
    first = not applicant["card"]
    fingers = data["fingers"]
    mode = data.get("finger_mode", "template")
    return {
        "id_number": applicant["id_number"],
        "type": "first" if first else "renewal",
        "reason": "12" if first else "29",
        "residence_address": "江西省南昌市东湖区八一大道100号",
        "phone": "13807910001",
        "materials_shown": ["household_book", "residence_proof"],
        "pledge_signed": first,
        "photo": data["frames"][applicant["frame"] % len(data["frames"])],
        "fingers": [
            {"position": "11", "result": "registered", mode: fingers["p1_1"][mode]},
            {"position": "16", "result": "registered", mode: fingers["p2_1"][mode]},
        ],
    }


def handover_body(data: dict[str, Any]) -> dict[str, Any]:
    """本人领取: the right thumb taken again (another impression of the registered one), a drawn
    signature and the paper form signed."""
    mode = data.get("finger_mode", "template")
    return {
        "way": "in_person",
        "finger": {"position": "11", mode: data["fingers"]["p1_2"][mode]},
        "signature": data["signature"],
        "paper_signed": True,
    }


def card_serial(prefix: str, batch_id: int, index: int) -> str:
    """A card serial (卡号) of the load test's own, unique by batch."""
    return f"{prefix}{batch_id:08d}{index:05d}"


def tracking_number(prefix: str, batch_id: int, index: int) -> str:
    """A postal tracking number (邮件号) for a card that goes by post."""
    return f"{prefix}{batch_id:07d}{index:04d}CN"
