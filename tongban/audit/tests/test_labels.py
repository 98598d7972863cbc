"""The audit actions and application events are typed vocabularies (audit/actions.py), each member
with its Chinese name; the pages name stored codes through audit/labels.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tongban.audit import labels
from tongban.audit.actions import APPLICATION_EVENT_PREFIX, AuditAction, EventAction
from tongban.audit.models import AuditEvent
from tongban.audit.services import Entry, record, record_many

ROOT = Path(labels.__file__).resolve().parents[1]
CHINESE = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef（）、“”·0-9]+$")


@pytest.mark.parametrize("action", [*AuditAction, *EventAction], ids=str)
def test_every_member_has_a_chinese_label(action: AuditAction | EventAction) -> None:
    assert action.label and CHINESE.match(str(action.label)), (action.value, action.label)


def test_member_names_spell_their_codes() -> None:
    # The values are the codes stored in the rows; the names follow them, so a typo shows.
    for audit in AuditAction:
        assert audit.name == audit.value.upper().replace(".", "_"), audit
    for event in EventAction:
        assert event.name == event.value.upper(), event
    assert AuditAction.PERSON_VIEW == "person.view" and EventAction.HANDED_OVER_PROXY == "handed_over_proxy"


def test_application_events_are_audit_actions_of_the_same_name() -> None:
    for event in EventAction:
        audit = event.audit_action
        assert audit.value == APPLICATION_EVENT_PREFIX + event.value
        assert audit.label == event.label
        assert labels.action_label(audit.value) == labels.event_label(event.value) == event.label
    # The other application.* actions are no 办理记录 events.
    others = {a for a in AuditAction if a.value.startswith(APPLICATION_EVENT_PREFIX)}
    others -= {e.audit_action for e in EventAction}
    assert others == {
        AuditAction.APPLICATION_VIEW,
        AuditAction.APPLICATION_PRINT,
        AuditAction.APPLICATION_CHIP_PHOTO_DERIVED,
        AuditAction.APPLICATION_CARD_IMAGES_MADE,
    }


def test_the_filter_groups_cover_every_member() -> None:
    choices = labels.action_choices()
    listed = [code for _, actions in choices for code, _ in actions]
    assert sorted(listed) == sorted(AuditAction.values)  # each member once
    assert labels.OTHER_GROUP not in dict(choices)
    for group, actions in choices:
        assert group in labels.ACTION_GROUPS.values()
        for code, label in actions:
            assert label == AuditAction(code).label
            assert any(code.startswith(prefix) for prefix in labels.action_group_prefixes(group))


def test_stored_codes_are_named_and_unknown_ones_never_show_themselves() -> None:
    assert labels.action_label("auth.login") == "登录"
    assert labels.action_label("application.issued") == labels.event_label("issued") == "签发"
    assert labels.is_action("demo.seed") and not labels.is_action("demo")
    assert labels.event_label("no_such_event") == labels.UNKNOWN_ACTION_LABEL
    assert labels.action_label("no.such_action") == labels.UNKNOWN_ACTION_LABEL
    assert labels.action_label("application.no_such_event") == labels.UNKNOWN_ACTION_LABEL
    assert AuditEvent(action="old.retired_code").action_label == labels.UNKNOWN_ACTION_LABEL
    assert CHINESE.match(labels.UNKNOWN_ACTION_LABEL)


@pytest.mark.django_db
def test_record_refuses_a_code_outside_the_vocabulary() -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError):
        record(actor=None, action="no.such_action")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        record_many(
            actor=None,
            entries=[Entry(AuditAction.DEMO_SEED), Entry("no.such_action")],  # type: ignore[arg-type]
        )
    assert AuditEvent.objects.count() == before


def _object_types() -> set[str]:
    found = set()
    for path in sorted(ROOT.rglob("*.py")):
        if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
            continue
        # Every `object_type=` of a call: record() itself, and what hands one on to it (an export).
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "object_type" and isinstance(keyword.value, ast.Constant):
                        found.add(str(keyword.value.value))
    return found


@pytest.mark.django_db
def test_every_object_type_the_code_writes_is_named() -> None:
    types = _object_types()
    assert {"intake.application", "user", "finance.settlement"} <= types
    unnamed = sorted(t for t in types if labels.object_type_label(t) == "记录")
    assert not unnamed, f"add them to OBJECT_TYPE_LABELS in tongban/audit/labels.py: {unnamed}"


def test_object_types_are_named() -> None:
    assert labels.object_type_label("intake.application") == "申领"
    assert labels.object_type_label("registry.person") == "人员"
    assert labels.object_type_label("person") == "人员"
    assert labels.object_type_label("no.such") == "记录"
    assert labels.object_type_label("") == ""
