"""跨省通办 and 电子证照: our resident's card, made and handed over in another province, is
certified here when the acceptance province reports it in the holder's hands for good; a card we
hand over for another province's resident (`exchange = "out"`) is that province's to certify."""

from __future__ import annotations

import pytest

from tongban.accounts.models import User
from tongban.ecert import services
from tongban.ecert.models import ElectronicCertificate
from tongban.handover.remote import RemoteStage, remote_progress_apply
from tongban.intake.models import Application, ApplicationEvent
from tongban.intake.tests.test_remote import guangdong, received  # noqa: F401 - fixtures
from tongban.review import services as review

pytestmark = pytest.mark.django_db


def test_a_card_handed_over_in_another_province_is_certified_at_the_verification(
    received: Application,  # noqa: F811 - the fixture
    household_reviewer: User,
) -> None:
    application = review.review_approve(actor=household_reviewer, application=received, step=1)
    application = remote_progress_apply(
        application=application, stage=RemoteStage.PRODUCED, card_serial="GD0001"
    )
    application = remote_progress_apply(application=application, stage=RemoteStage.HANDED_OVER_PROXY)
    assert application.status == Application.Status.PENDING_VERIFICATION
    assert not ElectronicCertificate.objects.exists()
    application = remote_progress_apply(application=application, stage=RemoteStage.VERIFIED)
    certificate = ElectronicCertificate.objects.get()
    assert certificate.card_serial == "GD0001" and certificate.issuing_authority == "南昌市公安局东湖分局"
    assert certificate.person_id == application.person_id
    # The same report again changes nothing.
    remote_progress_apply(application=application, stage=RemoteStage.VERIFIED)
    assert ElectronicCertificate.objects.count() == 1


def test_a_card_handed_over_in_person_in_another_province(
    received: Application,  # noqa: F811 - the fixture
    household_reviewer: User,
) -> None:
    application = review.review_approve(actor=household_reviewer, application=received, step=1)
    remote_progress_apply(application=application, stage=RemoteStage.PRODUCED, card_serial="GD0002")
    remote_progress_apply(application=application, stage=RemoteStage.HANDED_OVER)
    assert ElectronicCertificate.objects.get().card_serial == "GD0002"


def test_a_card_of_another_provinces_resident_is_not_ours_to_certify(handed_over: Application) -> None:
    ElectronicCertificate.objects.all().delete()
    event = ApplicationEvent.objects.filter(application=handed_over).latest("pk")
    assert event.action == "handed_over"
    handed_over.exchange = Application.Exchange.OUT
    services.application_changed(handed_over, event)
    assert not ElectronicCertificate.objects.exists()
    handed_over.exchange = Application.Exchange.NONE
    services.application_changed(handed_over, event)
    assert ElectronicCertificate.objects.count() == 1
