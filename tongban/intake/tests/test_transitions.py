"""The application's state machine: named moves only, each logged as its event."""

from __future__ import annotations

import pytest
from django.db import transaction

from tongban.audit.actions import EventAction
from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.intake.transitions import (
    Transition,
    application_event,
    application_transition,
    lock,
    next_statuses,
)
from tongban.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db

Status = Application.Status


def test_each_event_names_one_move():
    assert len({move.event for move in Transition}) == len(Transition)


def test_final_statuses_lead_nowhere():
    for final in (Status.REJECTED, Status.WITHDRAWN, Status.HANDED_OVER, Status.VERIFIED):
        assert not next_statuses(final)
    shipped = next_statuses(Status.SHIPPED)
    assert shipped == {Status.SHIPPED, Status.AT_SITE, Status.PENDING_VERIFICATION, Status.ISSUED}


def test_a_move_from_the_wrong_status_is_refused_and_changes_nothing(personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    events = application.events.count()
    with pytest.raises(ServiceError) as refused, transaction.atomic():
        application_transition(lock(application), Transition.PRODUCE, actor=personas.ganzhou_clerk)
    assert (refused.value.code, refused.value.status) == ("bad_transition", 409)
    assert refused.value.message == "该申领当前为“待审核”，不能转为“已制证”。"
    application.refresh_from_db()
    assert (application.status, application.events.count()) == (Status.PENDING_REVIEW, events)


def test_a_move_writes_its_event_and_audit_row(personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    with transaction.atomic():
        event = application_transition(
            lock(application), Transition.WITHDRAW, actor=personas.ganzhou_clerk, note="本人撤回"
        )
    assert (event.action, event.from_status, event.to_status) == (
        EventAction.WITHDRAWN,
        Status.PENDING_REVIEW,
        Status.WITHDRAWN,
    )
    assert AuditEvent.objects.filter(action="application.withdrawn", object_id=str(application.pk)).exists()


def test_every_history_entry_moves_last_event_at(personas, accept):
    """Supervision finds stuck items by the time of the latest 办理记录 entry."""
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    latest = application.events.latest("pk")
    application.refresh_from_db()
    assert application.last_event_at == latest.at
    with transaction.atomic():
        application_event(
            application, actor=personas.ganzhou_clerk, action=EventAction.SUPERVISED, note="电话联系"
        )
    application.refresh_from_db()
    assert application.last_event_at == application.events.latest("pk").at > latest.at


def test_an_event_outside_the_vocabulary_is_refused(personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    events, audit = application.events.count(), AuditEvent.objects.count()
    with pytest.raises(ValueError), transaction.atomic():
        application_event(application, actor=personas.ganzhou_clerk, action="note")  # type: ignore[arg-type]
    assert (application.events.count(), AuditEvent.objects.count()) == (events, audit)
