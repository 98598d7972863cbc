"""`tongban demo seed`, `tongban demo otp`, `tongban demo photo` and `tongban demo defects`: the
demo province for `make run` and try-outs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from PIL import Image, ImageOps

from tongban.biometrics.interfaces import BiometricError
from tongban.biometrics.photo import conform_photo
from tongban.demo.cardcheck import cardcheck_demo_facts
from tongban.demo.defects import plant_defects
from tongban.demo.seed import (
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    DEMO_APPLICATIONS,
    DEMO_TOTP_KEY_HEX,
    DemoRefused,
    seed_demo,
    seed_other_province,
)
from tongban.production import services as production_services
from tongban.production.models import CentreKey
from tongban.registry.models import Person, Unit

NO_SKIMAGE = (
    "演示相片取自 scikit-image 自带的 astronaut 图像，但未安装 scikit-image：请运行 "
    "`.venv/bin/pip install -e '.[dev]'`（`make run` 会安装）。 / The demo photo is made from "
    "scikit-image's astronaut image, and scikit-image is not installed: run "
    "`.venv/bin/pip install -e '.[dev]'` (`make run` does)."
)
GROUP_MARGIN = 24  # white border around and between the two portraits of the 同框 photo
# Head and shoulders of the astronaut: the badges on her suit lower down look like small faces
# to the detector (score ~0.4), and the group check wants every face found to be usable.
GROUP_CROP = (80, 0, 400, 380)


def _astronaut() -> Image.Image:
    """scikit-image's astronaut (Eileen Collins, public domain), shipped with the package."""
    try:
        from skimage import data as skimage_data
    except ImportError as exc:
        raise CommandError(NO_SKIMAGE) from exc
    return Image.fromarray(skimage_data.astronaut()).convert("RGB")


def _jpeg(image: Image.Image, quality: int = 95) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def standard_photo() -> bytes:
    """A 358×441 photo meeting the ID photo standard (GA 461), through the same conform_photo
    the counter uses on a camera frame."""
    return conform_photo(_jpeg(_astronaut()))


def together_photo() -> bytes:
    """A 同框 photo for a minor's application: the astronaut's head and shoulders and their mirror
    image side by side on white, each face as large as in the original, so the group-photo check
    finds two usable faces."""
    portrait = _astronaut().crop(GROUP_CROP)
    width, height = portrait.size
    canvas = Image.new("RGB", (2 * width + 3 * GROUP_MARGIN, height + 2 * GROUP_MARGIN), "white")
    canvas.paste(portrait, (GROUP_MARGIN, GROUP_MARGIN))
    canvas.paste(ImageOps.mirror(portrait), (width + 2 * GROUP_MARGIN, GROUP_MARGIN))
    return _jpeg(canvas, quality=90)


def _write(path: str, data: bytes) -> dict[str, Any]:
    target = Path(path)
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"无法写入 {target}：{exc.strerror} / cannot write {target}") from exc
    width, height = Image.open(io.BytesIO(data)).size
    return {"path": str(target), "width": width, "height": height, "bytes": len(data)}


def _history_photo() -> bytes | None:
    """The demo photo for the generated applications, or none where scikit-image is missing
    (then only the walkthrough's own applications can be packaged)."""
    try:
        return standard_photo()
    except (CommandError, BiometricError):
        return None


def demo_keys() -> dict[str, str]:
    """The keys data packages need, made once for the demo: the system's signing key and each
    centre's pair, whose private half (what a real centre keeps to itself) is written beside it
    as `demo-centre-<code>.json` for `tongban package open`."""
    keys_dir = production_services.system_key_path().parent
    new_system_key = not production_services.system_key_path().exists()
    if new_system_key:
        production_services.system_key_generate()
    files = {}
    for centre in Unit.objects.filter(kind=Unit.Kind.CENTRE).order_by("code"):
        out = keys_dir / f"demo-centre-{centre.code}.json"
        current = CentreKey.objects.filter(centre=centre, active=True).exists()
        if new_system_key or not current or not out.exists():
            production_services.centre_key_generate(centre=centre, out=out, force=True)
        files[centre.code] = str(out)
    return files


