"""Every route of the URLconf × every persona (issue 15 §1; NetBox's utilities/testing/views.py is the
model): the routes are found by walking `django.urls.get_resolver()`, never listed by hand, and each
must have its expected answer in ROUTES — a new route, or a new method of an API route, without one
fails `test_every_route_has_an_expected_answer`.

ROUTES says, per route, the actions that let a role in (any of them; the personas' rights are their
roles' actions, tongban/testing/personas.py), the kind of record its path names, and what the permitted
owner of that record gets for each method. Everything else follows from docs/api.md, one test per
persona group, each building its records once:

- anonymous: the API answers `401 not_authenticated`, a page redirects to the login page;
- a persona whose role holds none of the actions: the API answers `403 permission_denied` whatever the
  record; a page the Chinese 404 page, as if it did not exist (docs/finance.md, docs/supervision.md),
  or the Chinese 403 page where the route says `refusal=403` (account management, liaisons);
- the owner (the first persona holding an action whose subtree holds the records, or the route's `by`):
  the answer of ROUTES;
- the owner's twin one city over (赣州 for 南昌): for a 南昌 record, exactly the answer for a record that
  does not exist (`404 not_found`, the 404 page, or the same refusal of an empty body), never a 2xx.

Any error in English fails whatever is expected. The records are all of 东湖区城关派出所 (360102001)
or its city; kinds no fixture builds yet (station reports, data-quality cases and
address matches) are named by an id that does not exist, so their owner gets 404 too.
Django's admin follows one rule of its own (`test_the_admin_is_for_administrators_only`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.admin.sites import site as admin_site
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tongban.accounts.models import User
from tongban.campaigns import services as campaigns
from tongban.cardcheck.services import InstitutionEntry, institution_add
from tongban.cardloss.services import FoundEntry, found_register, loss_report
from tongban.dataquality import services as dataquality
from tongban.ecert import services as ecert
from tongban.finance.models import Payment
from tongban.handover.services import shipments_create
from tongban.intake import rules
from tongban.intake import services as intake
from tongban.intake.models import Application
from tongban.jobs.kinds import KINDS
from tongban.jobs.models import JobRun
from tongban.notifications.texts import TEMPLATES
from tongban.production.feedback import FeedbackLine
from tongban.production.services import batch_create, batch_package, feedback_apply
from tongban.registry.models import Unit
from tongban.review.services import review_issue
from tongban.temporary import services as temporary
from tongban.testing.appointments import book
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station
from tongban.testing.personas import PERSONA_UNITS, Personas, api_client, login, may, reaches, twin
from tongban.testing.staffing import staff_city_campaign

# An answer: a status, or a status and the API's error code.
Answer = int | tuple[int, str]
PUBLIC = "public"  # anyone, signed in or not
STAFF = "staff"  # any signed-in member of staff, whatever the role
CENTRE = "centre_operator"  # the owner of the provincial centre's batches, outside every city
SHIPMENTS = ("shipment.view", "shipment.create")  # a station's, a county's or a centre's shipments
TEMPORARY = "temporary.view"  # 临时居民身份证 of the own subtree
RECORD_UNIT = "360102001"  # 东湖区城关派出所: every record below is of it or of its city 南昌
CHINESE = re.compile(r"[\u4e00-\u9fff]")
JOBS = ("job.oversee", *sorted({kind.permission for kind in KINDS.values()}))  # jobs/kinds.py may_use_jobs


@dataclass(frozen=True)
class Route:
    actions: tuple[str, ...]  # any one lets a role in; (PUBLIC,) or (STAFF,) for everyone
    record: str | None  # the kind of record the path names (a key of `records`), None for a list or form
    answers: dict[str, Answer]  # method → what the owner gets
    by: str | None = None  # the owner, where no persona's subtree holds the records (review, the centre)
    method_actions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a method needing others
    refusal: int = 404  # a page's answer to a role without the actions (docs/finance.md, supervision.md)


def route(
    actions: str | tuple[str, ...],
    record: str | None = None,
    *,
    by: str | None = None,
    write: str | tuple[str, ...] | None = None,
    refusal: int = 404,
    **answers: Answer,
) -> Route:
    """`write`: what the route's writing methods (all but GET) need instead of `actions`; `refusal`:
    a page's status for a role without them."""

    def tuple_of(value: str | tuple[str, ...]) -> tuple[str, ...]:
        return value if isinstance(value, tuple) else (value,)

    writes = {method: tuple_of(write) for method in answers if method != "GET"} if write else {}
    return Route(tuple_of(actions), record, answers, by, writes, refusal)


INVALID = (400, "invalid")
NOT_FOUND = (404, "not_found")
PAGE_404 = (404, "page")  # the Chinese 404 page
LOGIN = (302, "login")  # a redirect to the login page

