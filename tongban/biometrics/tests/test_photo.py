"""The GA 461 photo check on a real face: the conformed astronaut passes every rule, and each
departure from the standard fails the rule named for it (and, where possible, only that one)."""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from tongban.biometrics import photo
from tongban.biometrics.interfaces import BiometricError
from tongban.biometrics.photo import PhotoStandard, check_photo

from .conftest import jpeg_bytes, moved, open_image

ALL_RULES = (
    "size",
    "colour",
    "file_size",
    "background",
    "face_count",
    "face_width",
    "face_centred",
    "hairline",
    "eye_line",
    "eyes_open",
    "pose",
    "sharpness",
    "exposure",
)


@pytest.fixture(scope="module")
def standard_image(astronaut_standard: bytes) -> Image.Image:
    return open_image(astronaut_standard)


def _number(report: photo.PhotoReport, code: str) -> float:
    measured = report.rule(code).measured
    assert isinstance(measured, float), measured
    return measured


def _figures(report: photo.PhotoReport, code: str) -> dict[str, float]:
    measured = report.rule(code).measured
    assert isinstance(measured, dict), measured
    return measured


def _failed(image: Image.Image, standard: PhotoStandard) -> set[str]:
    """The failed rules of `image` saved as GA 461 says (JPEG, quality 70)."""
    return set(check_photo(jpeg_bytes(image, quality=70), standard).failed)


def test_conformed_astronaut_passes_every_rule(astronaut_standard: bytes, standard: PhotoStandard) -> None:
    report = check_photo(astronaut_standard, standard)
    assert report.passed, [rule.message for rule in report.rules if not rule.passed]
    assert tuple(rule.code for rule in report.rules) == ALL_RULES
    assert report.size == (358, 441)
    assert _number(report, "face_width") == pytest.approx(207, abs=4)
    assert standard.hairline_min <= _number(report, "hairline") <= standard.hairline_max
    assert 14 <= len(astronaut_standard) / 1024 <= 20  # GA 461's quality 70 gives its typical size
    assert report.landmarks and len(report.landmarks) == 68 and report.face_box
    assert all("符合要求" in rule.message for rule in report.rules)


def test_report_is_json_ready(astronaut_standard: bytes, standard: PhotoStandard) -> None:
    data = json.loads(json.dumps(check_photo(astronaut_standard, standard).to_dict()))
    assert data["passed"] is True and len(data["rules"]) == len(ALL_RULES)
    assert set(data["rules"][0]) == {"code", "passed", "measured", "expected", "message"}


@pytest.mark.parametrize(
    "colour", [(150, 150, 150), (200, 200, 200), (190, 215, 245)], ids=["grey", "light-grey", "blue"]
)
def test_coloured_background_fails_background_only(
    astronaut_jpeg: bytes, standard: PhotoStandard, colour
) -> None:
    report = check_photo(photo.conform_photo(astronaut_jpeg, standard, background=colour), standard)
    assert set(report.failed) == {"background"}
    assert "背景" in report.rule("background").message


@pytest.mark.parametrize("scale", [0.85, 1.12])
def test_face_too_small_or_too_large_fails_face_width(
    standard_image: Image.Image, standard, scale: float
) -> None:
    # Scaled about the head top, so the hairline stays where it was.
    assert _failed(moved(standard_image, scale=scale, about=(179, 14)), standard) == {"face_width"}


def test_small_face_message_tells_the_clerk_what_to_do(standard_image: Image.Image, standard) -> None:
    report = check_photo(jpeg_bytes(moved(standard_image, scale=0.85, about=(179, 14)), 70), standard)
    rule, width = report.rule("face_width"), _number(report, "face_width")
    assert width < 193 and rule.expected == "193–221 px"
    assert rule.message.startswith(f"人像宽度 {width:.0f} 像素，应为 193–221 像素")
    assert "靠近相机" in rule.message


@pytest.mark.parametrize("dx", [-25, 25])
def test_shifted_face_fails_face_centred(standard_image: Image.Image, standard, dx: int) -> None:
    assert _failed(moved(standard_image, dx=dx), standard) == {"face_centred"}


@pytest.mark.parametrize("dy", [-15, 15])
def test_head_too_high_or_too_low_fails_hairline(standard_image: Image.Image, standard, dy: int) -> None:
    assert _failed(moved(standard_image, dy=dy), standard) == {"hairline"}


def test_face_too_low_fails_eye_line(standard_image: Image.Image, standard) -> None:
    assert "eye_line" in _failed(moved(standard_image, dy=30), standard)


