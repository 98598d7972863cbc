"""Production on a real database: routing, batching (also two operators at once), the package
through `tongban package open`, feedback with re-collection and reprint, idempotence."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from tongban.biometrics.photo import chip_photo
from tongban.core.errors import ServiceError
from tongban.intake import capture, rules
from tongban.intake import selectors as intake_selectors
from tongban.intake import services as intake_services
from tongban.intake.models import Application, Fingerprint
from tongban.production import selectors, services, tasks
from tongban.production.feedback import parse_csv
from tongban.production.models import Batch, BatchItem
from tongban.registry.models import Card, Unit, routed_stations
from tongban.review.services import review_approve
from tongban.testing.applications import NO_FINGERS
from tongban.testing.concurrency import at_once
from tongban.testing.factories import PersonFactory, UserFactory, station
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db

Status = Application.Status
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


def centre(code: str) -> Unit:
    return Unit.objects.get(code=code)


def test_routing_by_acceptance_location(personas, issue, ganzhou_operator):
    nanchang = issue(personas.nanchang_clerk)
    ganzhou = issue(personas.ganzhou_clerk)  # household in Nanchang, accepted in Ganzhou (3607…)
    routed = routed_stations()
    assert station("360702001").pk in routed[centre("360700901").pk]
    assert station("360702001").pk not in routed[centre("360000901").pk]
    assert list(selectors.production_queue(centre("360000901"))) == [nanchang]
    assert list(selectors.production_queue(centre("360700901"))) == [ganzhou]
    [row] = selectors.queue_counts(centre("360700901"))
    assert (row.code, row.count) == ("360702001", 1)


def test_batches_take_the_oldest_first_and_each_application_once(personas, issue):
    applications = [issue(personas.nanchang_clerk) for _ in range(3)]
    operator = personas.centre_operator
    first = services.batch_create(actor=operator, centre=operator.unit, size=2)
    assert first.state == Batch.State.OPEN and first.size == 2 and first.number.startswith("360000901")
    assert [i.application_id for i in first.items.order_by("pk")] == [a.pk for a in applications[:2]]
    batched = Application.objects.get(pk=applications[0].pk)
    assert batched.status == Status.IN_PRODUCTION
    assert batched.events.filter(action="batched", to_status=Status.IN_PRODUCTION).count() == 1
    second = services.batch_create(actor=operator, centre=operator.unit, acceptance_unit=station("360102001"))
    assert [i.application_id for i in second.items.all()] == [applications[2].pk]
    with pytest.raises(ServiceError) as empty:
        services.batch_create(actor=operator, centre=operator.unit)
    assert empty.value.code == "queue_empty" and empty.value.status == 409


def test_only_the_centres_own_operators_batch(personas, issue, ganzhou_operator):
    issue(personas.nanchang_clerk)
    province = centre("360000901")
    with pytest.raises(ServiceError) as foreign_centre:
        services.batch_create(actor=ganzhou_operator, centre=province)
    assert foreign_centre.value.code == "not_found" and foreign_centre.value.status == 404
    for user in (personas.nanchang_clerk, personas.province_supervisor, personas.admin):
        with pytest.raises(ServiceError) as refused:
            services.batch_create(actor=user, centre=province)
        assert refused.value.code == "permission_denied" and refused.value.status == 403
    with pytest.raises(ServiceError) as foreign:
        services.batch_create(
            actor=personas.centre_operator, centre=province, acceptance_unit=station("360702001")
        )
    assert foreign.value.code == "not_this_centre"
    with pytest.raises(ServiceError):
        services.batch_create(actor=personas.centre_operator, centre=province, size=10**6)


def test_schedule_batches_per_acceptance_unit(personas, issue, capsys):
    issue(personas.nanchang_clerk)
    issue(personas.nanchang_clerk)
    issue(personas.ganzhou_clerk)
    call_command("production", "schedule", "--size", "5")  # no full batch, nothing waited a day
    assert capsys.readouterr().out == "" and not Batch.objects.exists()
    call_command("production", "schedule", "--size", "5", "--all")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((line["centre"], line["acceptance_unit"], line["size"]) for line in lines) == [
        ("360000901", "360102001", 2),
        ("360700901", "360702001", 1),
    ]
    assert Batch.objects.filter(created_by=None).count() == 2


def test_the_schedule_batches_by_each_centres_rule(personas, issue, settings):
    settings.CARD_PRODUCTION = {
        **settings.CARD_PRODUCTION,
        "BATCH_SIZE": 2,
        "BATCH_MAX_WAIT_HOURS": 24,
        "CENTRE_RULES": {"360700901": (5, 1)},  # Ganzhou: batches of 5, none waits over an hour
    }
    now = timezone.now()
    nanchang = [issue(personas.nanchang_clerk) for _ in range(5)]
    ganzhou = issue(personas.ganzhou_clerk)
    for application, hours in zip(nanchang, [30, 2, 1, 1, 1], strict=True):
        Application.objects.filter(pk=application.pk).update(issued_at=now - timedelta(hours=hours))
    Application.objects.filter(pk=ganzhou.pk).update(issued_at=now - timedelta(minutes=30))

    # The province's centre: two full batches, oldest first; the fifth has waited an hour only
    # (the 30-hour one went into a full batch). Ganzhou's one application: half an hour.
    made = services.batch_schedule()
    assert [(batch.centre.code, batch.size) for batch in made] == [("360000901", 2), ("360000901", 2)]
    assert [item.application_id for item in made[0].items.order_by("pk")] == [a.pk for a in nanchang[:2]]
    assert services.batch_schedule() == []  # again: nothing more
    # A day on, and an hour on in Ganzhou: what is left is batched, short as it is.
    Application.objects.filter(pk=nanchang[4].pk).update(issued_at=now - timedelta(hours=25))
    Application.objects.filter(pk=ganzhou.pk).update(issued_at=now - timedelta(hours=2))
    made = services.batch_schedule()
    assert sorted((batch.centre.code, batch.size) for batch in made) == [("360000901", 1), ("360700901", 1)]
    assert not Application.objects.filter(status=Status.ISSUED).exists()


def test_the_schedule_calls_the_service(personas, issue, settings):
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "BATCH_MAX_WAIT_HOURS": 0}
    application = issue(personas.nanchang_clerk)
    tasks.production_batches()
    assert BatchItem.objects.get().application_id == application.pk


def _packaged(personas, issue, count=2):
    for _ in range(count):
        issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_create(actor=operator, centre=operator.unit)
    return services.batch_package(actor=operator, batch=batch)


def _open(
    path: Path, key: Path, out: Path | None = None, extra_keys: tuple[Path, ...] = ()
) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    args = ["package", "open", str(path), "--key", str(key)] + (["--out", str(out)] if out else [])
    for extra in extra_keys:
        args += ["--key", str(extra)]
    try:
        call_command(*args, stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        return int(exit_.code or 0), stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


def test_package_round_trip_through_the_command(personas, issue, centre_keys, tmp_path):
    batch = _packaged(personas, issue)
    assert batch.state == Batch.State.PACKAGED and batch.package_size > 0 and len(batch.package_sm3) == 64
    path = services.package_path(batch)
    code, out, _ = _open(path, centre_keys["360000901"], tmp_path / "opened")
    assert code == 0 and json.loads(out)["cards"] == 2
    manifest = json.loads((tmp_path / "opened" / "manifest.json").read_text())
    card = manifest["cards"][0]
    application = Application.objects.get(number=card["number"])
    assert card["id_number"] == application.id_number and card["name"] == application.name
    assert card["issuing_authority"] == "南昌市公安局东湖分局"
    assert card["valid_from"] == str(application.valid_from)
    assert card["ethnicity"] == {"code": "01", "name": application.ethnicity.name}
    chip = Image.open(tmp_path / "opened" / card["chip_photo"]["path"])
    assert chip.size == (102, 126)
    assert (tmp_path / "opened" / card["photo"]["path"]).read_bytes() == bytes(application.photo)
    assert {f["result"] for f in card["fingerprints"]} == {"not_registered"}


def _images(path: Path, key: Path, out: Path) -> dict[str, tuple[bytes, ...]]:
    """The opened package's photo and chip photo by 受理号."""
    assert _open(path, key, out)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        card["number"]: (
            (out / card["photo"]["path"]).read_bytes(),
            (out / card["chip_photo"]["path"]).read_bytes(),
        )
        for card in manifest["cards"]
    }