class Command(BaseCommand):
    help = (
        "Demo data (演示数据): `seed [--people N] [--seed S] [--if-empty]` loads 江西省's units, one account "
        "per role and N synthetic people, printing the created counts as JSON; `otp` prints the current "
        "one-time code of the demo admin and auditor; `photo OUT.jpg [--guardian OUT2.jpg]` writes a "
        "standard ID photo (and a 同框 photo with two faces) to try the counter with. Never on production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser(
            "seed", help="load demo units, accounts and people (people only into an empty register)"
        )
        seed.add_argument(
            "--people", type=int, default=DEFAULT_PEOPLE, metavar="N", help="default %(default)s"
        )
        seed.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="S", help="default %(default)s")
        seed.add_argument(
            "--applications",
            type=int,
            default=DEMO_APPLICATIONS,
            metavar="N",
            help="applications of the last 90 days generated into an empty table; default %(default)s",
        )
        seed.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already has units"
        )
        sub.add_parser("otp", help="print the current TOTP code of the demo accounts that need one")
        sub.add_parser(
            "cardcheck",
            help="居民身份证核查: the demo bank's key and a demo card holder, with a curl line to try",
        )
        province = sub.add_parser(
            "province",
            help="another province's units, one resident and its reviewer (reviewer_CODE), for a second "
            "instance playing the household province of 跨省通办 (docs/exchange.md)",
        )
        province.add_argument("code", help="2-digit province code, e.g. 44")
        sub.add_parser(
            "defects",
            help="plant 重号, 错号 and double registrations in the demo register, for `dataquality scan`",
        )
        photo = sub.add_parser(
            "photo",
            help="write a standard 358×441 ID photo (JPEG) made from scikit-image's astronaut",
        )
        photo.add_argument("out", metavar="OUT.jpg", help="where to write the standard photo")
        photo.add_argument(
            "--guardian",
            metavar="OUT2.jpg",
            help="also write a 同框 photo with two faces, for applicants under 16",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo data is never used in production")
        if options["action"] == "otp":
            self.stdout.write(f"{totp(bytes.fromhex(DEMO_TOTP_KEY_HEX)):06d}")
            return
        if options["action"] == "cardcheck":
            facts = cardcheck_demo_facts()
            if facts is None:
                raise CommandError("no demo card holder yet: run `tongban demo seed` first")
            self.stdout.write(json.dumps(facts, ensure_ascii=False, indent=1))
            return
        if options["action"] == "photo":
            self._photo(options["out"], options["guardian"])
            return
        if options["action"] == "province":
            try:
                seeded = seed_other_province(province_code=options["code"])
            except (DemoRefused, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(json.dumps(seeded, ensure_ascii=False))
            return
        if options["action"] == "defects":
            if not Person.objects.exists():
                raise CommandError("the register is empty: run `tongban demo seed` first")
            self.stdout.write(json.dumps(plant_defects()))
            return
        if options["if_empty"] and Unit.objects.exists():
            self.stdout.write(json.dumps({"skipped": "database not empty"}))
            return
        if options["people"] < 0:
            raise CommandError("--people cannot be negative")
        try:
            counts = seed_demo(
                people=options["people"],
                seed=options["seed"],
                applications=max(0, options["applications"]),
                history_photo=_history_photo() if options["applications"] > 0 else None,
            )
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({**counts, "keys": demo_keys()}, ensure_ascii=False))

    def _photo(self, out: str, guardian: str | None) -> None:
        try:
            written = {"photo": _write(out, standard_photo())}
            if guardian:
                written["guardian_photo"] = _write(guardian, together_photo())
        except BiometricError as exc:  # the face engine refused the astronaut: a broken install
            raise CommandError(f"演示相片生成失败 / could not make the demo photo: {exc.message}") from exc
        self.stdout.write(json.dumps(written, ensure_ascii=False))
