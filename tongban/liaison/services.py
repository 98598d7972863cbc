"""Writes of the liaison directory (联络人): a unit replaces its list of liaisons in one audited
call; the web form, the API and the demo seed all come through here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_phone
from tongban.liaison.models import LIAISON_KINDS, MAX_LIAISONS_PER_UNIT, Duty, Liaison
from tongban.registry.access import Viewer
from tongban.registry.models import Unit

# Landline with area code and extension, or a mobile number: digits, spaces, "-", "+", "转".
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9](转[0-9]{1,6})?$")


@dataclass(frozen=True)
class LiaisonEntry:
    name: str
    position: str
    phone: str
    duties: Sequence[str] = field(default_factory=tuple)
    user_id: int | None = None


def _check(unit: Unit, entries: Sequence[LiaisonEntry]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(entries) > MAX_LIAISONS_PER_UNIT:
        errors["liaisons"] = f"每个单位最多登记 {MAX_LIAISONS_PER_UNIT} 名联络人。"
    staff = set(User.objects.filter(unit=unit, is_active=True).values_list("pk", flat=True))
    valid_duties = set(Duty.values)
    for i, entry in enumerate(entries):
        prefix = f"liaisons.{i}."
        if not entry.name.strip():
            errors[prefix + "name"] = "请填写姓名。"
        if not entry.position.strip():
            errors[prefix + "position"] = "请填写职务。"
        if not _PHONE.match(entry.phone.strip()):
            errors[prefix + "phone"] = "联系电话格式不正确（如 0791-86201234 或 13907910000）。"
        if not entry.duties:
            errors[prefix + "duties"] = "请至少选择一项联络事项。"
        elif not set(entry.duties) <= valid_duties:
            errors[prefix + "duties"] = "联络事项不在可选范围内。"
        if entry.user_id is not None and entry.user_id not in staff:
            errors[prefix + "user_id"] = "关联账号须为本单位在职工作人员。"
    return errors


def _summary(liaison: Liaison) -> dict[str, object]:
    # Names and posts are the directory's public face; the phone is masked in the trail.
    return {
        "name": liaison.name,
        "position": liaison.position,
        "phone": mask_phone(liaison.phone),
        "duties": list(liaison.duties),
    }


def can_manage(actor: Viewer, unit: Unit) -> bool:
    """Only the unit's own staff holding `liaison.manage` keep its liaisons."""
    return actor.can("liaison.manage") and actor.unit is not None and actor.unit.pk == unit.pk


@transaction.atomic
def liaisons_replace(*, actor: Viewer | None, unit: Unit, entries: Sequence[LiaisonEntry]) -> list[Liaison]:
    """联络人维护: `unit`'s liaisons become `entries`, in that order. `actor=None` is the command
    line (the demo seed); staff may keep only their own unit's list."""
    if actor is not None and not can_manage(actor, unit):
        raise ServiceError("permission_denied", "只能由本单位维护本单位的联络人。", status=403)
    if unit.kind not in LIAISON_KINDS:
        raise ServiceError("not_applicable", "联络人按市、县（市、区）公安机关和派出所登记。")
    errors = _check(unit, entries)
    if errors:
        raise ServiceError("invalid", "联络人信息有误，请检查标出的字段。", fields=errors)
    # Lock the unit row: two people saving the same unit's list queue here.
    Unit.objects.select_for_update().filter(pk=unit.pk).first()
    before = [_summary(liaison) for liaison in Liaison.objects.filter(unit=unit).order_by("order", "pk")]
    Liaison.objects.filter(unit=unit).delete()
    now = timezone.now()
    created = Liaison.objects.bulk_create(
        [
            Liaison(
                unit=unit,
                name=entry.name.strip(),
                position=entry.position.strip(),
                phone=entry.phone.strip(),
                duties=[duty for duty in Duty.values if duty in entry.duties],
                user_id=entry.user_id,
                order=i,
                updated_at=now,
                updated_by_id=actor.pk if actor is not None else None,
            )
            for i, entry in enumerate(entries)
        ]
    )
    record(
        actor=actor,
        action=AuditAction.LIAISON_UPDATED,
        object_type="registry.unit",
        object_id=unit.code,
        detail={"before": before, "after": [_summary(liaison) for liaison in created]},
    )
    return list(Liaison.objects.filter(unit=unit).select_related("user").order_by("order", "pk"))
