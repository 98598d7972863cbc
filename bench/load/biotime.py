"""The biometric time of one acceptance, measured apart from the API: `python -m bench.load.biotime
[--fingers template|image] [--runs 5]` prints one JSON line.

It runs the product's own functions that `POST /api/v1/applications` calls before its
transaction (tongban/intake/api.py): `photo_prepare` (the photo standard, cropping the camera frame
into the layout, the face template, the 1:N searches of every gallery, the 1:1 with the register
photo when there is one) and `fingers_prepare` (quality and template extraction of each image, or
reading a capture client's template), on the samples the load test sends, for a pool applicant,
through the engine configured in the environment (`run` passes the same as to the web workers).
One untimed warm-up (models and the 1:N index load), then the median and max of `--runs`.
Also the handover's 1:1 finger comparison (`finger_compare`'s match)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.load import samples
from bench.load.common import read_state, setup_django


def timed(call: Callable[[], Any], runs: int) -> dict[str, float]:
    call()
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - began)
    return {
        "median_ms": round(1000 * statistics.median(seconds), 1),
        "max_ms": round(1000 * max(seconds), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.biotime", description=__doc__)
    parser.add_argument("--fingers", choices=["template", "image"], default="template")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    setup_django()
    from tongban.biometrics.engine import get_sdk
    from tongban.biometrics.interfaces import Modality, Sample, Template
    from tongban.intake import capture, rules

    made = samples.load()
    person = int(read_state()["pool"][0])
    frame = made.frames[person % len(made.frames)]
    began = time.perf_counter()
    capture.photo_prepare(frame, person_id=person)
    first_s = time.perf_counter() - began

    def photo() -> None:
        prepared = capture.photo_prepare(frame, person_id=person)
        if not prepared.passed:
            raise SystemExit(f"the sample photo failed the standard: {prepared.messages}")

    def finger(name: str, position: str) -> capture.FingerCapture:
        if args.fingers == "image":
            return capture.FingerCapture(position, rules.FingerOutcome.REGISTERED, image=made.fingers[name])
        return capture.FingerCapture(
            position, rules.FingerOutcome.REGISTERED, template=made.finger_templates[name]
        )

    def fingers() -> None:
        capture.fingers_prepare([finger(samples.REGISTERED_FINGER, "11"), finger(samples.LEFT_THUMB, "16")])

    sdk = get_sdk(Modality.FINGER)
    registered = Template(
        Modality.FINGER, made.finger_format, made.finger_templates[samples.REGISTERED_FINGER], "11"
    )

    def handover_match() -> None:
        probe = (
            sdk.extract_template(Sample(Modality.FINGER, made.fingers[samples.HANDOVER_PROBE], "11"))
            if args.fingers == "image"
            else Template(
                Modality.FINGER, made.finger_format, made.finger_templates[samples.HANDOVER_PROBE], "11"
            )
        )
        sdk.match(probe, [registered])

    out: dict[str, Any] = {
        "fingers": args.fingers,
        "runs": args.runs,
        "first_photo_ms": round(1000 * first_s, 1),
        "photo_prepare": timed(photo, args.runs),
        "fingers_prepare": timed(fingers, args.runs),
        "handover_finger": timed(handover_match, args.runs),
    }
    out["acceptance_ms"] = round(out["photo_prepare"]["median_ms"] + out["fingers_prepare"]["median_ms"], 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
