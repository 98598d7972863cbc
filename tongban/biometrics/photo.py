"""The resident ID card photo standard (GA 461, now GA/T 461-2019) as measurable rules.

`check_photo` measures a JPEG against every rule of DOMAIN.md §5 and reports, per rule, the
measured value, the expected range and a Chinese message telling the clerk what to change.
`chip_photo` derives the 102×126 copy written to the card's chip; `conform_photo` crops, scales,
levels and whitens an arbitrary portrait into the standard layout (for a clerk's camera, and for
tests: the real test faces do not come in the standard layout).

How the rules are measured (face geometry from dlib's 68 landmarks, see face.py):

- face width ("脸部宽"): the distance between landmarks 0 and 16, the face contour at the level
  of the ear roots, i.e. the width of the face without ears or hair. Calibrated on the sample
  faces (the astronaut and the six of insightface's t1.jpg): for frontal faces it is 2.1–2.4×
  the distance between the eye centres, the anthropometric ratio of face (bizygomatic) width to
  eye distance, and 0.92–1.03× the HOG detector box (median 1.01; 0.80 for a turned head). The box
  is a detector-window convention that shifts with pose, so the landmarks are used.
- face centred: the midpoint of the eye centres against the photo's vertical centre line (the
  social security card standard, same layout, states its tolerance this way).
- hairline ("头顶发际", the top of the head including hair, not the forehead hairline): scanning
  down from the top edge, in the band between the outer eye corners, for the first row where at
  least a quarter of the pixels differ clearly from the background colour (sampled in the upper
  corners). The scan stops at the eyebrows; if no such row exists (hair the colour of the
  background) the rule fails as "not measurable" rather than guessing: a landmark-based estimate
  (brows minus a share of the brow–chin distance) varies by ±20 px with hairstyle, more than the
  14 px window. GA 461 gives the eye line priority: hair standing too high may be cut off when
  the photo cannot move down without pushing the eyes below their line, and the rule allows it.
- eye line: the mean height of the two eye centres (landmarks 36–41, 42–47), counted from the
  bottom edge.
- background: the two upper corners (15 % of the width, 10 % of the height), which the layout
  leaves clear even of voluminous hair: mean luminance, mean HSV saturation and the spread
  (standard deviation) of luminance.
- eyes open: the eye aspect ratio (Soukupová & Čech 2016) of the less open eye.
- looking forward: yaw as the nose tip's (landmark 30) position between the jaw points 0 and 16
  (0.5 = frontal) and roll as the tilt of the line through the eye centres; pitch is not measured.
- sharpness: variance of the Laplacian inside the face polygon (jaw line closed over the brows)
  after scaling the face to the standard face width, so the figure means the same for any photo
  size. The conformed astronaut (a 2.2× upscale) scores 72, a Gaussian blur of 1.5 px 20, of
  2 px 13; the limit is 25.
- exposure: mean luminance inside the face polygon and the share of clipped (≥ 250 or ≤ 5)
  pixels.

Malformed, truncated, oversize or non-JPEG input never raises: `check_photo` returns a report
with a single failed "decode" rule carrying the decoder's code and message.
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tongban.biometrics import face as engine
from tongban.biometrics.imaging import DecodedImage, decode_image, decode_jpeg
from tongban.biometrics.interfaces import BiometricError, Modality, QualityResult
from tongban.biometrics.standard import DEFAULT_MIN_SCORE, PhotoStandard

Measured = float | str | dict[str, float] | None

CHIP_SIZE = (102, 126)  # the copy written to the card's chip (DOMAIN.md §5)
WHITE = (255, 255, 255)
# conform_photo takes camera photos: up to 30 MB and 50 megapixels.
CONFORM_MAX_BYTES = 30 * 1024 * 1024
CONFORM_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    measured: Measured  # a number, a short text (e.g. "RGB/24"), several named figures, or None
    expected: str
    message: str  # Chinese, for the clerk; says what to change when the rule failed

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PhotoReport:
    rules: tuple[RuleResult, ...]
    size: tuple[int, int] | None = None
    face_box: tuple[int, int, int, int] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None

    @property
    def passed(self) -> bool:
        return all(rule.passed for rule in self.rules)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.rules if not rule.passed)

    def rule(self, code: str) -> RuleResult:
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rules": [rule.to_dict() for rule in self.rules],
            "size": list(self.size) if self.size else None,
            "face_box": list(self.face_box) if self.face_box else None,
            "landmarks": [list(point) for point in self.landmarks] if self.landmarks else None,
        }


# ---------------------------------------------------------------------------------------------
# Checking a photo


def check_photo(jpeg_bytes: bytes, standard: PhotoStandard | None = None) -> PhotoReport:
    """Every GA 461 rule for one photo; never raises for bad input (see the module docstring).

    When the photo holds no face or several, the face rules (width, centring, hairline, eye line,
    eyes, pose, sharpness, exposure) are left out: "face_count" already says what to fix.
    """
    std = standard or PhotoStandard.from_settings()
    try:
        decoded = decode_jpeg(jpeg_bytes, max_bytes=std.max_bytes, max_pixels=std.max_pixels)
    except BiometricError as exc:
        return PhotoReport(rules=(RuleResult("decode", False, exc.code, "JPEG", exc.message),))
    rgb = engine.rgb_array(decoded.image)
    grey = _luminance(rgb)
    background = _background_sample(rgb)
    rules = [
        _rule_size(decoded, std),
        _rule_colour(decoded),
        _rule_file_size(len(jpeg_bytes), std),
        _rule_background(background, std),
    ]
    faces = engine.detect_faces(rgb, min_score=std.face_min_score)
    rules.append(_rule_face_count(len(faces)))
    if len(faces) != 1:
        return PhotoReport(rules=tuple(rules), size=decoded.size)
    points = engine.face_landmarks(rgb, faces[0])
    rules += [
        _rule_face_width(points, std),
        _rule_face_centred(points, rgb.shape[1], std),
        _rule_hairline(rgb, points, background, std),
        _rule_eye_line(points, rgb.shape[0], std),
        _rule_eyes_open(points, std),
        _rule_pose(points, std),
        _rule_sharpness(face_sharpness(grey, points, std.face_width), std),
        _rule_exposure(*face_exposure(grey, points), std),
    ]
    return PhotoReport(
        rules=tuple(rules),
        size=decoded.size,
        face_box=faces[0].box,
        landmarks=tuple((float(x), float(y)) for x, y in points),
    )


def _rule_size(decoded: DecodedImage, std: PhotoStandard) -> RuleResult:
    width, height = decoded.size
    expected = f"{std.width}×{std.height}"
    passed = (width, height) == (std.width, std.height)
    message = (
        f"相片尺寸 {width}×{height} 像素，符合要求"
        if passed
        else f"相片尺寸 {width}×{height} 像素，应为 {expected} 像素：请按标准尺寸重新裁剪"
    )
    return RuleResult("size", passed, f"{width}×{height}", expected, message)


def _rule_colour(decoded: DecodedImage) -> RuleResult:
    passed = decoded.mode == "RGB" and decoded.bit_depth == 24
    measured = f"{decoded.mode}/{decoded.bit_depth}"
    message = (
        "相片为 24 位彩色，符合要求"
        if passed
        else f"相片色彩模式为 {decoded.mode}（{decoded.bit_depth} 位），应为 24 位彩色（RGB）："
        "请用彩色模式重新导出"
    )
    return RuleResult("colour", passed, measured, "RGB/24", message)


def _rule_file_size(n_bytes: int, std: PhotoStandard) -> RuleResult:
    kb = n_bytes / 1024
    expected = f"{std.file_kb_min:g}–{std.file_kb_max:g} KB"
    if kb < std.file_kb_min:
        message = f"文件大小 {kb:.1f} KB，应为 {expected}：压缩过度，请提高 JPEG 质量重新保存"
    elif kb > std.file_kb_max:
        message = f"文件大小 {kb:.1f} KB，应为 {expected}：请降低 JPEG 质量重新保存"
    else:
        message = f"文件大小 {kb:.1f} KB，符合要求"
    return RuleResult("file_size", std.file_kb_min <= kb <= std.file_kb_max, round(kb, 1), expected, message)


def _rule_background(sample: np.ndarray, std: PhotoStandard) -> RuleResult:
    brightness, saturation, spread = _background_stats(sample)
    measured = {
        "brightness": round(brightness, 1),
        "saturation": round(saturation, 3),
        "spread": round(spread, 1),
    }
    expected = (
        f"亮度 ≥ {std.background_min_brightness:g}，饱和度 ≤ {std.background_max_saturation:g}，"
        f"起伏 ≤ {std.background_max_spread:g}"
    )
    problems = []
    if brightness < std.background_min_brightness:
        problems.append(f"背景偏暗（亮度 {brightness:.0f}，应不低于 {std.background_min_brightness:g}）")
    if saturation > std.background_max_saturation:
        problems.append(
            f"背景带有颜色（饱和度 {saturation:.2f}，应不高于 {std.background_max_saturation:g}）"
        )
    if spread > std.background_max_spread:
        problems.append(f"背景不均匀（起伏 {spread:.0f}，应不高于 {std.background_max_spread:g}）")
    message = (
        "背景为均匀的白色，符合要求"
        if not problems
        else "；".join(problems) + "：请在纯白背景前重新拍摄，背景上不得有阴影或杂物"
    )
    return RuleResult("background", not problems, measured, expected, message)


def _rule_face_count(count: int) -> RuleResult:
    if count == 1:
        message = "检测到一张人脸，符合要求"
    elif count == 0:
        message = "未检测到人脸：请申请人正面对准镜头，摘下帽子、口罩、墨镜后重新拍摄"
    else:
        message = f"检测到 {count} 张人脸：相片中只能有申请人一人"
    return RuleResult("face_count", count == 1, float(count), "1", message)


def _rule_face_width(points: np.ndarray, std: PhotoStandard) -> RuleResult:
    width = face_width(points)
    low, high = std.face_width - std.face_width_tolerance, std.face_width + std.face_width_tolerance
    expected = f"{low:g}–{high:g} px"
    if width < low:
        message = f"人像宽度 {width:.0f} 像素，应为 {low:g}–{high:g} 像素：请让申请人靠近相机或放大裁剪"
    elif width > high:
        message = f"人像宽度 {width:.0f} 像素，应为 {low:g}–{high:g} 像素：请让申请人远离相机或缩小裁剪"
    else:
        message = f"人像宽度 {width:.0f} 像素，符合要求"
    return RuleResult("face_width", low <= width <= high, round(width, 1), expected, message)


def _rule_face_centred(points: np.ndarray, image_width: int, std: PhotoStandard) -> RuleResult:
    offset = float(eye_centres(points)[:, 0].mean() - image_width / 2)
    passed = abs(offset) <= std.centre_tolerance
    side = "右" if offset > 0 else "左"
    message = (
        f"人像水平居中（偏差 {abs(offset):.0f} 像素），符合要求"
        if passed
        else f"人像偏{side} {abs(offset):.0f} 像素，允许 ±{std.centre_tolerance:g} 像素："
        "请把人像水平居中后重新裁剪"
    )
    return RuleResult("face_centred", passed, round(offset, 1), f"±{std.centre_tolerance:g} px", message)


def _rule_hairline(
    rgb: np.ndarray, points: np.ndarray, background: np.ndarray, std: PhotoStandard
) -> RuleResult:
    top = head_top(rgb, points, background)
    expected = f"{std.hairline_min:g}–{std.hairline_max:g} px"
    wanted = f"应为 {std.hairline_min:g}–{std.hairline_max:g} 像素"
    if top is None:
        message = "无法确定头顶位置（头发与背景颜色过于接近）：请在纯白背景前重新拍摄"
        return RuleResult("hairline", False, None, expected, message)
    # GA 461: when the hairline and the eye line cannot both be met, the eye line wins and hair
    # standing too high may be cut off; so a head too close to the top passes if moving it down
    # to the minimum would push the eyes below their line.
    eye_room = rgb.shape[0] - float(eye_centres(points)[:, 1].mean()) - std.eye_line_min
    hair_cut_allowed = top < std.hairline_min and eye_room < std.hairline_min - top
    passed = std.hairline_min <= top <= std.hairline_max or hair_cut_allowed
    if hair_cut_allowed:
        message = f"头顶距上边沿 {top} 像素：头发过高，按标准优先保证眼睛位置，允许切除部分头发"
    elif top < std.hairline_min:
        message = f"头顶距上边沿 {top} 像素，{wanted}：头顶过于贴近上边，请向下移动人像或缩小裁剪"
    elif top > std.hairline_max:
        message = f"头顶距上边沿 {top} 像素，{wanted}：头顶上方留白过多，请向上移动人像或放大裁剪"
    else:
        message = f"头顶距上边沿 {top} 像素，符合要求"
    return RuleResult("hairline", passed, float(top), expected, message)


def _rule_eye_line(points: np.ndarray, image_height: int, std: PhotoStandard) -> RuleResult:
    above_bottom = float(image_height - eye_centres(points)[:, 1].mean())
    passed = above_bottom >= std.eye_line_min
    message = (
        f"眼睛距下边沿 {above_bottom:.0f} 像素，符合要求"
        if passed
        else f"眼睛距下边沿 {above_bottom:.0f} 像素，应不少于 {std.eye_line_min:g} 像素："
        "人像位置偏低，请向上移动人像"
    )
    return RuleResult("eye_line", passed, round(above_bottom, 1), f"≥ {std.eye_line_min:g} px", message)


def _rule_eyes_open(points: np.ndarray, std: PhotoStandard) -> RuleResult:
    ratio = min(eye_aspect_ratio(points[36:42]), eye_aspect_ratio(points[42:48]))
    passed = ratio >= std.eyes_open_min
    message = (
        "双眼自然睁开，符合要求" if passed else "眼睛未完全睁开（可能闭眼或眨眼）：请申请人睁大双眼重新拍摄"
    )
    return RuleResult("eyes_open", passed, round(ratio, 3), f"≥ {std.eyes_open_min:g}", message)


def _rule_pose(points: np.ndarray, std: PhotoStandard) -> RuleResult:
    yaw, roll = head_yaw(points), head_roll_degrees(points)
    measured = {"yaw": round(yaw, 3), "roll_degrees": round(roll, 1)}
    expected = f"左右转动 ≤ {std.yaw_max:g}，倾斜 ≤ {std.roll_max_degrees:g}°"
    problems = []
    if abs(yaw) > std.yaw_max:
        problems.append(f"头部向画面{'右' if yaw > 0 else '左'}侧转动（{abs(yaw):.2f}）")
    if abs(roll) > std.roll_max_degrees:
        problems.append(f"头部倾斜 {abs(roll):.1f}°")
    message = (
        "正面直视镜头，符合要求"
        if not problems
        else "；".join(problems) + "：请申请人端正头部、正视镜头后重新拍摄"
    )
    return RuleResult("pose", not problems, measured, expected, message)


def _rule_sharpness(value: float, std: PhotoStandard) -> RuleResult:
    passed = value >= std.sharpness_min
    message = (
        f"面部清晰（清晰度 {value:.0f}），符合要求"
        if passed
        else f"面部模糊（清晰度 {value:.0f}，应不低于 {std.sharpness_min:g}）："
        "请对焦后重新拍摄，拍摄时保持不动"
    )
    return RuleResult("sharpness", passed, round(value, 1), f"≥ {std.sharpness_min:g}", message)


def _rule_exposure(mean: float, clipped: float, std: PhotoStandard) -> RuleResult:
    measured = {"mean": round(mean, 1), "clipped": round(clipped, 3)}
    expected = f"面部亮度 {std.exposure_min:g}–{std.exposure_max:g}，过曝/欠曝像素 ≤ {std.clipped_max:.0%}"
    if mean < std.exposure_min:
        message = (
            f"面部过暗（亮度 {mean:.0f}，应为 {std.exposure_min:g}–{std.exposure_max:g}）：请增加照明重新拍摄"
        )
    elif mean > std.exposure_max:
        message = (
            f"面部过亮（亮度 {mean:.0f}，应为 {std.exposure_min:g}–{std.exposure_max:g}）：请减弱照明重新拍摄"
        )
    elif clipped > std.clipped_max:
        message = f"面部有 {clipped:.0%} 的像素过曝或欠曝：请使用均匀柔和的照明，避免反光和阴影"
    else:
        message = f"面部曝光正常（亮度 {mean:.0f}），符合要求"
    passed = std.exposure_min <= mean <= std.exposure_max and clipped <= std.clipped_max
    return RuleResult("exposure", passed, measured, expected, message)


# ---------------------------------------------------------------------------------------------
# Measurements


def face_width(points: np.ndarray) -> float:
    """Face width without ears: landmarks 0 and 16 (see the module docstring for calibration)."""
    return float(np.linalg.norm(points[16] - points[0]))


def eye_centres(points: np.ndarray) -> np.ndarray:
    """(2, 2): the centres of the subject's right eye (image left, 36–41) and left eye (42–47)."""
    return np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """Eye opening over eye width from the six landmarks of one eye (corner, top ×2, corner, bottom ×2)."""
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    return float(vertical / (2 * np.linalg.norm(eye[0] - eye[3])))