def test_a_batch_copies_the_segments_the_counter_made(personas, issue, centre_keys, tmp_path):
    """A batch carries each card's segment as the counter encrypted it (photo and chip copy); a
    row kept before there were segments packages the very same photo and chip copy, made on
    demand, and again once `tongban applications card-images` has stored its segment."""
    batch = _packaged(personas, issue, count=2)
    key = centre_keys["360000901"]
    path = services.package_path(batch)
    fresh = _images(path, key, tmp_path / "fresh")
    body = path.read_bytes()
    for application in Application.objects.filter(number__in=fresh):
        photo = bytes(application.photo or b"")
        assert fresh[application.number or ""] == (photo, chip_photo(photo))
        assert bytes(application.card_images or b"") in body  # copied as it is
    Application.objects.filter(number__in=fresh).update(card_images=None, card_images_key=None)
    operator = personas.centre_operator
    batch = services.batch_package(actor=operator, batch=batch)
    assert _images(services.package_path(batch), key, tmp_path / "on_demand") == fresh
    stdout = io.StringIO()
    call_command("applications", "card-images", stdout=stdout, stderr=io.StringIO())
    assert json.loads(stdout.getvalue()) == {"made": 2, "failed": []}
    batch = services.batch_package(actor=operator, batch=batch)
    assert _images(services.package_path(batch), key, tmp_path / "backfilled") == fresh


