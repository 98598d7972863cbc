"""README's walkthrough through the API, on the seeded demo, with only the accounts README lists:
王泽 (首次申领) and 赵颖 (换领), registered at 东湖区城东派出所, accepted by `clerk` at 东湖区城关派出所,
reviewed in the three steps the demo's 集中换发 puts in force for 南昌市 (`reviewer` 初审,
`reviewer_donghu` 审核签发, `reviewer_nanchang` 复核), produced by `centre_operator` (package opened
with the demo key as README says), shipped to 东湖分局 for 质检 (`distributor_donghu` signs and
forwards), signed for at the station by `distributor`, and handed over: 王泽 in person (已领取),
赵颖 to a relative and then verified (已核验).

The demo register is deterministic per seed, and README's applicants are among its first 4,000
people, so the walkthrough seeds 4,000 instead of 20,000 (the same people, only fewer)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django_otp.oath import totp
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.demo.management.commands.demo import demo_keys
from tongban.demo.seed import DEMO_PASSWORD, DEMO_TOTP_KEY_HEX, seed_demo
from tongban.registry.models import Person

pytestmark = pytest.mark.django_db

README = (Path(settings.BASE_DIR).parent / "README.md").read_text(encoding="utf-8")
IN_PERSON = "360104194707163171"  # 王泽, 首次申领 (12)
PROXY = "360102195608101145"  # 赵颖, 换领 (21: her card ended in 2005)
RELATIVE = ("赵建国", "360102195503120315")
FINGERS = [
    {"position": position, "result": "not_registered", "reason": "手指受伤"}
    for position in ("11", "16", "12", "17", "13", "18", "14", "19", "15", "20")
]


def readme_accounts() -> dict[str, bool]:
    """README's demo accounts, each with whether its table marks it as needing a one-time code."""
    section = README.split("## Demo accounts", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \|.*\| (yes)? ?\|$", section, flags=re.MULTILINE)
    return {name: bool(code) for name, code in rows}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json()


class Walk:
    """Token clients of README's accounts, signed in as README says (POST /auth/token)."""

    def __init__(self) -> None:
        self.clients: dict[str, APIClient] = {}
        self.accounts = readme_accounts()

    def __call__(self, username: str) -> APIClient:
        assert username in self.accounts, f"{username} is not in README's table"
        if username not in self.clients:
            api = APIClient()
            body = {"username": username, "password": DEMO_PASSWORD}
            if self.accounts[username]:  # README: the code `tongban demo otp` prints
                body["otp"] = f"{totp(bytes.fromhex(DEMO_TOTP_KEY_HEX)):06d}"
            token = ok(api.post("/api/v1/auth/token", body))
            api.credentials(HTTP_AUTHORIZATION="Token " + token["token"])
            self.clients[username] = api
        return self.clients[username]


@pytest.fixture
def walk(production_dirs: None) -> Walk:
    seed_demo(people=4000, seed=2026)
    demo_keys()  # what `tongban demo seed` makes beside the data
    return Walk()


def test_readme_names_what_the_walkthrough_uses() -> None:
    for text in (IN_PERSON, PROXY, "`reviewer_donghu`", "`reviewer_nanchang`", "`distributor_donghu`"):
        assert text in README


def test_walkthrough_through_the_api(walk: Walk, standard_photo: bytes, tmp_path: Path) -> None:
    assert {p.id_number: p.name for p in Person.objects.filter(id_number__in=[IN_PERSON, PROXY])} == {
        IN_PERSON: "王泽",
        PROXY: "赵颖",
    }
    photo = base64.b64encode(standard_photo).decode()
    common = {"phone": "13807910001", "photo": photo, "fingers": FINGERS}
    # 3. Accept as clerk
    clerk = walk("clerk")
    first = ok(
        clerk.post(
            "/api/v1/applications",
            {
                **common,
                "id_number": IN_PERSON,
                "type": "first",
                "reason": "12",
                "materials_shown": ["household_book", "residence_proof"],
                "pledge_signed": True,
            },
            format="json",
        ),
        201,
    )
    renewal = ok(
        clerk.post(
            "/api/v1/applications",
            {
                **common,
                "id_number": PROXY,
                "type": "renewal",
                "reason": "21",
                "materials_shown": ["household_book", "residence_proof"],
            },
            format="json",
        ),
        201,
    )
    numbers = [first["number"], renewal["number"]]
    assert [step["unit_name"] for step in first["review"]["chain"]] == [
        "东湖区城东派出所",
        "南昌市公安局东湖分局",
        "南昌市公安局",
    ]

    # 4. Review: each step by its README account, from its own queue
    for number in numbers:
        for step, username in ((1, "reviewer"), (2, "reviewer_donghu"), (3, "reviewer_nanchang")):
            reviewer = walk(username)
            queue = ok(reviewer.get("/api/v1/review/queue"))
            assert number in [item["number"] for item in queue["results"]], (username, number)
            ok(reviewer.post(f"/api/v1/applications/{number}/review/take"))
            decided = ok(
                reviewer.post(
                    f"/api/v1/applications/{number}/review/decide",
                    {"step": step, "decision": "issue", "reason": "信息核对无误"},
                    format="json",
                )
            )
        assert decided["status"] == "issued"

    # 5. Produce as centre_operator: batch, package (opened with the demo key), feedback
    centre = walk("centre_operator")
    queue = ok(centre.get("/api/v1/production/queue"))
    assert {"code": "360102001", "count": 2} in [
        {"code": u["code"], "count": u["count"]} for u in queue["units"]
    ]
    batch = ok(
        centre.post("/api/v1/production/batches", {"acceptance_unit": "360102001"}, format="json"), 201
    )
    assert sorted(item["number"] for item in batch["items"]) == sorted(numbers)
    ok(centre.post(f"/api/v1/production/batches/{batch['id']}/package"))
    package = centre.get(f"/api/v1/production/batches/{batch['id']}/package")
    assert package.status_code == 200
    path = tmp_path / "batch.tbpkg"
    path.write_bytes(b"".join(package.streaming_content) if package.streaming else package.content)
    out = io.StringIO()
    key = Path(settings.CARD_PRODUCTION["KEYS_DIR"]) / "demo-centre-360000901.json"
    call_command(
        "package", "open", str(path), "--key", str(key), "--out", str(tmp_path / "unpacked"), stdout=out
    )
    assert json.loads(out.getvalue())["verified"] is True
    lines = [
        {"batch": batch["number"], "number": number, "result": "produced", "card_serial": f"JX2026{i:06d}"}
        for i, number in enumerate(numbers)
    ]
    report = ok(centre.post("/api/v1/production/feedback", {"lines": lines}, format="json"))
    assert report["counts"] == {"applied": 2, "already_applied": 0, "rejected": 0}

    # 6. Distribute: to 东湖分局 for 质检, forwarded to the station, signed for there
    shipments = ok(centre.post("/api/v1/shipments", {"applications": numbers}, format="json"), 201)
    (shipment,) = shipments["results"] if isinstance(shipments, dict) else shipments
    assert (shipment["method"], shipment["destination"]["code"]) == ("county", "360102")
    county = walk("distributor_donghu")
    ok(county.post(f"/api/v1/shipments/{shipment['id']}/receive", {}, format="json"))
    forwarded = ok(county.post("/api/v1/shipments/forward", {}, format="json"), 201)
    (onward,) = forwarded["results"] if isinstance(forwarded, dict) else forwarded
    assert onward["destination"]["code"] == "360102001"
    station = walk("distributor")
    incoming = ok(station.get("/api/v1/shipments?view=incoming"))
    assert onward["id"] in [row["id"] for row in incoming["results"]]
    ok(station.post(f"/api/v1/shipments/{onward['id']}/receive", {}, format="json"))
    ready = ok(station.get("/api/v1/handover/ready"))
    assert set(numbers) <= {row["number"] for row in ready["results"]}

    # 7. Hand over: in person (已领取); to a relative, then the applicant's 核验 (已核验)
    handed = ok(
        station.post(
            f"/api/v1/applications/{numbers[0]}/handover",
            {"way": "in_person", "paper_signed": True},
            format="json",
        ),
        201,
    )
    assert handed["application"]["status"] == "handed_over"
    assert handed["finger_check"] == "not_possible"
    proxy = ok(
        station.post(
            f"/api/v1/applications/{numbers[1]}/handover",
            {
                "way": "proxy",
                "paper_signed": True,
                "relative_name": RELATIVE[0],
                "relative_id_number": RELATIVE[1],
            },
            format="json",
        ),
        201,
    )
    assert proxy["application"]["status"] == "pending_verification"
    due = ok(station.get("/api/v1/verifications?view=due"))
    assert numbers[1] in [row["number"] for row in due["results"]]
    verified = ok(
        station.post(f"/api/v1/applications/{numbers[1]}/verification", {"card_checked": True}, format="json")
    )
    assert verified["status"] == "verified"
    assert ok(clerk.get(f"/api/v1/applications/{numbers[0]}"))["status"] == "handed_over"
    assert set(walk.clients) <= set(readme_accounts())
    # README's "one-time code" column is what the accounts the demo seeds require.
    seeded = User.objects.filter(username__in=readme_accounts()).select_related("unit")
    assert {user.username: user.requires_second_factor for user in seeded} == readme_accounts()