def head_yaw(points: np.ndarray) -> float:
    """The nose tip's position between the jaw points, minus 0.5: 0 frontal, > 0 turned to image right."""
    left, right = points[0, 0], points[16, 0]
    return float((points[30, 0] - left) / (right - left) - 0.5)


def head_roll_degrees(points: np.ndarray) -> float:
    """Tilt of the line through the eye centres, in degrees (positive: clockwise in the image)."""
    (x1, y1), (x2, y2) = eye_centres(points)
    return math.degrees(math.atan2(y2 - y1, x2 - x1))


def head_top(rgb: np.ndarray, points: np.ndarray, background: np.ndarray) -> int | None:
    """The first row (from the top) where the head begins, or None if not found above the brows.

    Scans the band between the outer eye corners for a row where ≥ 25 % of the pixels differ from
    the background colour by more than 48 (of 255) in some channel; JPEG noise and the soft edge
    of a white-balanced background stay well below that.
    """
    left, right = sorted((int(points[36, 0]), int(points[45, 0])))
    brows = max(0, int(points[17:27, 1].min()))
    band = rgb[:brows, max(0, left) : right + 1].astype(np.int16)
    if band.size == 0:
        return None
    reference = np.median(background, axis=0).astype(np.int16)
    differs = (np.abs(band - reference).max(axis=2) > 48).mean(axis=1) >= 0.25
    rows = np.flatnonzero(differs)
    return int(rows[0]) if rows.size else None