def test_packaging_reads_the_cards_without_a_query_per_card(personas, issue):
    operator = personas.centre_operator

    def queries(count: int) -> int:
        for _ in range(count):
            issue(personas.nanchang_clerk)
        batch = services.batch_create(actor=operator, centre=operator.unit)
        with CaptureQueriesContext(connection) as captured:
            cards = list(services.package_cards(batch))
        assert len(cards) == count and all(card.images.photo_size for card in cards)
        return len(captured)

    # The batch's ids, then the applications and their fingers of each chunk.
    assert queries(1) == queries(3) == 3


def test_a_tampered_package_or_a_wrong_key_exits_1(personas, issue, centre_keys, tmp_path):
    path = services.package_path(_packaged(personas, issue, count=1))
    code, _, err = _open(path, centre_keys["360700901"])
    assert code == 1 and "wrong_key" in err and "360000901" in err
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    code, _, err = _open(path, centre_keys["360000901"], tmp_path / "nothing")
    assert code == 1 and "body_tampered" in err
    assert not list((tmp_path / "nothing").rglob("*.jpg"))


def test_packaging_needs_the_keys(personas, issue):
    issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_create(actor=operator, centre=operator.unit)
    with pytest.raises(ServiceError) as missing:
        services.batch_package(actor=operator, batch=batch)
    assert missing.value.code == "no_system_key"


def test_a_real_fingerprint_template_travels_in_the_package(
    personas, standard_photo, household_reviewer, centre_keys, tmp_path, prints
):
    png = prints["p1_1"]
    clerk = personas.nanchang_clerk
    application = intake_services.application_start(
        actor=clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    intake_services.application_update(
        actor=clerk,
        application=application,
        changes={
            "phone": "13800138000",
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": True,
        },
    )
    capture.application_photo_attach(actor=clerk, application=application, image=standard_photo)
    captures = [
        capture.FingerCapture("11", rules.FingerOutcome.REGISTERED, image=png),
        *NO_FINGERS[5:],
    ]
    capture.application_fingers_record(actor=clerk, application=application, captures=captures)
    application = intake_services.application_accept(actor=clerk, application=application)
    review_approve(actor=household_reviewer, application=application, step=1)
    operator = personas.centre_operator
    batch = services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )
    assert _open(services.package_path(batch), centre_keys["360000901"], tmp_path / "o")[0] == 0
    finger = json.loads((tmp_path / "o" / "manifest.json").read_text())["cards"][0]["fingerprints"][0]
    stored = Fingerprint.objects.get(application=application, position="11")
    assert finger["position"] == "11" and finger["format"] == stored.format
    assert (tmp_path / "o" / finger["path"]).read_bytes() == bytes(stored.template)


