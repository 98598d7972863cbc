"""Photo check and face embedding benchmark: `python -m bench.photo_face [--runs N]`.

On CPU, single-threaded (BLAS/OpenMP pools pinned to one thread before numpy and dlib load; the
CPU-time/wall-time ratio is printed to show it), no Django, no database. Images:

- `standard`: scikit-image's astronaut conformed to the GA 461 layout (358×441 JPEG, ~17 KB);
- `portrait`: the astronaut as a 512×512 JPEG (a photo outside the standard layout);
- `group`: insightface's t1.jpg, 1280×886 with six people (if its wheel is cached in or can be
  fetched into var/test-assets/; skipped otherwise).

Per image and step, median and p95 of wall-clock and of CPU time over `--runs` runs (default
50) after one warm-up run (on a shared machine the CPU figures are the comparable ones):
baseline (plain Pillow decode + resize to the chip size: the cheapest useful thing one can do
with the bytes), safe decode (`decode_jpeg`), HOG detection (no upsampling, and with one for
the group photo), 68 landmarks, 128-d embedding (per face), the whole `check_photo`, and
`FaceSDK.extract_template`; each with its ratio to the baseline. It prints a table, then one
JSON line with every figure.
"""

from __future__ import annotations

import os

# Pin thread pools before numpy and dlib are imported: the figures are per core.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tongban.biometrics import face, photo  # noqa: E402
from tongban.biometrics.imaging import decode_jpeg  # noqa: E402
from tongban.biometrics.interfaces import Modality, Sample  # noqa: E402

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4_000_000


def _stats(samples: Sequence[float], prefix: str = "") -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        f"{prefix}median_ms": round(statistics.median(ordered) * 1000, 3),
        f"{prefix}p95_ms": round(p95 * 1000, 3),
    }


def _measure(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    """Wall-clock and CPU-time statistics of `fn` over `runs` runs, after one warm-up run.

    CPU time of a single-threaded step equals its wall time on an idle core; on a shared
    machine the CPU figures stay comparable while the wall figures grow.
    """
    fn()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {**_stats(walls), **_stats(cpus, "cpu_"), "cpu_per_wall": round(sum(cpus) / sum(walls), 2)}


def _jpeg(image: Image.Image, quality: int = 95) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def load_images() -> dict[str, bytes]:
    from skimage import data

    from tongban.testing.assets import AssetUnavailable, pypi_archive

    portrait = _jpeg(Image.fromarray(np.asarray(data.astronaut())))
    images = {"standard": photo.conform_photo(portrait, photo.PhotoStandard()), "portrait": portrait}
    try:
        with zipfile.ZipFile(pypi_archive("insightface", "2.1", sdist=False)) as archive:
            images["group"] = archive.read("insightface/data/images/t1.jpg")
    except (AssetUnavailable, OSError) as exc:
        print(f"group photo skipped: {exc}")
    return images


def bench_image(name: str, data: bytes, runs: int) -> dict[str, Any]:
    standard = photo.PhotoStandard(max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    sdk = face.FaceSDK(threshold=face.DLIB_COSINE_THRESHOLD, standard=standard)
    rgb = face.rgb_array(decode_jpeg(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).image)
    upsample = 1 if name == "group" else 0  # t1's faces are ~100 px: one upsampling finds all six
    faces = face.detect_faces(rgb, upsample=upsample)
    points = face.face_landmarks(rgb, faces[0])
    steps: dict[str, Callable[[], Any]] = {
        "baseline_pil_decode_resize": lambda: (
            Image.open(io.BytesIO(data)).convert("RGB").resize(photo.CHIP_SIZE)
        ),
        "decode": lambda: decode_jpeg(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS),
        "detect": lambda: face.detect_faces(rgb, upsample=0),
        "landmarks": lambda: face.face_landmarks(rgb, faces[0]),
        "embedding": lambda: face.face_vector(rgb, faces[0], points),
        "check_photo": lambda: photo.check_photo(data, standard),
    }
    if name == "group":
        steps["detect_upsample1"] = lambda: face.detect_faces(rgb, upsample=1)
    else:  # a group photo has no single face to extract
        steps["extract_template"] = lambda: sdk.extract_template(Sample(Modality.FACE, data))
    result: dict[str, Any] = {
        "size": [rgb.shape[1], rgb.shape[0]],
        "bytes": len(data),
        "faces": len(faces),
        "steps": {},
    }
    for step, fn in steps.items():
        result["steps"][step] = _measure(fn, runs)
    baseline = result["steps"]["baseline_pil_decode_resize"]
    for timing in result["steps"].values():
        timing["ratio_to_baseline"] = round(timing["median_ms"] / baseline["median_ms"], 1)
        timing["cpu_ratio_to_baseline"] = round(
            timing["cpu_median_ms"] / max(1e-3, baseline["cpu_median_ms"]), 1
        )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    images = load_images()
    results = {name: bench_image(name, data, args.runs) for name, data in images.items()}
    print(
        f"{'image':9} {'step':27} {'median ms':>9} {'p95 ms':>8} {'× base':>7} "
        f"{'cpu med':>8} {'cpu p95':>8} {'× base':>7} {'cpu/wall':>8}"
    )
    for name, result in results.items():
        for step, t in result["steps"].items():
            print(
                f"{name:9} {step:27} {t['median_ms']:9.2f} {t['p95_ms']:8.2f} {t['ratio_to_baseline']:7.1f} "
                f"{t['cpu_median_ms']:8.2f} {t['cpu_p95_ms']:8.2f} {t['cpu_ratio_to_baseline']:7.1f} "
                f"{t['cpu_per_wall']:8.2f}"
            )
    summary = {
        "benchmark": "photo_face",
        "runs": args.runs,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "images": results,
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