# The owner asks in the URLconf's order, pages before the API, and each answer follows from the ones
# before it: a shipment received on its page is `already_received` in the API, a campaign closed is
# `closed` to the operations after.
# fmt: off
ROUTES: dict[str, Route] = {
    # The API (docs/api.md).
    "api:token": route(PUBLIC, POST=INVALID),
    "api:people": route("person.browse", GET=200),
    "api:person_lookup": route(("person.lookup", "person.view"), POST=INVALID),
    "api:person_guests": route("application.accept", POST=INVALID),
    "api:person_detail": route("person.view", "person", GET=200),
    "api:units": route("unit.view", GET=200),
    "api:unit_detail": route("unit.view", "unit", write="unit.manage", GET=200, PATCH=INVALID),
    "api:idnumber_check": route(STAFF, POST=INVALID),
    "api:applications": route("application.view", write="application.accept", GET=200, POST=INVALID),
    "api:application_abandon": route("application.accept", "draft", POST=200),
    "api:application_detail": route("application.view", "application", GET=200),
    "api:application_withdraw": route("application.withdraw", "application", POST=(400, "reason_required")),
    "api:application_refusal_notified": route("application.accept", "application", POST=(409, "not_refused")),
    "api:application_photo": route("application.accept", "application", POST=INVALID),
    "api:application_document": route("application.view", "application", GET=200),
    "api:review_take": route("review.decide", "application", by="household_reviewer", POST=200),
    "api:review_release": route("review.decide", "application", by="household_reviewer", POST=200),
    "api:review_decide": route("review.decide", "application", by="household_reviewer", POST=INVALID),
    "api:review_queue": route("review.decide", GET=200),
    "api:production_queue": route("production.view", GET=200),
    "api:production_batches": route(
        "production.view", write="production.batch", GET=200, POST=(409, "queue_empty")
    ),
    "api:production_batch": route("production.view", "batch", by=CENTRE, GET=200),
    "api:production_package": route(
        "production.view", "batch", by=CENTRE, write="production.batch", GET=200, POST=(409, "has_feedback")
    ),
    "api:production_feedback": route("production.feedback", POST=INVALID),
    "api:shipments": route(SHIPMENTS, write="shipment.create", GET=200, POST=INVALID),
    # A county bureau's distributors forward; no persona works at one, so the first holder, a station's
    # clerk, is refused for the unit.
    "api:shipments_forward": route("shipment.receive", POST=(403, "permission_denied")),
    "api:postal_delivered": route("shipment.create", POST=INVALID),
    "api:shipment_detail": route(SHIPMENTS, "shipment", GET=200),
    "api:shipment_receive": route("shipment.receive", "shipment", POST=(409, "already_received")),
    "api:handover_ready": route("handover.perform", GET=200),
    "api:handover": route("handover.perform", "application", POST=INVALID),
    "api:verification": route("verification.perform", "application", POST=INVALID),
    "api:verifications": route("verification.perform", GET=200),
    "api:supervision_dashboard": route("supervision.view", GET=200),
    "api:supervision_out_of_area": route("supervision.view", GET=200),
    "api:supervision_stuck": route("supervision.view", GET=200),
    "api:supervision_unstaffed": route("staffing.view", GET=200),
    "api:supervision_urge": route("supervision.act", "application", POST=INVALID),
    "api:users": route("user.manage", GET=200, POST=INVALID),
    "api:user_detail": route("user.manage", "user", GET=200, PATCH=200),
    "api:user_deactivate": route("user.manage", "user", POST=200),
    "api:user_reactivate": route("user.manage", "user", POST=200),
    "api:user_reset_second_factor": route("user.manage", "user", POST=(409, "no_second_factor")),
    "api:user_reset_password": route("user.manage", "user", POST=200),
    "api:cardloss_reports": route("cardloss.view", write="cardloss.report", GET=200, POST=INVALID),
    "api:cardloss_report": route("cardloss.view", "lossreport", GET=200),
    "api:cardloss_report_restore": route("cardloss.report", "lossreport", POST=INVALID),
    "api:cardloss_found_list": route("cardloss.view", write="cardloss.report", GET=200, POST=INVALID),
    "api:cardloss_found": route("cardloss.view", "found", GET=200),
    "api:cardloss_found_collect": route("cardloss.report", "found", POST=INVALID),
    "api:cardloss_found_destroy": route("cardloss.report", "found", POST=INVALID),
    "api:liaisons": route(STAFF, GET=200),
    "api:unit_liaisons": route("liaison.manage", "county", PUT=INVALID),
    "api:finance_payments": route("finance.view", GET=200),
    "api:finance_payments_export": route("finance.view", POST=202),
    "api:finance_unremitted": route("finance.view", GET=200),
    "api:finance_remittances": route("finance.view", write="finance.remit", GET=200, POST=INVALID),
    "api:finance_remittances_export": route("finance.view", POST=202),
    "api:finance_settlement": route("finance.view", GET=INVALID),
    "api:finance_settlement_export": route("finance.view", POST=INVALID),
    "api:finance_settlement_lines": route("finance.view", GET=INVALID),
    "api:finance_settlement_lines_export": route("finance.view", POST=INVALID),
    "api:finance_receipt": route(("finance.view", "application.accept"), "receipt", GET=200),
    "api:campaigns": route("campaign.view", write="campaign.manage", GET=200, POST=INVALID),
    "api:campaign_detail": route("campaign.view", "campaign", write="campaign.manage", GET=200, PUT=INVALID),
    "api:campaign_start": route("campaign.manage", "campaign", POST=200),
    "api:campaign_close": route("campaign.manage", "campaign", POST=200),
    "api:campaign_targets": route("campaign.manage", "campaign", POST=(409, "closed")),
    "api:campaign_progress": route("campaign.view", "campaign", GET=200),
    "api:campaign_duties": route("campaign.view", "campaign", GET=200),
    "api:campaign_duty": route("campaign.view", "duty", by="campaign_manager", GET=200),
    "api:campaign_duty_notes": route("campaign.duty", "duty", by="campaign_manager", POST=INVALID),
    "api:campaign_configuration": route("campaign.manage", "campaign", PUT=INVALID),
    "api:campaign_configuration_apply": route("campaign.manage", "campaign", POST=(409, "closed")),
    "api:campaign_reports": route(
        "campaign.view", "campaign", write=("campaign.report", "campaign.manage"), GET=INVALID, POST=INVALID
    ),
    "api:campaign_summary": route("campaign.view", "campaign", POST=INVALID),
    "api:campaign_report_sign": route("campaign.report", "report", POST=NOT_FOUND),
    "api:dataquality_cases": route("dataquality.view", GET=200),
    "api:dataquality_case": route("dataquality.view", "case", GET=NOT_FOUND),
    "api:dataquality_case_decide": route("dataquality.decide", "case", POST=INVALID),
    "api:dataquality_changes": route("dataquality.view", write="dataquality.request", GET=200, POST=INVALID),
    "api:dataquality_change": route("dataquality.view", "change", GET=200),
    "api:dataquality_change_decide": route("dataquality.approve", "change", POST=INVALID),
    "api:dataquality_runs": route("dataquality.view", write="dataquality.decide", GET=200, POST=INVALID),
    "api:dataquality_addresses": route("dataquality.view", GET=200),
    "api:dataquality_address_decide": route("dataquality.request", "address", POST=INVALID),
    # 临时居民身份证: the record is pending (待签发) until the county bureau issues it below; then the
    # station prints, hands it out and takes it back.
    "api:temporary_cards": route(TEMPORARY, write="temporary.accept", GET=200, POST=INVALID),
    "api:temporary_queue": route("temporary.issue", GET=200),
    "api:temporary_unreturned": route(TEMPORARY, GET=200),
    "api:temporary_card": route(TEMPORARY, "temporary", GET=200),
    "api:temporary_issue": route("temporary.issue", "temporary", by="county_reviewer", POST=200),
    "api:temporary_refuse": route("temporary.issue", "temporary", by="county_reviewer", POST=INVALID),
    "api:temporary_print": route("temporary.accept", "temporary", POST=200),
    "api:temporary_hand_out": route("temporary.accept", "temporary", POST=200),
    "api:temporary_return": route("temporary.accept", "temporary", POST=200),
    "api:temporary_void": route("temporary.accept", "temporary", POST=INVALID),
    "api:jobs": route(JOBS, GET=200),
    "api:job": route(JOBS, "job", GET=200),
    "api:job_cancel": route(JOBS, "job", POST=200),
    "api:job_retry": route(JOBS, "job", POST=201),  # the job was cancelled by the line above
    "api:job_result": route(JOBS, "job", GET=(404, "no_result")),
    # 跨省通办: other provinces' systems POST unsigned in (a bad envelope); the provincial department's
    # supervisors read, its administrators keep the directory (no fixture builds a peer or a message).
    "api:public_progress": route(PUBLIC, POST=INVALID),
    "api:exchange_messages": route(PUBLIC, POST=(400, "bad_envelope")),
    "api:exchange_outbound": route("exchange.view", by="province_supervisor", GET=200),
    "api:exchange_outbound_retry": route("exchange.manage", "exchange", by="admin", POST=NOT_FOUND),
    "api:exchange_inbound": route("exchange.view", by="province_supervisor", GET=200),
    "api:exchange_peers": route("exchange.view", by="admin", write="exchange.manage", GET=200, POST=INVALID),
    "api:exchange_peer": route(
        "exchange.view", "exchange", by="admin", write="exchange.manage", GET=NOT_FOUND, PATCH=NOT_FOUND
    ),
    "api:exchange_peer_ping": route("exchange.manage", "exchange", by="admin", POST=NOT_FOUND),
    # 居民身份证核查: institutions POST with their own key (none here); the provincial department keeps them.
    "api:card_checks": route(PUBLIC, POST=(401, "institution_key_required")),
    "api:cardcheck_institutions": route(
        "cardcheck.view", by="admin", write="cardcheck.manage", GET=200, POST=INVALID
    ),
    "api:cardcheck_institution": route(
        "cardcheck.view", "institution", by="admin", write="cardcheck.manage", GET=200, PATCH=200
    ),
    "api:cardcheck_institution_key": route("cardcheck.manage", "institution", by="admin", POST=200),
    "api:cardcheck_institution_suspend": route("cardcheck.manage", "institution", by="admin", POST=INVALID),
    "api:cardcheck_institution_resume": route("cardcheck.manage", "institution", by="admin", POST=INVALID),
    "api:cardcheck_institution_counts": route("cardcheck.view", "institution", by="admin", GET=200),
    "api:ecert_verify": route(PUBLIC, POST=INVALID),
    "api:ecert_keys": route(PUBLIC, GET=200),
    "api:ecert_holder": route(PUBLIC, POST=INVALID),
    "api:ecert_certificate": route("person.view", "ecert", GET=200),
    "api:ecert_certificate_code": route("person.view", "ecert", POST=200),
    # 网上预约: the public doors answer anyone (no station 369999, an empty body); the stations' own are
    # the station's staff's and their supervisors' (the booking is for a later day: not opened today).
    "api:public_appointment_stations": route(PUBLIC, GET=200),
    "api:public_appointment_slots": route(PUBLIC, GET=NOT_FOUND),
    "api:public_appointments": route(PUBLIC, POST=INVALID),
    "api:public_appointment_lookup": route(PUBLIC, POST=INVALID),
    "api:public_appointment_cancel": route(PUBLIC, POST=INVALID),
    "api:public_appointment_rebook": route(PUBLIC, POST=INVALID),
    "api:appointments": route("appointment.view", GET=200),
    "api:appointment_schedule": route(
        "appointment.view", "unit", write="appointment.manage", GET=200, PUT=INVALID
    ),
    "api:appointment_overrides": route("appointment.manage", "unit", POST=INVALID),
    "api:appointment_detail": route("appointment.view", "booking", GET=200),
    "api:appointment_open": route("application.accept", "booking", POST=(409, "wrong_day")),
    "api:notifications": route(STAFF, GET=200),
    "api:notification_templates": route("notification.template", GET=200),
    "api:notification_template": route("notification.template", "template", GET=200, PUT=INVALID),
    "api:notification_template_reset": route("notification.template", "template", POST=200),
    "schema": route(PUBLIC, GET=200),
    "api_docs": route(PUBLIC, GET=200),
    # The pages. A role without the actions meets the Chinese 404 page, as if the page did not exist
    # (docs/finance.md, docs/supervision.md); account management and a unit's liaisons the 403 page.
    "home": route(STAFF, GET=200),
    "accounts:login": route(PUBLIC, GET=200, POST=200),
    "accounts:logout": route(STAFF, POST=LOGIN),
    "accounts:otp": route(STAFF, GET=302, POST=302),
    "accounts:otp_setup": route(STAFF, GET=200, POST=200),
    "accounts:password_set": route(STAFF, GET=302, POST=302),
    "accounts:users": route("user.manage", refusal=403, GET=200),
    "accounts:user_create": route("user.manage", refusal=403, GET=200, POST=400),
    "accounts:user_detail": route("user.manage", "user", refusal=403, GET=200, POST=400),
    "accounts:user_deactivate": route("user.manage", "user", refusal=403, GET=200, POST=400),
    "accounts:user_reactivate": route("user.manage", "user", refusal=403, POST=302),
    "accounts:user_reset_second_factor": route("user.manage", "user", refusal=403, GET=200, POST=400),
    "accounts:user_reset_password": route("user.manage", "user", refusal=403, GET=200, POST=200),
    "registry:person_list": route("person.browse", GET=200),
    "registry:person_lookup": route(("person.lookup", "person.view"), GET=200, POST=200),
    "registry:person_detail": route("person.view", "person", GET=200),
    "registry:unit_list": route("unit.view", GET=200),
    "registry:units_missing_contact": route("unit.manage", GET=200),
    "registry:unit_edit": route("unit.manage", "unit", GET=200, POST=200),
    "audit:log": route("audit.view", GET=200),
    "booking:stations": route(PUBLIC, GET=200),
    "booking:manage": route(PUBLIC, GET=200, POST=200),
    "booking:booking": route(PUBLIC, GET=302),  # a booking not proven in this browser: to 查询
    "booking:cancel": route(PUBLIC, POST=302),
    "booking:rebook": route(PUBLIC, GET=302, POST=302),
    "booking:slots": route(PUBLIC, GET=PAGE_404),
    "booking:book": route(PUBLIC, GET=PAGE_404, POST=PAGE_404),
    "portal:guide": route(PUBLIC, GET=200),
    "portal:progress": route(PUBLIC, GET=200, POST=200),
    "ecert_public:holder": route(PUBLIC, GET=200, POST=400),
    "ecert_public:show": route(PUBLIC, GET=302),  # to the holder's proof first
    "ecert_public:signout": route(PUBLIC, POST=302),
    "ecert_public:verify": route(PUBLIC, GET=200, POST=400),
    "appointments:day": route("appointment.view", GET=200),
    "appointments:open": route("application.accept", GET=200, POST=200),
    "appointments:schedule": route("appointment.view", write="appointment.manage", GET=200, POST=400),
    "appointments:detail": route("appointment.view", "booking", GET=200),
    "appointments:open_booking": route("application.accept", "booking", POST=302),
    "intake:counter": route("application.view", GET=200),
    "intake:start": route("application.accept", GET=200, POST=200),
    "intake:guest": route("application.accept", GET=200, POST=200),
    "intake:detail": route("application.view", "application", GET=200),
    "intake:save_details": route("application.view", "application", POST=302),
    "intake:upload_photo": route("application.view", "application", POST=302),
    "intake:upload_guardian_photo": route("application.view", "application", POST=302),
    "intake:record_finger": route("application.view", "application", POST=302),
    "intake:reset_fingers": route("application.view", "application", POST=200),
    "intake:accept": route("application.view", "application", POST=302),
    "intake:abandon": route("application.view", "application", POST=200),
    "intake:withdraw": route("application.view", "application", POST=400),
    "intake:refusal_notified": route("application.view", "application", POST=409),
    "intake:photo": route("application.view", "application", GET=200),
    "intake:document": route("application.view", "application", GET=200),
    "review:queue": route("review.decide", GET=200),
    "review:item": route("review.decide", "application", by="household_reviewer", GET=200),
    "review:take": route("review.decide", "application", by="household_reviewer", POST=302),
    "review:release": route("review.decide", "application", by="household_reviewer", POST=302),
    "review:decide": route("review.decide", "application", by="household_reviewer", POST=400),
    "production:queue": route("production.view", GET=200),
    "production:batches": route("production.view", GET=200),
    "production:batch_create": route("production.batch", POST=400),
    "production:batch": route("production.view", "batch", by=CENTRE, GET=200),
    "production:batch_package": route("production.batch", "batch", by=CENTRE, POST=409),
    "production:package_download": route("production.view", "batch", by=CENTRE, GET=200),
    "production:feedback_template": route("production.view", "batch", by=CENTRE, GET=200),
    "production:feedback": route("production.feedback", GET=200, POST=200),
    "production:feedback_blank_template": route("production.feedback", GET=200),
    "production:feedback_report": route("production.feedback", "feedback", by=CENTRE, GET=200),
    "production:recollect": route("application.view", "application", POST=302),
    "handover:shipments": route(SHIPMENTS, GET=200),
    "handover:ship": route("shipment.create", GET=200, POST=400),
    "handover:forward": route("shipment.receive", GET=200, POST=400),
    "handover:shipment": route(SHIPMENTS, "shipment", GET=200),
    "handover:receive": route("shipment.receive", "shipment", POST=302),
    "handover:delivered": route("shipment.create", "shipment", by=CENTRE, POST=400),
    "handover:ready": route("handover.perform", GET=200),
    "handover:handover": route("handover.perform", "application", GET=200, POST=400),
    "handover:verifications": route("verification.perform", GET=200),
    "handover:verify": route("verification.perform", "application", GET=200, POST=400),
    "temporary:register": route(TEMPORARY, GET=200),
    "temporary:new": route("temporary.accept", GET=200, POST=400),
    "temporary:queue": route("temporary.issue", GET=200),
    "temporary:unreturned": route(TEMPORARY, GET=200),
    "temporary:detail": route(TEMPORARY, "temporary", GET=200, POST=400),
    # Not issued yet when the pages are asked: the refusal is a message on the card's page.
    "temporary:print": route("temporary.accept", "temporary", POST=302),
    "campaigns:list": route("campaign.view", GET=200),
    "campaigns:create": route("campaign.manage", GET=200, POST=200),
    "campaigns:detail": route("campaign.view", "campaign", GET=200),
    "campaigns:edit": route("campaign.manage", "campaign", GET=200, POST=200),
    "campaigns:progress_xlsx": route("campaign.view", "campaign", GET=200),
    "campaigns:action": route("campaign.manage", "campaign", POST=302),
    "campaigns:duties": route("campaign.view", "campaign", GET=200),
    "campaigns:duty": route("campaign.view", "duty", by="campaign_manager", GET=200, POST=200),
    "campaigns:reports": route("campaign.view", "campaign", GET=200),
    "campaigns:report_sign": route("campaign.report", "report", POST=PAGE_404),
    "campaigns:configuration": route("campaign.view", "campaign", write="campaign.manage", GET=200, POST=200),
    "campaigns:summary": route("campaign.view", "campaign", POST=302),
    "supervision:dashboard": route("supervision.view", GET=200),
    "supervision:export_all": route("supervision.view", GET=200),
    "supervision:export": route("supervision.view", GET=200),
    "supervision:unstaffed": route("staffing.view", GET=200),
    "supervision:unstaffed_export": route("staffing.view", GET=200),
    "supervision:out_of_area": route("supervision.view", GET=200),
    "supervision:out_of_area_export_all": route("supervision.view", GET=200),
    "supervision:out_of_area_export": route("supervision.view", GET=200),
    "supervision:stuck": route("supervision.view", GET=200),
    "supervision:stuck_item": route("supervision.view", "application", GET=200, POST=400),
    "supervision:urge": route("supervision.act", "application", POST=302),
    "dataquality:index": route("dataquality.view", GET=200),
    "dataquality:scan": route("dataquality.decide", POST=302),
    "dataquality:case_detail": route("dataquality.view", "case", GET=PAGE_404),
    "dataquality:households": route("dataquality.view", GET=200),
    "dataquality:addresses": route("dataquality.view", GET=200, POST=PAGE_404),
    "dataquality:change_list": route("dataquality.view", GET=200),
    "dataquality:change_new": route("dataquality.request", "person", GET=200, POST=200),
    "dataquality:change_detail": route("dataquality.view", "change", GET=200, POST=200),
    "cardloss:reports": route("cardloss.view", GET=200),
    "cardloss:report_new": route("cardloss.report", GET=200, POST=400),
    "cardloss:report_detail": route("cardloss.view", "lossreport", GET=200),
    "cardloss:report_restore": route("cardloss.report", "lossreport", POST=400),
    "cardloss:found_list": route("cardloss.view", GET=200),
    "cardloss:found_new": route("cardloss.report", GET=200, POST=400),
    "cardloss:found_detail": route("cardloss.view", "found", GET=200),
    "cardloss:found_collect": route("cardloss.report", "found", POST=400),
    "cardloss:found_destroy": route("cardloss.report", "found", POST=400),
    "finance:payments": route("finance.view", GET=200),
    "finance:unremitted": route("finance.view", GET=200, POST=400),
    "finance:remittances": route("finance.view", GET=200),
    "finance:settlement": route("finance.view", GET=200),
    "finance:settlement_lines": route("finance.view", GET=200),
    "finance:receipt": route(("finance.view", "application.accept"), "receipt", GET=200),
    "finance:export": route("finance.view", POST=200),
    "jobs:list": route(JOBS, GET=200),
    "jobs:detail": route(JOBS, "job", GET=200),
    "jobs:cancel": route(JOBS, "job", POST=200),
    "jobs:retry": route(JOBS, "job", POST=302),
    "jobs:result": route(JOBS, "job", GET=PAGE_404),
    "notifications:inbox": route(STAFF, GET=200),
    "notifications:templates": route("notification.template", GET=200),
    "notifications:template": route("notification.template", "template", GET=200, POST=200),
    "notifications:template_reset": route("notification.template", "template", POST=200),
    "exchange:messages": route("exchange.view", by="province_supervisor", GET=200),
    "exchange:message_retry": route("exchange.manage", "exchange", by="admin", POST=PAGE_404),
    "exchange:peers": route("exchange.view", by="admin", GET=200, POST=400),
    "exchange:peer_edit": route("exchange.manage", "exchange", by="admin", GET=PAGE_404, POST=PAGE_404),
    "exchange:peer_ping": route("exchange.manage", "exchange", by="admin", POST=PAGE_404),
    "cardcheck:institutions": route("cardcheck.view", by="admin", GET=200),
    "cardcheck:institution_new": route("cardcheck.manage", by="admin", GET=200, POST=400),
    "cardcheck:institution": route("cardcheck.view", "institution", by="admin", GET=200),
    "cardcheck:institution_edit": route("cardcheck.manage", "institution", by="admin", GET=200, POST=400),
    "cardcheck:institution_key": route("cardcheck.manage", "institution", by="admin", POST=200),  # 确认
    "cardcheck:institution_suspend": route("cardcheck.manage", "institution", by="admin", POST=400),
    "cardcheck:institution_resume": route("cardcheck.manage", "institution", by="admin", POST=400),
    "ecert:find": route("person.view", GET=200),
    "ecert:detail": route("person.view", "ecert", GET=200),
    "ecert:print": route("person.view", "ecert", GET=200),
    "liaisons:directory": route(STAFF, GET=200),
    "liaisons:missing": route("liaison.manage", GET=200),
    "liaisons:edit": route("liaison.manage", "county", refusal=403, GET=200, POST=400),
}
# fmt: on

