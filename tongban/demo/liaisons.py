"""Demo liaisons (联络人) for the demo province's featured units, loaded by `demo seed`."""

from __future__ import annotations

from tongban.accounts.models import User
from tongban.liaison.models import Duty, Liaison
from tongban.liaison.services import LiaisonEntry, liaisons_replace
from tongban.registry.models import Unit

# (unit code, name, position, phone, duties, username of a demo account of that unit or "")
DEMO_LIAISONS: tuple[tuple[str, str, str, str, tuple[str, ...], str], ...] = (
    (
        "3601",
        "陈志强",
        "户政支队副支队长",
        "0791-86200101",
        (Duty.CROSS_REGION, Duty.REVIEW),
        "supervisor",
    ),
    ("3601", "胡晓梅", "证件管理科科长", "0791-86200102", (Duty.PRODUCTION, Duty.DISTRIBUTION), ""),
    (
        "360102",
        "罗建华",
        "户政大队大队长",
        "0791-86210201",
        (Duty.CROSS_REGION, Duty.REVIEW),
        "reviewer_donghu",
    ),
    ("360102", "杨丽", "财务室主任", "0791-86210202", (Duty.FINANCE,), ""),
    ("360102001", "王晓燕", "户籍内勤", "0791-86213301", (Duty.CROSS_REGION, Duty.HANDOVER), "clerk"),
    ("360102002", "李建国", "户籍民警", "0791-86213302", (Duty.CROSS_REGION, Duty.REVIEW), "reviewer"),
    ("3607", "钟伟明", "户政管理支队支队长", "0797-82100101", (Duty.CROSS_REGION, Duty.PRODUCTION), ""),
    ("360702", "刘秀兰", "户政大队副大队长", "0797-82110201", (Duty.CROSS_REGION, Duty.DISTRIBUTION), ""),
    ("360702001", "徐丽华", "户籍内勤", "0797-82113301", (Duty.CROSS_REGION, Duty.HANDOVER), "clerk_ganzhou"),
)


def liaisons_seed_demo() -> int:
    """Give each featured unit that has none yet its demo liaisons; returns how many were made.
    Units already kept by their staff are left alone, so running the seed again changes nothing."""
    codes = sorted({row[0] for row in DEMO_LIAISONS})
    units = {unit.code: unit for unit in Unit.objects.filter(code__in=codes)}
    kept = set(Liaison.objects.filter(unit__code__in=codes).values_list("unit__code", flat=True))
    created = 0
    for code in codes:
        if code in kept or code not in units:
            continue
        accounts = dict(User.objects.filter(unit=units[code]).values_list("username", "pk"))
        entries = [
            LiaisonEntry(
                name=name, position=position, phone=phone, duties=duties, user_id=accounts.get(username)
            )
            for unit_code, name, position, phone, duties, username in DEMO_LIAISONS
            if unit_code == code
        ]
        created += len(liaisons_replace(actor=None, unit=units[code], entries=entries))
    return created
