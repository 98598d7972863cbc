"""`tongban biometrics rebuild-index [--gallery G]` and `tongban biometrics count`: JSON out."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from tongban.biometrics.abis import BuiltinABIS
from tongban.biometrics.interfaces import Gallery
from tongban.biometrics.models import BiometricTemplate

GALLERY_NAMES = [g.value for g in Gallery]


class Command(BaseCommand):
    help = (
        "Biometric engine tools: `rebuild-index` rebuilds the 1:N face indexes from the stored "
        "templates and saves them; `count` prints the stored templates per gallery and modality."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild-index", help="rebuild the face index of one gallery or of all")
        rebuild.add_argument("--gallery", choices=GALLERY_NAMES, help="only this gallery")
        sub.add_parser("count", help="stored templates per gallery and modality")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild-index":
            names = [options["gallery"]] if options.get("gallery") else GALLERY_NAMES
            abis = BuiltinABIS()
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