# Path parameters naming no record; any other parameter is a word of the route (a document's kind …).
ABSENT = {
    "pk": "999999",
    "person_pk": "999999",
    "task_pk": "999999",
    "report_pk": "999999",
    "number": "3601020012026010100001",
    "code": "369999",
    "username": "absent-user",
    "receipt_number": "9999999999999999999",
    "certificate": "3600000000000000000000",
}
# Records every member of staff may know of: the liaison directory lists every unit, so another city's
# supervisor is refused its liaisons (403) rather than told it does not exist (docs/liaisons.md).
SHOWN = {"county"}
WORDS = {
    "kind": "form",
    "which": "photo",
    "key": "review",
    "table": "within_province",
    "list_name": "payments",
    "action": "derive",
}


@dataclass(frozen=True)
class Path:
    name: str  # `namespace:name`, or the pattern where the route has no name
    pattern: str
    callback: Callable[..., Any]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/v1/")

    def methods(self) -> list[str]:
        """An API view's methods; a page's come from ROUTES (a function view does not say)."""
        view = getattr(self.callback, "cls", None)
        if view is None or not issubclass(view, APIView):
            return sorted(ROUTES[self.name].answers)
        return [
            m.upper() for m in view.http_method_names if m not in {"options", "head"} and hasattr(view, m)
        ]

    def url(self, values: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            return values.get(match.group(1)) or WORDS[match.group(1)]

        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, self.pattern)


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Path]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (entry.namespace + ":" if entry.namespace else "")
            yield from walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            yield Path(namespace + entry.name if entry.name else pattern, pattern, entry.callback)


