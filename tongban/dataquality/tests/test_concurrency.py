"""Two approvers deciding one correction at the same moment: exactly one decision takes effect."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.conf import settings
from django.db import connection

from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.dataquality import services
from tongban.dataquality.models import ChangeRequest
from tongban.registry.models import ChangeItem, NumberRedirect, Person, PersonChange, Unit
from tongban.testing.factories import PersonFactory, UserFactory

# The audit tables are append-only (triggers): a transactional test leaves them alone.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
BIRTH = datetime.date(1988, 3, 9)


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_concurrent_approvals_give_one_decision(reference_data: None) -> None:
    station = Unit.objects.get(code="360102002")
    right = idnumber.build("360102", BIRTH, 215)
    wrong = right[:17] + ("0" if right[17] != "0" else "1")
    person = PersonFactory.create(id_number=wrong, birth_date=BIRTH, registration_unit=station)
    requester = UserFactory.create(role="reviewer", unit=station)
    change = services.change_request_create(
        actor=requester,
        person_id=person.pk,
        item=ChangeItem.WRONG_NUMBER,
        new_value=right,
        reason="校验码错误",
        evidence="常住人口登记表",
    )
    approvers = [
        UserFactory.create(role="supervisor", unit=Unit.objects.get(code=code)) for code in ("360102", "3601")
    ]
    start = threading.Barrier(len(approvers))
    outcomes: list[object] = []

    def approve(actor: object) -> None:
        try:
            start.wait()
            services.change_request_decide(actor=actor, request_id=change.pk, approve=True, note="同意")  # type: ignore[arg-type]
            outcomes.append("approved")
        except ServiceError as error:
            outcomes.append(error.code)
        except BaseException as exc:  # anything else fails the test below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(actor,)) for actor in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["already_decided", "approved"]
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.APPROVED
    assert Person.objects.get(pk=person.pk).id_number == right
    assert PersonChange.objects.filter(person=person).count() == 1
    assert NumberRedirect.objects.filter(old_number=wrong).count() == 1