def _csv(batch: Batch, rows: list[tuple[str, ...]]) -> bytes:
    lines = ["batch,number,result,card_serial,reason,note"]
    lines += [",".join((batch.number, *row)) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def test_feedback_produced_recollect_and_reprint(personas, issue, centre_keys, standard_photo):
    batch = _packaged(personas, issue, count=3)
    a, b, c = (item.application for item in batch.items.select_related("application").order_by("pk"))
    raw = _csv(
        batch,
        [
            (a.number, "produced", "CARD-0001", "", ""),
            (b.number, "failed", "", "photo_quality", "背景不均"),
            (c.number, "failed", "", "chip_error", ""),
        ],
    )
    operator = personas.centre_operator
    report = services.feedback_apply(
        actor=operator, centre=operator.unit, lines=parse_csv(raw), source="csv", raw=raw
    )
    assert report.as_dict()["counts"] == {"applied": 3, "already_applied": 0, "rejected": 0}
    card = Card.objects.get(card_serial="CARD-0001")
    a.refresh_from_db()
    assert a.status == Status.PRODUCED and card.state == Card.State.PRODUCED
    assert (card.person_id, card.application_number, card.valid_from, card.valid_until) == (
        a.person_id,
        a.number,
        a.valid_from,
        a.valid_until,
    )
    assert Application.objects.get(pk=b.pk).status == Status.RECOLLECT
    # The acceptance station finds it in its 受理台账 (待重新采集) and on its home page count.
    clerk = personas.nanchang_clerk
    assert [row.pk for row in intake_selectors.counter_page(clerk, "recollect").rows] == [b.pk]
    assert intake_selectors.counter_counts(clerk)["recollect"] == 1
    assert Application.objects.get(pk=c.pk).status == Status.ISSUED  # reprint: back in the queue
    batch.refresh_from_db()
    assert batch.state == Batch.State.CLOSED and batch.closed_at
    # The station re-collects the photo; the application returns to the queue.
    b.refresh_from_db()
    with pytest.raises(ServiceError) as foreign:
        capture.application_photo_recollect(actor=personas.ganzhou_clerk, application=b, image=standard_photo)
    assert foreign.value.status == 404
    outcome = capture.application_photo_recollect(
        actor=personas.nanchang_clerk, application=b, image=standard_photo
    )
    assert outcome.passed
    b.refresh_from_db()
    assert b.status == Status.ISSUED and b.events.filter(action="photo_recollected").exists()
    assert set(selectors.production_queue(operator.unit)) == {b, c}
    again = services.batch_create(actor=operator, centre=operator.unit)
    assert again.size == 2
    # Re-uploading the first file changes nothing.
    repeat = services.feedback_apply(
        actor=operator, centre=operator.unit, lines=parse_csv(raw), source="csv", raw=raw
    )
    assert repeat.duplicate_of == report.upload_id
    assert repeat.as_dict()["counts"] == {"applied": 0, "already_applied": 3, "rejected": 0}
    assert Card.objects.filter(card_serial="CARD-0001").count() == 1
    assert Application.objects.get(pk=b.pk).status == Status.IN_PRODUCTION


def test_unknown_foreign_and_malformed_lines_are_reported_and_the_rest_applied(
    personas, issue, centre_keys, ganzhou_operator
):
    batch = _packaged(personas, issue, count=2)
    a, b = (item.application for item in batch.items.select_related("application").order_by("pk"))
    issue(personas.ganzhou_clerk)
    ganzhou_batch = services.batch_package(
        actor=ganzhou_operator,
        batch=services.batch_create(actor=ganzhou_operator, centre=ganzhou_operator.unit),
    )
    ganzhou_number = str(ganzhou_batch.items.get().application.number)
    raw = _csv(batch, [
        (a.number, "produced", "CARD-1", "", ""),
        ("3601020012026010100999", "produced", "CARD-2", "", ""),  # no such application
        (ganzhou_number, "produced", "CARD-3", "", ""),  # another centre's application
        (b.number, "failed", "", "bad_reason", ""),  # malformed
        (b.number, "produced", "CARD-1", "", ""),  # serial already used
    ])  # fmt: skip
    raw += f"{ganzhou_batch.number},{ganzhou_number},produced,CARD-4,,\n".encode()  # not this centre's batch
    operator = personas.centre_operator
    report = services.feedback_apply(
        actor=operator, centre=operator.unit, lines=parse_csv(raw), source="csv", raw=raw
    )
    assert [row["number"] for row in report.applied] == [a.number]
    codes = [row["code"] for row in report.rejected]
    assert codes == ["unknown_application", "unknown_application", "invalid", "serial_used", "unknown_batch"]
    assert Application.objects.get(number=ganzhou_number).status == Status.IN_PRODUCTION
    assert Application.objects.get(pk=b.pk).status == Status.IN_PRODUCTION
    assert BatchItem.objects.get(batch=batch, application=b).result == ""
    with pytest.raises(ServiceError) as denied:
        services.feedback_apply(actor=ganzhou_operator, centre=operator.unit, lines=[], source="api")
    assert denied.value.status == 404


def test_feedback_on_an_open_batch_is_refused(personas, issue):
    application = issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_create(actor=operator, centre=operator.unit)
    lines = parse_csv(_csv(batch, [(application.number, "produced", "CARD-9", "", "")]))
    report = services.feedback_apply(actor=operator, centre=operator.unit, lines=lines, source="api")
    assert [row["code"] for row in report.rejected] == ["not_packaged"]


def _issue_at_donghu(count, standard_photo):
    """`count` applications issued at 东湖区城关派出所 (360102001) for the transactional tests, the
    photo set directly rather than checked."""
    clerk = UserFactory.create(role="clerk", unit=station("360102001"))
    reviewer = UserFactory.create(role="reviewer", unit=station("360102001"))
    for _ in range(count):
        application = intake_services.application_start(
            actor=clerk,
            person=PersonFactory.create(),
            application_type=rules.ApplicationType.FIRST,
            reason_code="12",
        )
        intake_services.application_update(
            actor=clerk,
            application=application,
            changes={
                "phone": "13800138000",
                "materials_shown": ["household_book", "residence_proof"],
                "pledge_signed": True,
            },
        )
        capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
        Application.objects.filter(pk=application.pk).update(
            photo=standard_photo, photo_report={"passed": True}
        )
        application = intake_services.application_accept(actor=clerk, application=application)
        review_approve(actor=reviewer, application=application, step=1)


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_operators_batching_at_once_never_share_an_application(reference_data, standard_photo):
    province = Unit.objects.get(code="360000901")
    operators = [UserFactory.create(role="centre_operator", unit=province) for _ in range(2)]
    _issue_at_donghu(6, standard_photo)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def batch(k: int) -> None:
        try:
            barrier.wait()
            made = services.batch_create(actor=operators[k], centre=province, size=4)
            outcomes.append(f"batched {made.size}")
        except ServiceError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=batch, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["batched 2", "batched 4"], outcomes
    items = list(BatchItem.objects.values_list("application_id", flat=True))
    assert len(items) == len(set(items)) == 6
    assert set(Application.objects.values_list("status", flat=True)) == {Status.IN_PRODUCTION}
    for application in Application.objects.all():
        assert application.events.filter(action="batched").count() == 1


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_schedulers_at_once_make_the_batches_of_one(reference_data, standard_photo, settings):
    """Two workers (or the command beside the schedule) at the same moment: seven fresh
    applications in batches of three are two full batches, made once; the seventh waits."""
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "BATCH_SIZE": 3, "BATCH_MAX_WAIT_HOURS": 24}
    _issue_at_donghu(7, standard_photo)
    made, errors = at_once(services.batch_schedule)
    sizes = [batch.size for batches in made for batch in batches]
    assert errors == [] and sorted(sizes) == [3, 3]
    items = list(BatchItem.objects.values_list("application_id", flat=True))
    assert len(items) == len(set(items)) == 6
    assert Application.objects.filter(status=Status.ISSUED).count() == 1