def test_tall_hair_may_be_cut_only_when_the_eye_line_leaves_no_room(
    standard_image: Image.Image, standard
) -> None:
    """GA 461: the eye line has priority; hair standing too high may be cut off."""

    def with_tall_hair(image: Image.Image) -> Image.Image:
        image = image.copy()
        ImageDraw.Draw(image).ellipse((130, 2, 230, 60), fill=(90, 70, 40))  # hair up to row 2
        return image

    report = check_photo(jpeg_bytes(with_tall_hair(standard_image), 70), standard)
    assert not report.rule("hairline").passed  # eyes are 24 px above their line: move down instead
    lowered = moved(standard_image, dy=22)  # eyes now 2 px above their line, too little to move down
    report = check_photo(jpeg_bytes(with_tall_hair(lowered), 70), standard)
    assert report.rule("hairline").passed and _number(report, "hairline") < standard.hairline_min
    assert "切除部分头发" in report.rule("hairline").message


def test_blurred_photo_fails_sharpness(standard_image: Image.Image, standard) -> None:
    assert _failed(standard_image.filter(ImageFilter.GaussianBlur(2.5)), standard) == {"sharpness"}


@pytest.mark.parametrize("factor", [0.35, 1.45], ids=["dark", "bright"])
def test_badly_exposed_photo_fails_exposure(standard_image: Image.Image, standard, factor: float) -> None:
    assert "exposure" in _failed(ImageEnhance.Brightness(standard_image).enhance(factor), standard)


def test_tilted_head_fails_pose(standard_image: Image.Image, standard) -> None:
    tilted = standard_image.rotate(8, center=(179, 210), resample=Image.Resampling.BICUBIC, fillcolor="white")
    report = check_photo(jpeg_bytes(tilted, 70), standard)
    assert "pose" in report.failed and abs(_figures(report, "pose")["roll_degrees"]) > 5


def test_turned_head_and_closed_eyes_of_real_people_fail(t1_jpeg: bytes, standard: PhotoStandard) -> None:
    """t1.jpg's people look sideways or laugh with narrowed eyes: conformed, their photos fail
    pose and eyes_open (and background: a living room is no white wall)."""
    t1 = open_image(t1_jpeg)
    from tongban.biometrics import face

    faces = sorted(face.detect_faces(face.rgb_array(t1), upsample=1), key=lambda f: f.box[0])
    failures = []
    for found in faces:
        left, top, right, bottom = found.box
        margin = right - left
        crop = t1.crop((max(0, left - margin), max(0, top - margin), right + margin, bottom + margin))
        failures.append(set(check_photo(photo.conform_photo(jpeg_bytes(crop), standard), standard).failed))
    assert all("background" in failed for failed in failures)
    assert sum("pose" in failed for failed in failures) >= 3
    assert sum("eyes_open" in failed for failed in failures) >= 2


def test_greyscale_photo_fails_colour(standard_image: Image.Image, standard) -> None:
    report = check_photo(jpeg_bytes(standard_image.convert("L"), 70), standard)
    assert set(report.failed) == {"colour"} and report.rule("colour").measured == "L/8"


def test_file_size_outside_the_range_fails_file_size(standard_image: Image.Image, standard) -> None:
    assert _failed(standard_image, PhotoStandard(file_kb_min=30)) == {"file_size"}
    assert set(check_photo(jpeg_bytes(standard_image, 20), standard).failed) == {"file_size"}


def test_wrong_size_fails_size(standard_image: Image.Image, standard) -> None:
    bigger = Image.new("RGB", (400, 441), "white")
    bigger.paste(standard_image, (21, 0))
    assert _failed(bigger, standard) == {"size"}


def test_group_photo_fails_face_count_and_skips_face_rules(t1_jpeg: bytes, standard: PhotoStandard) -> None:
    report = check_photo(t1_jpeg, PhotoStandard(max_bytes=10**6, max_pixels=2_000_000))
    assert _number(report, "face_count") >= 2 and not report.rule("face_count").passed
    assert {rule.code for rule in report.rules} == {"size", "colour", "file_size", "background", "face_count"}
    assert report.face_box is None


def test_no_face_fails_face_count(standard: PhotoStandard) -> None:
    report = check_photo(jpeg_bytes(Image.new("RGB", (358, 441), "white"), 70), standard)
    assert report.rule("face_count").measured == 0 and "未检测到人脸" in report.rule("face_count").message


