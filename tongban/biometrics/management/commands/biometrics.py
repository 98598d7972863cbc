"""`tongban biometrics rebuild-index | count | enrol-register | enrol-watchlists | import-photos`:
JSON out."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from tqdm import tqdm

from tongban.biometrics.abis import BuiltinABIS
from tongban.biometrics.interfaces import Gallery
from tongban.biometrics.models import BiometricTemplate
from tongban.biometrics.services import register_photos_enrol, register_photos_import, watchlist_photos_enrol
from tongban.biometrics.shards import Shard, parse_nodes, parse_prefixes
from tongban.registry.models import Unit

GALLERY_NAMES = [g.value for g in Gallery]


class Command(BaseCommand):
    help = (
        "Biometric engine tools: `rebuild-index` rebuilds the 1:N face indexes from the stored "
        "templates and saves them (`--prefixes`: those of a sharded engine node); `count` prints "
        "the stored templates per gallery and modality; "
        "`enrol-register [--unit CODE]` puts the register's photos into the permanent gallery; "
        "`enrol-watchlists` puts the photos of wanted people and of floating registrations into "
        "the wanted and floating galleries; `import-photos FILE.csv` loads register photos "
        "(columns id_number,name,birth_date,photo)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild-index", help="rebuild the face index of one gallery or of all")
        rebuild.add_argument("--gallery", choices=GALLERY_NAMES, help="only this gallery")
        rebuild.add_argument(
            "--prefixes",
            help="the index of an engine node serving these region prefixes (as `tongban abis serve "
            "--prefixes`; default: every region)",
        )
        sub.add_parser("count", help="stored templates per gallery and modality")
        enrol = sub.add_parser("enrol-register", help="register photos → permanent gallery (常住人口相片库)")
        enrol.add_argument("--unit", metavar="CODE", help="only people registered in this unit's subtree")
        sub.add_parser("enrol-watchlists", help="wanted / floating people's photos → 在逃人员库 / 流动人口库")
        photos = sub.add_parser(
            "import-photos", help="register photos (常住人口相片) from a CSV: id_number,name,birth_date,photo"
        )
        photos.add_argument("file", type=Path)
        photos.add_argument("--report", type=Path, help="where rejected rows go (default FILE.rejected.csv)")
        photos.add_argument("--encoding", default="utf-8-sig", help="file encoding (e.g. gb18030)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import-photos":
            self._import_photos(options["file"], options["report"], options["encoding"])
            return
        if options["action"] == "enrol-register":
            self._enrol(options.get("unit"))
            return
        if options["action"] == "enrol-watchlists":
            with tqdm(unit=" photos", disable=not sys.stderr.isatty(), file=sys.stderr, desc="入库") as bar:
                results = watchlist_photos_enrol(actor=None, progress=bar.update)
            summary = {name: {"enrolled": r.enrolled, "unusable": r.unusable} for name, r in results.items()}
            self.stdout.write(json.dumps(summary))
            return
        if options["action"] == "rebuild-index":
            names = [options["gallery"]] if options.get("gallery") else GALLERY_NAMES
            abis = BuiltinABIS(shard=self._shard(options.get("prefixes")))
            try:
                result = {name: abis.rebuild(Gallery(name)) for name in names}
            except OSError as exc:
                raise CommandError(f"could not write the index: {exc}") from exc
            self.stdout.write(json.dumps({"rebuilt": result}, ensure_ascii=False))
            return
        counts: dict[str, dict[str, int]] = {
            name: {"face": 0, "finger": 0, "total": 0} for name in GALLERY_NAMES
        }
        rows = BiometricTemplate.objects.values("gallery", "modality").annotate(n=Count("id")).order_by()
        for row in rows:
            entry = counts.setdefault(row["gallery"], {"face": 0, "finger": 0, "total": 0})
            entry[row["modality"]] = row["n"]
            entry["total"] += row["n"]
        self.stdout.write(json.dumps({"counts": counts}, ensure_ascii=False))

    def _shard(self, prefixes: str | None) -> Shard | None:
        if not prefixes:
            return None
        config: dict[str, Any] = settings.BIOMETRICS
        try:
            return Shard.of(parse_prefixes(prefixes), parse_nodes(config["NODES"]) if config["NODES"] else ())
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc

    def _enrol(self, unit_code: str | None) -> None:
        unit = None
        if unit_code:
            unit = Unit.objects.filter(code=unit_code).first()
            if unit is None:
                raise CommandError(f"no unit with code {unit_code}")
        with tqdm(unit=" photos", disable=not sys.stderr.isatty(), file=sys.stderr, desc="入库") as bar:
            result = register_photos_enrol(actor=None, unit=unit, progress=bar.update)
        self.stdout.write(json.dumps({"enrolled": result.enrolled, "unusable": result.unusable}))

    def _import_photos(self, path: Path, report: Path | None, encoding: str) -> None:
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        try:
            result = register_photos_import(path=path, actor=None, encoding=encoding)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        report = report or path.with_name(path.stem + ".rejected.csv")
        if result.rejections:
            with report.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["line", "reason_code", "reason"])
                writer.writerows(result.rejections)
            self.stderr.write(f"{len(result.rejections)} rejected rows written to {report}")
        self.stdout.write(json.dumps(result.counts()))