def test_keys_commands(tmp_path, capsys):
    call_command("keys", "generate-system")
    system = json.loads(capsys.readouterr().out)
    assert (Path(system["path"]).stat().st_mode & 0o777) == 0o600
    with pytest.raises(CommandError, match="--force"):
        call_command("keys", "generate-system")
    out = tmp_path / "centre.json"
    call_command("keys", "generate-centre", "360700901", "--out", str(out))
    centre_key = json.loads(capsys.readouterr().out)["fingerprint"]
    keyfile = services.read_centre_key_file(out)
    assert keyfile.centre == "360700901" and keyfile.key.fingerprint == centre_key
    assert keyfile.system_public == services.system_key().public
    call_command("keys", "generate-centre", "360700901", "--out", str(out), "--force")
    capsys.readouterr()
    call_command("keys", "show")
    shown = json.loads(capsys.readouterr().out)
    assert shown["system"]["fingerprint"] == system["fingerprint"]
    assert [c["centre"] for c in shown["centres"]] == ["360700901"] and shown["centres"][0][
        "fingerprint"
    ] != centre_key
    assert shown["centres_without_key"] == ["360000901"]
    with pytest.raises(CommandError):
        call_command("keys", "generate-centre", "360102001", "--out", str(tmp_path / "x.json"))


def test_feedback_template_round_trip(client, personas, issue, centre_keys):
    """The batch page's CSV template, filled in, is a valid feedback upload."""
    application = issue(personas.nanchang_clerk)
    centre = Unit.objects.get(code="360000901")
    batch = services.batch_create(actor=personas.centre_operator, centre=centre, size=1)
    services.batch_package(actor=personas.centre_operator, batch=batch)
    login(client, personas.centre_operator)
    template = client.get(f"/production/batches/{batch.pk}/feedback.csv")
    assert template.status_code == 200
    text = template.content.decode("utf-8-sig").replace(
        f"{application.number},,", f"{application.number},produced,CS0001"
    )
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = "feedback.csv"
    client.post("/production/feedback/", {"file": upload})
    application.refresh_from_db()
    assert application.status == Application.Status.PRODUCED