def paths() -> list[Path]:
    """Every route but the admin's (one rule, `test_the_admin_is_for_administrators_only`) and the
    static files of development servers."""
    return [p for p in walk(get_resolver()) if not p.pattern.startswith(("admin/", "^static"))]


def test_every_route_has_an_expected_answer() -> None:
    found = {p.name: p for p in paths()}
    missing = sorted(set(found) - set(ROUTES))
    gone = sorted(set(ROUTES) - set(found))
    assert not missing, f"routes without an expected answer in ROUTES: {missing}"
    assert not gone, f"ROUTES names what is no longer a route: {gone}"
    methods = [
        f"{name}: {found[name].methods()} served, {sorted(entry.answers)} expected"
        for name, entry in ROUTES.items()
        if sorted(found[name].methods()) != sorted(entry.answers)
    ]
    assert not methods, "\n".join(methods)


# Records ---------------------------------------------------------------------------------------------


@pytest.fixture
def records(
    personas: Personas,
    accept: Callable[..., Application],
    household_reviewer: User,
    centre_keys: dict[str, Any],
) -> dict[str, dict[str, str]]:
    """One record of each kind the fixtures build, of 360102001 or of 南昌: kind → path parameters.
    The application waits for review; a second one is issued, made at the provincial centre in a
    batch of its own (with its 制证回馈 upload) and shipped to the station."""
    clerk = personas.nanchang_clerk
    operator = personas.centre_operator
    centre = station("360000901")
    shipped = accept(clerk, PersonFactory.create())
    shipped = review_issue(actor=household_reviewer, application=shipped, step=shipped.review_step)
    batch = batch_create(actor=operator, centre=centre, acceptance_unit=shipped.acceptance_unit, size=1)
    batch_package(actor=operator, batch=batch)
    number = str(shipped.number)
    line = FeedbackLine(line=1, batch=batch.number, number=number, result="produced", card_serial="CS0001")
    upload = feedback_apply(actor=operator, centre=centre, lines=[line], source="api").upload_id
    (shipment,) = shipments_create(actor=operator, numbers=[number])
    holder = PersonFactory.create()
    certificate = ecert.certificate_issue(card=CardFactory.create(person=holder))  # 电子证照 of the held card
    application = accept(clerk, holder, rules.ApplicationType.RENEWAL)  # charged: a receipt
    temporary_card = temporary.temporary_accept(actor=clerk, person=holder)  # 待签发 at 东湖分局
    today = intake.local_today()
    newborn = PersonFactory.create(birth_date=today - datetime.timedelta(days=400))
    draft = intake.application_start(
        actor=clerk, person=newborn, application_type=rules.ApplicationType.FIRST, reason_code="11"
    )

    def span(first: int, last: int) -> tuple[datetime.date, datetime.date]:
        return today + datetime.timedelta(days=first), today + datetime.timedelta(days=last)

    staff_city_campaign()  # a campaign starts only where its configuration has staff
    campaign = campaigns.campaign_create(
        actor=personas.campaign_manager,
        area=Unit.objects.get(code="3601"),
        name="南昌市集中换发第二代居民身份证",
        reference_date=today,
        phases={"prepare": span(0, 30), "replace": span(31, 200), "summary": span(201, 260)},
    )
    duty = campaign.duties.first()
    assert duty is not None
    job = JobRun.objects.create(kind="campaigns.summary", unit=station(RECORD_UNIT), started_by=clerk)
    UserFactory.create(username="nanchang_new_clerk", role="clerk", unit=station(RECORD_UNIT))
    receipt = Payment.objects.get(application_number=application.number).receipt_number
    change = dataquality.change_request_create(
        actor=personas.donghu_supervisor,
        person_id=holder.pk,
        item="name",
        new_value="更名人",
        reason="户口登记表核对",
        evidence="常住人口登记表",
    )
    appointment = book(PersonFactory.create())
    lost = PersonFactory.create()
    CardFactory.create(person=lost)
    report = loss_report(actor=clerk, person=lost, channel="in_person", phone="13907910000")
    found = found_register(
        actor=clerk,
        entry=FoundEntry(
            id_number=lost.id_number,
            name=lost.name,
            found_place="八一广场",
            found_on=today,
            handed_in_by="王师傅",
        ),
    )
    institution = institution_add(
        actor=personas.admin,
        entry=InstitutionEntry(
            name="中国银行南昌分行",
            kind="bank",
            credit_code="91360100705520351R",
            purpose="开立银行账户时核验客户身份证件",
            contact="王经理 0791-86000000",
        ),
    )
    return {
        "person": {"pk": str(holder.pk), "person_pk": str(holder.pk)},
        "unit": {"code": RECORD_UNIT},
        "county": {"code": RECORD_UNIT[:6]},  # its liaisons are kept by the county bureau's own staff
        "application": {"number": str(application.number), "pk": str(application.pk)},
        "draft": {"pk": str(draft.pk)},
        "user": {"username": "nanchang_new_clerk"},
        "receipt": {"receipt_number": receipt},
        "job": {"pk": str(job.pk)},
        "campaign": {"pk": str(campaign.pk)},
        "duty": {"pk": str(campaign.pk), "task_pk": str(duty.pk)},
        "change": {"pk": str(change.pk)},
        "batch": {"pk": str(batch.pk)},
        "feedback": {"pk": str(upload)},
        "shipment": {"pk": str(shipment.pk)},
        "template": {"code": next(iter(TEMPLATES))},
        "lossreport": {"pk": str(report.pk)},
        "found": {"pk": str(found.pk)},
        "temporary": {"pk": str(temporary_card.pk)},
        "institution": {"pk": str(institution.pk)},
        "ecert": {"certificate": certificate.number},
        "booking": {"code": appointment.code},
    }


