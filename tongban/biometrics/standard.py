"""The figures of the photo standard (GA 461, now GA/T 461-2019) that photo.py measures against.

Apart from photo.py (numpy, PIL, dlib) so that the settings can build the configured standard at
start-up (TONGBAN_PHOTO_STANDARD) without loading the image stack: a bad value stops start-up
instead of the first photo check. No Django import at module level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# HOG confidence below which a detection is not counted as a face. Calibrated on the samples: the
# astronaut's mission patch gives false detections at 0.04–0.12; real faces score 0.37–2.8 with
# one upsampling (t1.jpg), 1.5+ for a standard photo's 207 px face.
DEFAULT_MIN_SCORE = 0.3


@dataclass(frozen=True)
class PhotoStandard:
    """Every threshold of the photo check; pixels refer to the standard 358×441 photo.

    Defaults follow GA 461 / GA/T 461-2019 where it gives a figure; the others (file size,
    background, pose, sharpness, exposure) were calibrated on real sample faces and are
    configuration: TONGBAN_PHOTO_STANDARD overrides any of them (settings.PHOTO_STANDARD).
    """

    width: int = 358
    height: int = 441
    # GA 461 prescribes JPEG quality 70, "generally 14–20 KB" (the conformed astronaut: 17 KB).
    # Other systems' encoders differ (the social security card's standard, same layout, says
    # 14–40 KB), so 10–40 KB is accepted: refused are blocky over-compressed files and files saved
    # at needlessly high quality, which bloat the production data packages.
    file_kb_min: float = 10.0
    file_kb_max: float = 40.0
    face_width: float = 207.0
    face_width_tolerance: float = 14.0
    # px between the eyes' midpoint and the photo's centre line; GA 461 only says "centred", the
    # social security card's photo standard (same 358×441 layout) allows 162–196 px, i.e. ±17.
    centre_tolerance: float = 17.0
    hairline_min: float = 7.0
    hairline_max: float = 21.0
    eye_line_min: float = 207.0  # px above the bottom edge
    background_min_brightness: float = 220.0
    background_max_saturation: float = 0.10
    background_max_spread: float = 12.0
    eyes_open_min: float = 0.20  # eye aspect ratio; open eyes ~0.25–0.40, closed < 0.15
    yaw_max: float = 0.08  # |nose position − 0.5|; roughly 0.06 per 5° of turn
    roll_max_degrees: float = 5.0
    sharpness_min: float = 25.0
    exposure_min: float = 80.0
    exposure_max: float = 210.0
    clipped_max: float = 0.05
    face_min_score: float = DEFAULT_MIN_SCORE  # HOG confidence for a detection to count as a face
    # Decoding limits: a standard photo is ~20 KB and 0.16 megapixels.
    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 4_000_000
    # Photos that are not standard photos (FaceSDK.check_quality): each face must be at least
    # this wide and this confidently detected to give a usable template.
    free_min_face_width: float = 80.0
    free_min_face_score: float = 0.5

    @classmethod
    def from_settings(cls) -> PhotoStandard:
        """The standard in force: settings.PHOTO_STANDARD, built from TONGBAN_PHOTO_STANDARD at start-up."""
        from django.conf import settings

        standard: PhotoStandard = settings.PHOTO_STANDARD
        return standard

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, Any]) -> PhotoStandard:
        """The defaults with `overrides` (name → number) applied; ValueError names what is wrong."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise ValueError(
                f"unknown photo standard setting(s) {', '.join(unknown)}; known: {', '.join(fields)}"
            )
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"photo standard setting {name} must be a number, got {value!r}")
            values[name] = int(value) if fields[name].type == "int" else float(value)
        return dataclasses.replace(cls(), **values)
