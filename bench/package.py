"""Production data package benchmark: `python -m bench.package [--cards N] [--repeat R]`.

With `--from-db`, `batch_package` itself on N issued applications in a PostgreSQL database of
its own, against the old path (each card's photo read, its chip copy derived and the two encrypted
while packaging): see bench/package_db.py.

Otherwise, in one run (no database, no Django settings needed):

1. synthetic cards made in memory once: a few standard-size (358×441) JPEG photos and their
   102×126 chip copies made once with PIL, then per card a 64-byte random COM segment in each
   JPEG and random finger templates, so no two cards share bytes and nothing can be
   deduplicated; then each card's production segment as the counter makes it when it keeps the
   photo (`seal_card_images`: SM3 of both, SM4-GCM under a key of the card's own), timed apart
   as the counter's cost a card;
2. timings over R runs (median), each writing a file under a temporary directory:
   - baseline: the same photos, chip photos, templates and manifest written as a plain ZIP (no
     digests, no signature, no encryption);
   - package: `write_package`, the function `batch_package` calls: each card's segment copied,
     its key wrapped under a random content key (SM4-GCM), the manifest and templates in an
     archive (SM3 of each template, the manifest signed with SM2, SM4-GCM), the content key
     wrapped with the centre's SM2 key, the body's SM3, the header signed (SM2);
   - open: `open_package` as `tongban package open` runs it (every signature, digest and tag
     checked, every segment decrypted, nothing extracted);
   and the package's cost against the baseline (ratio, and seconds per 10,000 cards);
3. chip photo derivation (`biometrics.photo.chip_photo`, which the counter runs once a photo) on
   200 photos, reported apart.

It prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import random
import statistics
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench import package_db
from tongban.core.crypto import sm2_generate
from tongban.production.package import (
    CardImages,
    PackageCard,
    PackageFinger,
    open_package,
    seal_card_images,
    write_package,
)

BASES = 8


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, dpi=(350, 350))
    return out.getvalue()


def base_photos(seed: int) -> list[tuple[bytes, bytes]]:
    """(photo, chip photo) pairs: a smooth 'portrait' with some texture, at GA 461's size."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(BASES):
        y, x = np.mgrid[0:441, 0:358]
        face = ((x - 179) ** 2 / 100**2 + (y - 200) ** 2 / 130**2) < 1
        pixels = np.full((441, 358, 3), 250, dtype=np.float64)
        pixels[face] = rng.integers(150, 210, size=3)
        pixels += rng.normal(0, 6, size=pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        pairs.append((_jpeg(image, 70), _jpeg(image.resize((102, 126), Image.Resampling.LANCZOS), 90)))
    return pairs


def _unique(jpeg: bytes, rng: random.Random) -> bytes:
    """The JPEG with a random 64-byte comment right after SOI: a different file, same picture."""
    return jpeg[:2] + b"\xff\xfe\x00\x42" + rng.randbytes(64) + jpeg[2:]


@dataclass(frozen=True)
class PlainCard:
    card: PackageCard  # its images still empty
    photo: bytes
    chip: bytes


NO_IMAGES = CardImages(b"", b"", 0, 0, "", "")


def plain_cards(count: int, bases: list[tuple[bytes, bytes]], seed: int) -> Iterator[PlainCard]:
    rng = random.Random(seed)
    for n in range(count):
        photo, chip = bases[n % len(bases)]
        card = PackageCard(
            number=f"360102001{20260302:08d}{n:05d}",
            name=f"测试{n}",
            sex_code="1",
            sex_name="男",
            ethnicity_code="01",
            ethnicity_name="汉",
            birth_date=datetime.date(1990, 5, 17),
            address=f"江西省南昌市东湖区中山路{n}号",
            id_number=f"36010219900517{n % 10000:04d}",
            issuing_authority="南昌市公安局东湖分局",
            valid_from=datetime.date(2026, 3, 2),
            valid_until=datetime.date(2046, 3, 2),
            acceptance_unit_code="360102001",
            acceptance_unit_name="东湖区城关派出所",
            images=NO_IMAGES,
            fingers=(
                PackageFinger("11", "registered", format="afis-mcc", template=rng.randbytes(1200)),
                PackageFinger("16", "registered", format="afis-mcc", template=rng.randbytes(1200)),
            ),
        )
        yield PlainCard(card, _unique(photo, rng), _unique(chip, rng))


def write_plain(path: Path, cards: list[PlainCard]) -> None:
    """The baseline: the same files and manifest in a plain ZIP, with nothing digested, signed or
    encrypted."""
    with path.open("wb") as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            rows = []
            for plain in cards:
                card = plain.card
                entries = {
                    f"photos/{card.number}.jpg": plain.photo,
                    f"chip/{card.number}.jpg": plain.chip,
                    **{f"fingers/{card.number}-{f.position}.tpl": f.template or b"" for f in card.fingers},
                }
                for name, data in entries.items():
                    archive.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data)
                rows.append(
                    {
                        "number": card.number,
                        "name": card.name,
                        "address": card.address,
                        "id_number": card.id_number,
                        "valid_from": card.valid_from.isoformat(),
                        "entries": {name: len(data) for name, data in entries.items()},
                    }
                )
            manifest = json.dumps({"cards": rows}, ensure_ascii=False, indent=1).encode()
            archive.writestr(zipfile.ZipInfo("manifest.json", date_time=(2000, 1, 1, 0, 0, 0)), manifest)
        handle.flush()
        os.fsync(handle.fileno())