# Requests ---------------------------------------------------------------------------------------------


@dataclass
class Caller:
    """One persona (or nobody) asking: a session for the pages, a token for the API."""

    user: User | None
    _session: Client | None = field(default=None, repr=False)
    _token: APIClient | None = field(default=None, repr=False)

    def ask(self, path: Path, method: str, values: dict[str, str]) -> Answer:
        url = path.url(values)
        if path.is_api:
            response = getattr(self.api(), method.lower())(url, {}, format="json")
        else:
            response = getattr(self.page(), method.lower())(url, {})
        return answer_of(response)

    def api(self) -> APIClient:
        if self._token is None:
            self._token = api_client(self.user) if self.user else APIClient()
        return self._token

    def page(self) -> Client:
        # A sign-out (accounts:logout) ends the session: sign in again for the next page.
        if self._session is None or (self.user and "_auth_user_id" not in self._session.session):
            self._session = login(Client(), self.user) if self.user else Client()
        return self._session


def answer_of(response: Any) -> Answer:
    """The status, with the API's error code, `login` for a redirect to the login page, `page` for
    the Chinese 403 or 404 page; an error in English answers with its text, to fail any expectation."""
    status = response.status_code
    if response.get("Content-Type", "").startswith("application/json") and status >= 400:
        body = response.json()
        return (status, body["code"] if CHINESE.search(body.get("message", "")) else body.get("message"))
    if status == 302 and response["Location"].startswith(("/accounts/login/", "/admin/login/")):
        return LOGIN
    if status in (403, 404):
        page = response.content.decode()
        return (status, "page" if ("无权访问" if status == 403 else "未找到") in page else page[:200])
    return status


