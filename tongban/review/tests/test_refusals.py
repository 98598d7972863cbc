"""Coded refusal reasons (不予签发原因): the editable table, the rules of a refusal, the migration
of the free-text refusals written before, and every reader of a refusal."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from django.apps import apps
from django.test import Client

from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.finance.models import Refund
from tongban.intake.models import Application
from tongban.intake.rules import ApplicationType
from tongban.registry.codes import REFUSAL_REASONS
from tongban.registry.models import RefusalReason
from tongban.review import services
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def test_the_shipped_reasons_are_loaded_by_the_migration() -> None:
    loaded = list(RefusalReason.objects.values_list("code", "name", "remark_required", "active"))
    assert loaded == [(code, name, required, True) for code, name, required in REFUSAL_REASONS]
    assert RefusalReason.objects.get(code="99").text("申请人已死亡") == "其他：申请人已死亡"
    assert RefusalReason.objects.get(code="01").text() == "非首次申领"


@pytest.mark.parametrize(
    ("code", "remark", "error"),
    [
        ("", "写了说明", "refusal_reason_required"),
        ("  ", "", "refusal_reason_required"),
        ("77", "", "bad_refusal_reason"),
        ("<script>", "", "bad_refusal_reason"),
        ("99", "", "reason_required"),
        ("99", "短", "reason_required"),
        ("02", "长" * 401, "reason_too_long"),
    ],
)
def test_a_refusal_needs_an_active_reason_and_the_remark_it_asks_for(
    code: str, remark: str, error: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        services.refusal_check(code=code, remark=remark)
    assert refused.value.code == error and refused.value.status == 400
    assert set(refused.value.fields) <= {"refusal_reason", "reason"} and refused.value.fields


def test_an_inactive_reason_is_refused_and_an_active_one_needs_no_remark() -> None:
    assert services.refusal_check(code=" 01 ", remark="").code == "01"
    RefusalReason.objects.filter(code="01").update(active=False)
    with pytest.raises(ServiceError) as refused:
        services.refusal_check(code="01", remark="")
    assert refused.value.code == "refusal_reason_inactive" and "非首次申领" in refused.value.message


def test_refusal_writes_the_code_the_remark_and_the_line_every_reader_shows(
    personas: Personas,
    accept: Callable[..., Application],
    household_reviewer: User,
    client: Client,
) -> None:
    person = PersonFactory.create()
    CardFactory.create(person=person)
    application = accept(personas.ganzhou_clerk, person, ApplicationType.RENEWAL, "21")
    refused = services.review_refuse(
        actor=household_reviewer,
        application=application,
        step=1,
        refusal_reason="04",
        remark="  与常住人口相片差异明显  ",
    )
    text = "人像比对不一致：与常住人口相片差异明显"
    assert (refused.refusal_code_id, refused.refusal_remark, refused.refusal_reason) == (
        "04",
        "与常住人口相片差异明显",
        text,
    )
    # The refund (a 换领 paid 20 yuan) and the counter's page carry the same line.
    assert Refund.objects.get(payment__application_number=refused.number).reason == f"不予签发：{text}"
    detail = login(client, personas.ganzhou_clerk).get(f"/applications/{refused.pk}/").content.decode()
    assert text in detail


def test_the_admin_edits_the_reasons_audited(client: Client, personas: Personas) -> None:
    login(client, personas.admin)
    listing = client.get("/admin/registry/refusalreason/").content.decode()
    assert "不予签发原因代码" in listing and "冒名顶替嫌疑" in listing
    added = client.post(
        "/admin/registry/refusalreason/add/",
        {"code": "09", "name": "申请人已死亡", "remark_required": "", "active": "on"},
    )
    assert added.status_code == 302
    assert services.refusal_check(code="09", remark="").name == "申请人已死亡"
    assert AuditEvent.objects.filter(action="admin.create", object_type="registry.refusalreason").exists()
    client.logout()
    login(client, personas.nanchang_supervisor)
    assert client.get("/admin/registry/refusalreason/").status_code in {302, 403}


def test_a_used_reason_cannot_be_deleted(
    personas: Personas, accept: Callable[..., Application], household_reviewer: User
) -> None:
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    services.review_refuse(actor=household_reviewer, application=application, step=1, refusal_reason="05")
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        RefusalReason.objects.filter(code="05").delete()


def test_the_migration_codes_free_text_refusals_as_other(
    personas: Personas, accept: Callable[..., Application]
) -> None:
    """Refusals written before the reasons were coded: 99 其他 with their text as the remark,
    the text itself unchanged; coded ones and other states untouched."""
    old, empty, coded, open_one = (accept(personas.ganzhou_clerk, PersonFactory.create()) for _ in range(4))
    Application.objects.filter(pk=old.pk).update(status="rejected", refusal_reason="户籍信息与申请不符")
    Application.objects.filter(pk=empty.pk).update(status="rejected", refusal_reason="")
    Application.objects.filter(pk=coded.pk).update(
        status="rejected", refusal_reason="非首次申领：曾领证", refusal_code="01", refusal_remark="曾领证"
    )
    migration = importlib.import_module("tongban.intake.migrations.0009_application_refusal_code")
    migration.code_free_text_refusals(apps, None)
    rows = {
        a.pk: (a.refusal_code_id, a.refusal_remark, a.refusal_reason)
        for a in Application.objects.filter(pk__in=[old.pk, empty.pk, coded.pk, open_one.pk])
    }
    assert rows == {
        old.pk: ("99", "户籍信息与申请不符", "户籍信息与申请不符"),
        empty.pk: ("99", "", "其他"),
        coded.pk: ("01", "曾领证", "非首次申领：曾领证"),
        open_one.pk: (None, "", ""),
    }
    migration.code_free_text_refusals(apps, None)  # again: nothing changes
    assert Application.objects.get(pk=old.pk).refusal_reason == "户籍信息与申请不符"