def _bomb() -> bytes:
    data = bytearray(jpeg_bytes(Image.new("RGB", (8, 8), "white")))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (50_000).to_bytes(2, "big") * 2
    return bytes(data)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda good: good[: len(good) // 2], "corrupt_image"),
        (lambda good: b"\x89PNG\r\n\x1a\n" + good, "not_jpeg"),
        (lambda good: os.urandom(5000), "not_jpeg"),
        (lambda good: b"", "not_jpeg"),
        (lambda good: good + bytes(80 * 1024 * 1024), "image_too_large"),
        (lambda good: _bomb(), "image_too_large"),
    ],
    ids=["truncated", "png", "random", "empty", "80MB", "bomb-50000x50000"],
)
def test_bad_input_gives_one_failed_decode_rule(astronaut_standard: bytes, standard, make, code: str) -> None:
    report = check_photo(make(astronaut_standard), standard)
    assert not report.passed
    [rule] = report.rules
    assert (rule.code, rule.measured) == ("decode", code) and rule.message
    json.dumps(report.to_dict())


def test_real_png_photo_is_refused(standard_image: Image.Image, standard) -> None:
    out = io.BytesIO()
    standard_image.save(out, "PNG")
    assert check_photo(out.getvalue(), standard).failed == ("decode",)


def test_chip_photo_is_a_faithful_102_by_126_copy(astronaut_standard: bytes, standard: PhotoStandard) -> None:
    chip = photo.chip_photo(astronaut_standard, standard)
    image = Image.open(io.BytesIO(chip))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (102, 126))
    reference = np.asarray(
        open_image(astronaut_standard).resize((102, 126), Image.Resampling.BOX), dtype=float
    )
    mse = float(((np.asarray(image, dtype=float) - reference) ** 2).mean())
    assert 10 * np.log10(255**2 / mse) > 30  # PSNR in dB


def test_chip_photo_needs_a_standard_photo(astronaut_jpeg: bytes, standard: PhotoStandard) -> None:
    with pytest.raises(BiometricError) as caught:
        photo.chip_photo(astronaut_jpeg, standard)
    assert caught.value.code == "not_standard_size"


def test_conform_refuses_group_photos_and_non_images(t1_jpeg: bytes, standard: PhotoStandard) -> None:
    with pytest.raises(BiometricError) as caught:
        photo.conform_photo(t1_jpeg, standard)
    assert caught.value.code == "several_faces"
    with pytest.raises(BiometricError) as caught:
        photo.conform_photo(b"%PDF-1.7", standard)
    assert caught.value.code == "unsupported_format"


def test_overrides_change_the_outcome(astronaut_standard: bytes) -> None:
    strict = PhotoStandard.with_overrides({"face_width": 180, "face_width_tolerance": 10})
    report = check_photo(astronaut_standard, strict)
    assert report.failed == ("face_width",) and report.rule("face_width").expected == "170–190 px"


def test_standard_from_settings(settings) -> None:
    settings.PHOTO_STANDARD = PhotoStandard.with_overrides({"sharpness_min": 40, "max_pixels": 1000000})
    loaded = PhotoStandard.from_settings()
    assert (
        loaded.sharpness_min == 40.0 and loaded.max_pixels == 1_000_000 and isinstance(loaded.max_pixels, int)
    )
    assert loaded.face_width == 207


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"face_widht": 200}, "unknown photo standard setting(s) face_widht"),
        ({"face_width": "wide"}, "must be a number"),
        ({"face_width": True}, "must be a number"),
    ],
)
def test_bad_overrides_are_refused_by_name(overrides: dict[str, object], fragment: str) -> None:
    """The settings turn this into a start-up error naming TONGBAN_PHOTO_STANDARD (tests/test_settings.py)."""
    with pytest.raises(ValueError, match=re.escape(fragment)):
        PhotoStandard.with_overrides(overrides)


def test_conform_takes_a_large_sideways_camera_photo(astronaut: Image.Image, standard: PhotoStandard) -> None:
    """A 12-megapixel portrait stored sideways with an EXIF Orientation tag, as phones do."""
    large = astronaut.resize((3456, 3456), Image.Resampling.BICUBIC).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # view rotated 90° clockwise, which undoes the rotation above
    out = io.BytesIO()
    large.save(out, "JPEG", quality=90, exif=exif)
    report = check_photo(photo.conform_photo(out.getvalue(), standard), standard)
    assert report.passed, [rule.message for rule in report.rules if not rule.passed]