def requests(
    kinds: Callable[[Route], bool] = lambda route: True,
) -> Iterator[tuple[Path, Route, str]]:
    for path in paths():
        entry = ROUTES[path.name]
        if kinds(entry):
            for method in path.methods():
                yield path, entry, method


def values_of(entry: Route, records: dict[str, dict[str, str]]) -> dict[str, str]:
    return {**ABSENT, **records.get(entry.record or "", {})}


def needs(entry: Route, method: str) -> tuple[str, ...]:
    return entry.method_actions.get(method, entry.actions)


def owner_of(entry: Route, method: str) -> str:
    if entry.by:
        return entry.by
    actions = needs(entry, method)
    for name in PERSONA_UNITS:
        permitted = PUBLIC in actions or STAFF in actions or may(name, *actions)
        if permitted and (entry.record is None or reaches(name, RECORD_UNIT)):
            return name
    raise AssertionError(f"no persona may {needs(entry, method)} over {RECORD_UNIT}")


def denied(actions: tuple[str, ...]) -> list[str]:
    """The personas whose role holds none of `actions`."""
    if PUBLIC in actions or STAFF in actions:
        return []
    return [name for name in PERSONA_UNITS if not may(name, *actions)]


def refused(path: Path, entry: Route) -> Answer:
    return (403, "permission_denied") if path.is_api else (entry.refusal, "page")