def face_sharpness(grey: np.ndarray, points: np.ndarray, face_width_px: float) -> float:
    """Variance of the Laplacian inside the face, after scaling the face to `face_width_px`.

    Scaling makes the figure comparable between photo sizes; the face polygon (shrunk by 10 %
    towards its centre) keeps the contrast of its outline against hair and background out.
    """
    left, top, right, bottom = _bounds(points, grey.shape)
    scale = face_width_px / max(1.0, face_width(points))
    crop = Image.fromarray(np.clip(grey[top:bottom, left:right], 0, 255).astype(np.uint8))
    size = (max(3, round(crop.width * scale)), max(3, round(crop.height * scale)))
    g = np.asarray(crop.resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
    laplacian = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    inside = _face_mask((points - (left, top)) * scale, g.shape, shrink=0.9)[1:-1, 1:-1]
    return float(laplacian[inside].var()) if inside.any() else 0.0


def face_exposure(grey: np.ndarray, points: np.ndarray) -> tuple[float, float]:
    """Mean luminance inside the face polygon and the share of its pixels clipped (≥ 250 or ≤ 5)."""
    face = grey[_face_mask(points, grey.shape)]
    if face.size == 0:
        return 0.0, 1.0
    return float(face.mean()), float(((face >= 250) | (face <= 5)).mean())


def _face_mask(points: np.ndarray, shape: tuple[int, ...], shrink: float = 1.0) -> np.ndarray:
    """Boolean mask of the face polygon: the jaw line (0–16) closed over the eyebrows (26–17)."""
    outline = np.vstack([points[0:17], points[26:16:-1]])
    centre = outline.mean(axis=0)
    outline = centre + (outline - centre) * shrink
    mask = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(mask).polygon([(float(x), float(y)) for x, y in outline], fill=255)
    return np.asarray(mask) > 0


def _bounds(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The landmarks' bounding box (left, top, right, bottom), clipped to the image."""
    height, width = shape[:2]
    left, top = np.clip(np.floor(points.min(axis=0)), 0, None).astype(int)
    right, bottom = np.ceil(points.max(axis=0)).astype(int)
    return int(left), int(top), int(min(right, width)), int(min(bottom, height))


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, as float (what Pillow's "L" mode computes)."""
    return rgb @ np.array([0.299, 0.587, 0.114])


def _background_sample(rgb: np.ndarray) -> np.ndarray:
    """(n, 3) pixels of the upper corners, which the standard layout keeps clear of the subject."""
    height, width = rgb.shape[:2]
    h, w = max(1, int(height * 0.10)), max(1, int(width * 0.15))
    return np.concatenate([rgb[:h, :w].reshape(-1, 3), rgb[:h, width - w :].reshape(-1, 3)])


def _background_stats(sample: np.ndarray) -> tuple[float, float, float]:
    """Mean luminance, mean HSV saturation and luminance standard deviation of background pixels."""
    pixels = sample.astype(np.float64)
    luma = _luminance(pixels)
    high, low = pixels.max(axis=1), pixels.min(axis=1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1), 0.0)
    return float(luma.mean()), float(saturation.mean()), float(luma.std())


# ---------------------------------------------------------------------------------------------
# Derived photos


def chip_photo(jpeg_bytes: bytes, standard: PhotoStandard | None = None) -> bytes:
    """The 102×126 copy for the card's chip: a Lanczos downscale of the standard photo, as JPEG."""
    std = standard or PhotoStandard.from_settings()
    decoded = decode_jpeg(jpeg_bytes, max_bytes=std.max_bytes, max_pixels=std.max_pixels)
    if decoded.size != (std.width, std.height):
        raise BiometricError(
            "not_standard_size",
            f"只能由 {std.width}×{std.height} 的标准相片生成芯片相片，"
            f"收到 {decoded.size[0]}×{decoded.size[1]}",
        )
    chip = decoded.image.convert("RGB").resize(CHIP_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    chip.save(out, "JPEG", quality=90, subsampling=0)  # no chroma subsampling at this small size
    return out.getvalue()


def conform_photo(
    image_bytes: bytes, standard: PhotoStandard | None = None, *, background: tuple[int, int, int] = WHITE
) -> bytes:
    """Crop, scale and level a portrait (JPEG or PNG) into the standard layout, on `background`.

    The face is scaled to the standard face width, rotated so the eyes are level, centred on
    the eyes' midpoint, and moved up until the head top is mid-way in the hairline range (or, for
    tall hair, only as far as the eye line allows: GA 461's priority). The original background
    is replaced where it is plain and connected to the photo's edge. Saved as JPEG with GA 461's
    compression quality 70. Raises BiometricError for unreadable input or not exactly one face.
    """
    std = standard or PhotoStandard.from_settings()
    decoded = decode_image(
        image_bytes, max_bytes=CONFORM_MAX_BYTES, max_pixels=CONFORM_MAX_PIXELS, upright=True
    )
    image = decoded.image.convert("RGB")
    _, points = engine.single_face(engine.rgb_array(image), min_score=std.face_min_score)
    lowest_eyes = std.height - std.eye_line_min - 3  # a little inside the eye-line rule
    canvas, placed = _place(image, points, std, eye_y=lowest_eyes, background=background)
    top = head_top(engine.rgb_array(canvas), placed, _background_sample(engine.rgb_array(canvas)))
    target = (std.hairline_min + std.hairline_max) / 2
    if top is not None and top > target:
        canvas, placed = _place(image, points, std, eye_y=lowest_eyes - (top - target), background=background)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=70)
    return out.getvalue()


def _place(
    image: Image.Image,
    points: np.ndarray,
    std: PhotoStandard,
    *,
    eye_y: float,
    background: tuple[int, int, int],
) -> tuple[Image.Image, np.ndarray]:
    """Render `image` into the standard frame (face width, level eyes centred at `eye_y`) and
    replace its background; returns the frame and the landmarks moved with it."""
    scale = std.face_width / face_width(points)
    if scale < 0.5:  # an affine resample does not antialias: shrink by whole factors first
        factor = int(1 / scale)
        image, points, scale = image.reduce(factor), points / factor, scale * factor
    roll = math.radians(head_roll_degrees(points))
    cos, sin = math.cos(roll), math.sin(roll)
    rotate = np.array([[cos, sin], [-sin, cos]])  # turns the eye line level
    anchor = eye_centres(points).mean(axis=0)
    tx, ty = std.width / 2, eye_y  # where the anchor lands
    # Image.transform wants the inverse map: for each frame pixel, the source pixel.
    inverse = (
        cos / scale,
        -sin / scale,
        anchor[0] - (cos * tx - sin * ty) / scale,
        sin / scale,
        cos / scale,
        anchor[1] - (sin * tx + cos * ty) / scale,
    )
    frame = image.convert("RGBA").transform(
        (std.width, std.height),
        Image.Transform.AFFINE,
        inverse,
        resample=Image.Resampling.BICUBIC,
        fillcolor=(0, 0, 0, 0),  # transparent where the source ends: background by definition
    )
    placed = scale * (points - anchor) @ rotate.T + (tx, ty)
    return _replace_background(frame, placed, background), placed


def _replace_background(frame: Image.Image, points: np.ndarray, colour: tuple[int, int, int]) -> Image.Image:
    """Paint `colour` over the plain background reachable from the frame's edge.

    Background = pixels close (within 40 per channel) to the median colour of the edge and
    smooth (local gradient under 10 after a 1 px blur), connected to the edge, outside the face
    polygon of the landmarks. Hair and clothes are textured or differently coloured and stop the
    fill; the face polygon keeps a pale, smooth face from being whitened through the neck.
    """
    rgba = np.asarray(frame)
    outside = rgba[..., 3] < 255
    smooth = np.asarray(frame.convert("RGB").filter(ImageFilter.GaussianBlur(1)), dtype=np.int16)
    edge = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    edge_inside = np.concatenate([~outside[0], ~outside[-1], ~outside[:, 0], ~outside[:, -1]])
    reference = np.median(edge[edge_inside], axis=0) if edge_inside.any() else np.array(colour)
    grey = smooth.mean(axis=2)
    gradient = np.zeros_like(grey)
    gradient[1:-1, 1:-1] = np.maximum(
        np.abs(grey[2:, 1:-1] - grey[:-2, 1:-1]), np.abs(grey[1:-1, 2:] - grey[1:-1, :-2])
    )
    plain = (np.abs(smooth - reference).max(axis=2) < 40) & (gradient < 10)
    candidate = (plain | outside) & ~_face_mask(points, grey.shape)
    mask = Image.fromarray(_reachable_from_edge(candidate).astype(np.uint8) * 255)
    painted = Image.new("RGB", frame.size, colour)
    return Image.composite(painted, frame.convert("RGB"), mask.filter(ImageFilter.GaussianBlur(1)))


def _reachable_from_edge(candidate: np.ndarray) -> np.ndarray:
    """The part of `candidate` 4-connected to the image edge (geodesic reconstruction)."""
    reached = np.zeros_like(candidate)
    for edge in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        reached[edge] = candidate[edge]
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= candidate
        if np.array_equal(grown, reached):
            return reached
        reached = grown


def free_photo_quality(
    rgb: np.ndarray,
    standard: PhotoStandard,
    *,
    upsample: int | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
) -> QualityResult:
    """Quality of a photo outside the standard layout (a register scan, an applicant with a
    guardian): every face in it must be confidently detected, large enough for a template, sharp
    and well exposed. The score is the share of these checks the weakest face passes."""
    faces = engine.detect_faces(rgb, upsample=upsample, min_score=min_score)
    if not faces:
        return QualityResult(
            Modality.FACE, 0.0, False, ("相片中未检测到人脸：请正面拍摄，摘下帽子、口罩、墨镜",)
        )
    grey = _luminance(rgb)
    reasons: list[str] = []
    weakest = 1.0
    for number, found in enumerate(faces, start=1):
        problems = _free_face_problems(grey, found, engine.face_landmarks(rgb, found), standard)
        weakest = min(weakest, 1 - len(problems) / 4)
        reasons += [f"第 {number} 张人脸{problem}" for problem in problems]
    return QualityResult(Modality.FACE, round(100 * weakest, 1), not reasons, tuple(reasons))


def _free_face_problems(
    grey: np.ndarray, found: engine.Face, points: np.ndarray, std: PhotoStandard
) -> list[str]:
    """The failed checks (of four) of one face, as clerk messages."""
    problems = []
    if found.score < std.free_min_face_score:
        problems.append(f"检测置信度低（{found.score:.2f}）：请正面对准镜头重新拍摄")
    width = face_width(points)
    if width < std.free_min_face_width:
        problems.append(f"过小（宽 {width:.0f} 像素，至少 {std.free_min_face_width:g}）：请靠近拍摄")
    if face_sharpness(grey, points, std.face_width) < std.sharpness_min:
        problems.append("模糊：请对焦后重新拍摄")
    mean, clipped = face_exposure(grey, points)
    if not std.exposure_min <= mean <= std.exposure_max or clipped > std.clipped_max:
        problems.append(f"曝光不当（亮度 {mean:.0f}）：请调整照明")
    return problems
