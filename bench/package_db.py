"""Production data packages from the database: `python -m bench.package --from-db [--cards N]
[--repeat R] [--database-url URL] [--keep]`.

What `batch_package` costs for a real batch, on a PostgreSQL database of its own
(`tongban_bench_package`, dropped and created through the `postgres` maintenance database):

1. migrate, load Jiangxi's units, the system's and the Nanchang centre's keys, and N issued
   applications of N people at 东湖区城关派出所, each with the demo's standard photo (the
   astronaut through `conform_photo`, 358×441, ~18 KB; a random 64-byte JPEG comment makes each
   photo its own file), the production segment the counter makes of it (the photo and its chip
   copy, which keeps the comment, encrypted: `package.seal_card_images`) and two registered
   fingers (1,200-byte templates), stored as the counter stores them; VACUUM ANALYZE; one batch
   of the N (`batch_create`);
2. R rounds, each:
   - package: `batch_package` as the centre's operator runs it, copying the stored segments;
   - old path (the baseline): the same batch with the segments emptied, as rows kept before the
     counter made them: `batch_package` reads and unseals each photo, derives its chip copy and
     encrypts the two (as every batch did for every card before);
   - backfill: `tongban applications card-images` (`capture.card_images_backfill`) storing them
     again;
   and once, to say where the time goes: reading the cards alone (`package_cards`: the queries
   and unsealing the keys and templates) and writing the package of those cards already in
   memory (`write_package`);
3. the photos and chip photos in the backfilled segments compared with those the counter stored,
   byte for byte.

It prints a table (median seconds and cards a second) and one JSON line.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import time
from typing import Any

from bench.import_register import database_version, scratch_database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_package"
STATION = "360102001"
CHUNK = 1000


def _unique(jpeg: bytes, rng: random.Random) -> bytes:
    """The JPEG with a random 64-byte comment right after SOI: a different file, same picture."""
    return jpeg[:2] + b"\xff\xfe\x00\x42" + rng.randbytes(64) + jpeg[2:]


def create_issued(count: int, seed: int) -> None:
    """`count` issued applications (with their people and fingers) at STATION, written in bulk."""
    from django.db import transaction
    from django.utils import timezone

    from tongban.accounts.models import User
    from tongban.biometrics.finger import TEMPLATE_FORMAT
    from tongban.biometrics.photo import chip_photo
    from tongban.core import idnumber
    from tongban.demo.management.commands.demo import standard_photo
    from tongban.intake.models import Application, Fingerprint
    from tongban.production.package import seal_card_images
    from tongban.registry.models import Person, Unit

    rng = random.Random(seed)
    unit = Unit.objects.get(code=STATION)
    clerk = User.objects.create(username="bench_clerk", role="clerk", unit=unit)
    photo = standard_photo()
    now = timezone.now()
    today = timezone.localdate()
    for start in range(0, count, CHUNK):
        with transaction.atomic():
            people = []
            for n in range(start, min(start + CHUNK, count)):
                birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=n // 400)
                people.append(
                    Person(
                        registration_unit=unit,
                        name=f"测试{n}",
                        sex_id="1",
                        ethnicity_id="01",
                        birth_date=birth,
                        address=f"江西省南昌市东湖区中山路{n}号",
                        household_no=f"H{n:08d}",
                        relation_id="02",
                        region_code=unit.region_code,
                        id_number=idnumber.build(unit.region_code, birth, 2 * (n % 400) + 1),
                    )
                )
            Person.objects.bulk_create(people)
            photos = [_unique(photo, rng) for _ in people]
            # as the counter makes them when it keeps the photo
            segments = [seal_card_images(each, chip_photo(each)) for each in photos]
            applications = Application.objects.bulk_create(
                [
                    Application(
                        number=f"{STATION}{today:%Y%m%d}{start + i:05d}",
                        person=person,
                        type="first",
                        reason_id="12",
                        status=Application.Status.ISSUED,
                        id_number=person.id_number,
                        name=person.name,
                        sex_id=person.sex_id,
                        ethnicity_id=person.ethnicity_id,
                        birth_date=person.birth_date,
                        household_address=person.address,
                        acceptance_unit=unit,
                        household_unit=unit,
                        region_code=person.region_code,
                        created_by=clerk,
                        accepted_at=now,
                        issued_at=now,
                        issuing_authority="南昌市公安局东湖分局",
                        validity=Application.Validity.TWENTY,
                        valid_from=today,
                        valid_until=today.replace(year=today.year + 20),
                        photo=photos[i],
                        card_images=segments[i].segment,
                        card_images_key=segments[i].record(),
                    )
                    for i, person in enumerate(people)
                ],
                batch_size=500,  # columns × rows must stay under PostgreSQL's 65,535 parameters
            )
            Fingerprint.objects.bulk_create(
                Fingerprint(
                    application=application,
                    position=position,
                    result=Fingerprint.Result.REGISTERED,
                    format=TEMPLATE_FORMAT,
                    template=rng.randbytes(1200),
                )
                for application in applications
                for position in ("11", "16")
            )


def _timed(work: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work(**kwargs)
    return time.perf_counter() - start, result


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"cards": args.cards, "repeat": args.repeat}
    with scratch_database(args.database_url, "tongban-bench-package-", keep=args.keep) as (workdir, _db):
        from django.core.management import call_command
        from django.db import connection

        from tongban.intake import capture
        from tongban.intake.models import Application
        from tongban.production import package as package_format
        from tongban.production import services
        from tongban.registry.models import Unit
        from tongban.registry.services import units_load_province

        figures["database"] = database_version()
        call_command("migrate", verbosity=0)
        units_load_province(province_code="36", stations_per_county=2, actor=None)
        centre = Unit.objects.get(code="360000901")
        services.system_key_generate()
        centre_key = services.centre_key_generate(centre=centre, out=workdir / "centre.json")
        seconds, _ = _timed(lambda: create_issued(args.cards, args.seed))
        figures["setup_s"] = round(seconds, 1)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        batch = services.batch_create(actor=None, centre=centre, size=args.cards)
        assert batch.size == args.cards

        def contents(rows: Any) -> dict[int, tuple[bytes, bytes]]:
            return {
                pk: package_format.CardImages.from_record(bytes(segment), record).open()
                for pk, segment, record in rows.values_list("pk", "card_images", "card_images_key")
            }

        stored = contents(Application.objects.order_by("pk")[:50])

        timings: dict[str, list[float]] = {"package": [], "old_path": [], "backfill": []}
        for _ in range(args.repeat):
            seconds, batch = _timed(services.batch_package, actor=None, batch=batch)
            timings["package"].append(seconds)
            Application.objects.filter(pk__in=batch.items.values("application_id")).update(
                card_images=None, card_images_key=None
            )
            seconds, batch = _timed(services.batch_package, actor=None, batch=batch)
            timings["old_path"].append(seconds)
            seconds, report = _timed(lambda: capture.card_images_backfill(actor=None))
            assert report.made == args.cards and not report.failed
            timings["backfill"].append(seconds)
        assert contents(Application.objects.filter(pk__in=stored)) == stored

        seconds, cards = _timed(lambda: list(services.package_cards(batch)))
        timings["read"] = [seconds]
        seconds, _info = _timed(
            lambda: package_format.write_package(
                workdir / "memory.tbpkg",
                batch=batch.number,
                centre=centre.code,
                created_at=datetime.datetime.now(tz=datetime.UTC),
                cards=cards,
                system_key=services.system_key(),
                centre_public=centre_key.public_key,
            )
        )
        timings["write"] = [seconds]
        figures["package_bytes"] = batch.package_size

    median = {name: statistics.median(values) for name, values in timings.items()}
    figures["seconds"] = {name: round(value, 2) for name, value in median.items()}
    figures["cards_per_second"] = {name: round(args.cards / value) for name, value in median.items()}
    figures["speedup_over_old_path"] = round(median["old_path"] / median["package"], 2)
    figures["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    return figures


def report(figures: dict[str, Any]) -> None:
    cards = figures["cards"]
    print(
        f"{cards} issued applications from {figures['database']}, {figures['repeat']} runs (median); "
        f"package {figures['package_bytes'] / 1e6:.0f} MB"
    )
    print(f"{'step':<34}{'seconds':>10}{'cards/s':>10}")
    rows = [
        ("batch_package (stored segments)", "package"),
        ("batch_package, old path (each made)", "old_path"),
        ("card-images backfill", "backfill"),
        ("  read the cards (package_cards)", "read"),
        ("  write them (write_package)", "write"),
    ]
    for label, name in rows:
        print(f"{label:<34}{figures['seconds'][name]:>10.2f}{figures['cards_per_second'][name]:>10}")
    print(
        f"package / old path: {figures['speedup_over_old_path']}× faster; load {figures['machine']['load']}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"with --from-db: where (default {DEFAULT_URL})"
    )
    parser.add_argument("--keep", action="store_true", help="with --from-db: keep the database and folder")