def absent(path: Path) -> Answer:
    return NOT_FOUND if path.is_api else (404, "page")


# The persona groups -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_asked_to_sign_in() -> None:
    nobody = Caller(None)
    wrong = []
    for path, entry, method in requests():
        public = PUBLIC in entry.actions
        expected = entry.answers[method] if public else (401, "not_authenticated") if path.is_api else LOGIN
        got = nobody.ask(path, method, ABSENT)
        if got != expected:
            wrong.append(f"{method} {path.pattern}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_a_role_without_the_action_is_refused_whatever_the_record(
    personas: Personas, records: dict[str, dict[str, str]]
) -> None:
    callers = {name: Caller(user) for name, user in personas.all().items()}
    wrong = []
    for path, entry, method in requests():
        # The API is asked about the record and about none (its refusal comes before any fetch).
        asked = (
            [values_of(entry, records), ABSENT]
            if path.is_api and entry.record
            else [values_of(entry, records)]
        )
        for name in denied(needs(entry, method)):
            for values in asked:
                got = callers[name].ask(path, method, values)
                if got != refused(path, entry):
                    wrong.append(
                        f"{method} {path.url(values)} as {name}: {got}, expected {refused(path, entry)}"
                    )
    assert not wrong, "\n".join(wrong)


def test_the_owner_gets_what_routes_says(
    personas: Personas, household_reviewer: User, county_reviewer: User, records: dict[str, dict[str, str]]
) -> None:
    callers = {name: Caller(user) for name, user in personas.all().items()}
    callers["household_reviewer"] = Caller(household_reviewer)
    callers["county_reviewer"] = Caller(county_reviewer)
    wrong = []
    for path, entry, method in requests(lambda entry: PUBLIC not in entry.actions):
        owner = owner_of(entry, method)
        got = callers[owner].ask(path, method, values_of(entry, records))
        if got != entry.answers[method]:
            wrong.append(f"{method} {path.pattern} as {owner}: {got}, expected {entry.answers[method]}")
    assert not wrong, "\n".join(wrong)