def run(args: argparse.Namespace) -> dict[str, Any]:
    system, centre = sm2_generate(), sm2_generate()
    bases = base_photos(args.seed)
    created = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    start = time.perf_counter()
    plain = list(plain_cards(args.cards, bases, args.seed))
    generate = time.perf_counter() - start
    start = time.perf_counter()
    cards = [replace(p.card, images=seal_card_images(p.photo, p.chip)) for p in plain]
    counter = time.perf_counter() - start
    timings: dict[str, list[float]] = {"baseline": [], "package": [], "open": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        for _ in range(args.repeat):
            baseline = folder / "plain.zip"
            start = time.perf_counter()
            write_plain(baseline, plain)
            timings["baseline"].append(time.perf_counter() - start)
            sizes["baseline"] = baseline.stat().st_size
            baseline.unlink()

            packaged = folder / "batch.tbpkg"
            start = time.perf_counter()
            info = write_package(
                packaged, batch="B1", centre="360000901", created_at=created,
                cards=cards, system_key=system, centre_public=centre.public,
            )  # fmt: skip
            timings["package"].append(time.perf_counter() - start)
            sizes["package"] = info.size

            start = time.perf_counter()
            opened = open_package(packaged, centre_key=centre, system_public=system.public)
            timings["open"].append(time.perf_counter() - start)
            assert len(opened.manifest["cards"]) == args.cards
            packaged.unlink()

    from tongban.biometrics.photo import PhotoStandard, chip_photo

    standard = PhotoStandard()
    photos = [_unique(bases[n % BASES][0], random.Random(n)) for n in range(200)]
    start = time.perf_counter()
    for photo in photos:
        chip_photo(photo, standard)
    chip_ms = (time.perf_counter() - start) / len(photos) * 1000

    median = {name: statistics.median(values) for name, values in timings.items()}
    return {
        "cards": args.cards,
        "repeat": args.repeat,
        "seconds": {name: round(value, 3) for name, value in median.items()},
        "cards_per_second": {name: round(args.cards / value) for name, value in median.items()},
        "bytes": sizes,
        "mb_per_second": {
            "baseline": round(sizes["baseline"] / median["baseline"] / 1e6, 1),
            "package": round(sizes["package"] / median["package"] / 1e6, 1),
            "open": round(sizes["package"] / median["open"] / 1e6, 1),
        },
        "ratio_package_to_baseline": round(median["package"] / median["baseline"], 2),
        "ratio_open_to_baseline": round(median["open"] / median["baseline"], 2),
        "generate_s": round(generate, 3),
        "counter_segment_us_per_card": round(counter / args.cards * 1e6),
        "chip_photo_ms_per_card": round(chip_ms, 2),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()[0]},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.package", description=__doc__)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", help="where the temporary files go (default: the system's temp dir)")
    parser.add_argument(
        "--from-db",
        action="store_true",
        help="time batch_package on N issued applications in a database of its own (bench/package_db.py)",
    )
    package_db.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.from_db:
        figures = package_db.run(args)
        package_db.report(figures)
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    figures = run(args)
    print(
        f"{args.cards} cards, {args.repeat} runs (median); package {figures['bytes']['package'] / 1e6:.0f} MB"
    )
    print(f"{'step':<12}{'seconds':>10}{'cards/s':>10}")
    for name in ("baseline", "package", "open"):
        print(f"{name:<12}{figures['seconds'][name]:>10.2f}{figures['cards_per_second'][name]:>10}")
    print(
        f"package / baseline: {figures['ratio_package_to_baseline']}×; "
        f"open / baseline: {figures['ratio_open_to_baseline']}×; "
        f"at the counter, once a photo (not in these rows): chip photo "
        f"{figures['chip_photo_ms_per_card']} ms, segment {figures['counter_segment_us_per_card']} µs"
    )
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