def test_a_record_of_another_city_answers_like_one_that_does_not_exist(
    personas: Personas, records: dict[str, dict[str, str]]
) -> None:
    twins: dict[str, Caller | None] = {}
    wrong = []
    for path, entry, method in requests(lambda entry: entry.record is not None):
        owner = owner_of(entry, method)
        if owner not in PERSONA_UNITS:
            continue  # household_reviewer, county_reviewer: not personas, no twin
        if owner not in twins:
            user = twin(owner)
            twins[owner] = Caller(user) if user else None
        caller = twins[owner]
        if caller is None:
            continue
        foreign = caller.ask(path, method, values_of(entry, records))
        none = caller.ask(path, method, ABSENT)
        served = isinstance(foreign, int) and 200 <= foreign < 300
        if served or (entry.record not in SHOWN and foreign != none):
            wrong.append(f"{method} {path.pattern} as {owner}'s twin: {foreign} for 南昌's, {none} for none")
    assert not wrong, "\n".join(wrong)


def test_the_admin_is_for_administrators_only(personas: Personas) -> None:
    """Django's admin (系统管理), one rule for all its routes: anonymous and every role but the
    administrator are sent to the login page; the administrator gets the page, the index for a record
    that does not exist, or the Chinese 403 page where no administrator may (adding a payment …)."""
    admin_paths = [p for p in walk(get_resolver()) if p.pattern.startswith("admin/")]
    assert (
        len(admin_paths) > len(admin_site._registry) * 5
    )  # every model's list, add, change, delete, history
    callers = {name: Caller(user) for name, user in personas.all().items()}
    others = [name for name in callers if name != "admin"]
    wrong = []
    for index, path in enumerate(admin_paths):
        url = "/" + re.sub(r"<(?:\w+:)?\w+>", "999999", path.pattern.split("^")[0] or path.pattern)
        url = url.split("(?P")[0]  # the app index and the catch-all: their first word
        # The admin turns away whoever is not staff before anything else: each route is asked by
        # anonymous, the administrator and one other persona in turn (every persona asks ~20 routes).
        other = others[index % len(others)]
        for name, caller in {
            "anonymous": Caller(None),
            "admin": callers["admin"],
            other: callers[other],
        }.items():
            got = answer_of(caller.page().get(url))
            if url == "/admin/logout/":  # a POST only, for whoever asks
                fine = got in (302, 405)
            elif name == "admin" and url != "/admin/login/":  # the sign-in is everyone's: accounts:login
                fine = got in (200, 302, (403, "page"), (404, "page"))  # the admin's own rights per model
            else:
                fine = got == LOGIN
            if not fine:
                wrong.append(f"GET {url} as {name}: {got}")
    assert not wrong, "\n".join(wrong)
