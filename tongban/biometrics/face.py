"""The built-in face engine: dlib's HOG detector, 68-point landmarks and 128-d ResNet embeddings.

The models are those of the `face_recognition_models` package, called through dlib directly
(the `face_recognition` package would force a dlib compile). They load once per process, lazily
and under a lock, on first use.

Templates ("dlib-128-f32") are the L2-normalised embedding as 128 little-endian float32 (512
bytes); the match score is their cosine similarity (interfaces.py). dlib's raw descriptors are
*not* unit length (norms ~1.3–1.6 on the sample faces) and share a large common component, so
after normalisation different people still score ~0.80–0.91 and the same person ~0.99: dlib's
usual Euclidean cut-off of 0.6 on raw descriptors corresponds to a cosine of ~0.92 here
(`DLIB_COSINE_THRESHOLD`, the default of TONGBAN_FACE_THRESHOLD); a lower setting is warned about.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import dlib
import face_recognition_models
import numpy as np
from PIL import Image

from tongban.biometrics.imaging import decode_jpeg
from tongban.biometrics.interfaces import (
    BiometricError,
    MatchResult,
    Modality,
    QualityResult,
    Sample,
    Template,
)
from tongban.biometrics.standard import DEFAULT_MIN_SCORE, PhotoStandard

logger = logging.getLogger(__name__)

TEMPLATE_FORMAT = "dlib-128-f32"
EMBEDDING_SIZE = 128
_TEMPLATE_DTYPE = np.dtype("<f4")

# dlib's 0.6 Euclidean threshold on raw descriptors at their median norm (1.47 on the sample faces):
# cos = 1 - 0.6² / (2 · 1.47²) ≈ 0.917. Measured on the sample faces: different people ≤ 0.912, the
# same person under shift/scale/lighting/JPEG ≥ 0.987. A configured threshold below this makes
# different people match (see the module docstring).
DLIB_COSINE_THRESHOLD = 0.92

# Images up to this size are searched again with one upsampling when no face is found (~4× the
# detection time, ~0.2 s at this size).
ADAPTIVE_UPSAMPLE_MAX_PIXELS = 1_000_000

# Limits for photos handed to the engine: a standard photo is ~20 KB; register and camera photos
# are larger, but nothing a face engine should see is over 20 MB or 40 megapixels.
MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000


@dataclass(frozen=True)
class Face:
    """A detected face: its box (left, top, right, bottom; may reach past the image edge) and the
    HOG detector's confidence (the SVM margin: > 0 is a detection, 1–3 for a clear frontal face)."""

    box: tuple[int, int, int, int]
    score: float


@dataclass(frozen=True)
class FaceEmbedding:
    """One face's landmarks ((68, 2) float, x/y in pixels) and L2-normalised (128,) float32 vector,
    with the time detection (with landmarks) and embedding took, in milliseconds."""

    face: Face
    landmarks: np.ndarray
    vector: np.ndarray
    detect_ms: float
    embed_ms: float


class _Models:
    """dlib's three models, loaded once. The shape predictor is documented thread-safe; the HOG
    detector and the ResNet keep scratch state per call, so each is used under its own lock."""

    def __init__(self) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
        self.recogniser = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )
        self.detector_lock = threading.Lock()
        self.recogniser_lock = threading.Lock()


_models_instance: _Models | None = None
_models_lock = threading.Lock()


def _models() -> _Models:
    global _models_instance
    if _models_instance is None:
        with _models_lock:
            if _models_instance is None:  # another thread may have loaded them while we waited
                _models_instance = _Models()
    return _models_instance


def rgb_array(image: Image.Image) -> np.ndarray:
    """The (height, width, 3) uint8 RGB array dlib expects, whatever the image's mode."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def detect_faces(
    rgb: np.ndarray, *, upsample: int | None = None, min_score: float = DEFAULT_MIN_SCORE
) -> list[Face]:
    """Faces found by the HOG detector, most confident first.

    Without upsampling the detector finds faces from ~80 px wide (a standard photo's face is
    207 px); each upsampling halves that and costs ~4× the time. `upsample=None` looks once
    without and, if that finds nothing in an image of at most a megapixel (where a face may well
    be small), once more with one upsampling.
    """
    if upsample is None:
        faces = detect_faces(rgb, upsample=0, min_score=min_score)
        if faces or rgb.shape[0] * rgb.shape[1] > ADAPTIVE_UPSAMPLE_MAX_PIXELS:
            return faces
        upsample = 1
    models = _models()
    with models.detector_lock:
        rects, scores, _ = models.detector.run(rgb, upsample, min_score)
    faces = [
        Face(box=(r.left(), r.top(), r.right(), r.bottom()), score=float(s))
        for r, s in zip(rects, scores, strict=True)
    ]
    return sorted(faces, key=lambda f: f.score, reverse=True)


def face_landmarks(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The 68 iBUG-300W landmarks (jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67)."""
    shape = _models().predictor(rgb, dlib.rectangle(*face.box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def face_vector(rgb: np.ndarray, face: Face, landmarks: np.ndarray) -> np.ndarray:
    """The L2-normalised 128-d embedding of `face` (aligned by dlib from its landmarks)."""
    points = dlib.points([dlib.point(round(x), round(y)) for x, y in landmarks])
    shape = dlib.full_object_detection(dlib.rectangle(*face.box), points)
    models = _models()
    with models.recogniser_lock:
        raw = np.array(models.recogniser.compute_face_descriptor(rgb, shape), dtype=np.float64)
    return (raw / np.linalg.norm(raw)).astype(np.float32)


def single_face(
    rgb: np.ndarray, *, upsample: int | None = None, min_score: float = DEFAULT_MIN_SCORE
) -> tuple[Face, np.ndarray]:
    """The one face of a photo and its landmarks; raises BiometricError "no_face" or "several_faces"."""
    faces = detect_faces(rgb, upsample=upsample, min_score=min_score)
    if not faces:
        raise BiometricError("no_face", "相片中未检测到人脸：请确认正脸面对镜头、无遮挡（摘下口罩、墨镜）")
    if len(faces) > 1:
        raise BiometricError("several_faces", f"相片中检测到 {len(faces)} 张人脸：相片中只能有申请人一人")
    return faces[0], face_landmarks(rgb, faces[0])


def embed_single_face(
    rgb: np.ndarray, *, upsample: int | None = None, min_score: float = DEFAULT_MIN_SCORE
) -> FaceEmbedding:
    """Embed the one face of a photo (see `single_face`), timing detection and embedding."""
    start = time.perf_counter()
    face, landmarks = single_face(rgb, upsample=upsample, min_score=min_score)
    detected = time.perf_counter()
    vector = face_vector(rgb, face, landmarks)
    done = time.perf_counter()
    return FaceEmbedding(
        face=face,
        landmarks=landmarks,
        vector=vector,
        detect_ms=(detected - start) * 1000,
        embed_ms=(done - detected) * 1000,
    )


def template_from_vector(vector: np.ndarray) -> Template:
    """A "dlib-128-f32" template of a 128-d embedding (normalised here if it is not yet)."""
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    if vector.shape != (EMBEDDING_SIZE,) or not np.isfinite(vector).all() or not np.linalg.norm(vector):
        raise BiometricError("bad_template", "人像特征数据无效")
    data = (vector / np.linalg.norm(vector)).astype(_TEMPLATE_DTYPE).tobytes()
    return Template(modality=Modality.FACE, format=TEMPLATE_FORMAT, data=data)


def vector_from_template(template: Template) -> np.ndarray:
    """The unit (128,) float32 vector of a "dlib-128-f32" template; BiometricError if it is not one."""
    if template.modality != Modality.FACE or template.format != TEMPLATE_FORMAT:
        raise BiometricError(
            "bad_template", f"人像特征格式不符：需要 {TEMPLATE_FORMAT}，收到 {template.format}"
        )
    if len(template.data) != EMBEDDING_SIZE * _TEMPLATE_DTYPE.itemsize:
        raise BiometricError("bad_template", "人像特征数据长度不符")
    vector = np.frombuffer(template.data, dtype=_TEMPLATE_DTYPE).astype(np.float32)
    if not np.isfinite(vector).all() or abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
        raise BiometricError("bad_template", "人像特征数据无效（未归一化或含非法数值）")
    return vector


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two embeddings, in [-1, 1] (for unit vectors, their dot product)."""
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b)) / denominator if denominator else 0.0


class FaceSDK:
    """The BiometricSDK of interfaces.py for Modality.FACE, built on dlib.

    `threshold` defaults to settings.BIOMETRICS["FACE_THRESHOLD"]; `upsample` and `min_score`
    tune the detector (see `detect_faces`; by default it upsamples small photos when needed).
    """

    def __init__(
        self,
        *,
        threshold: float | None = None,
        upsample: int | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        standard: PhotoStandard | None = None,
    ) -> None:
        if threshold is None:
            from django.conf import settings

            threshold = float(cast(float, settings.BIOMETRICS["FACE_THRESHOLD"]))
        if threshold < DLIB_COSINE_THRESHOLD:
            _warn_low_threshold(threshold)
        self.threshold = threshold
        self.upsample = upsample
        self.min_score = min_score
        self._standard = standard

    def check_quality(self, sample: Sample) -> QualityResult:
        """A standard-size photo (358×441) is judged by the GA 461 rules of photo.check_photo;
        any other photo (a register scan, an applicant photographed with a guardian) by the
        detection confidence, size, sharpness and exposure of each face in it."""
        from tongban.biometrics import photo  # photo builds on this module

        self._require_face(sample)
        standard = self._standard or PhotoStandard.from_settings()
        try:
            decoded = decode_jpeg(sample.data, max_bytes=MAX_PHOTO_BYTES, max_pixels=MAX_PHOTO_PIXELS)
        except BiometricError as exc:
            return QualityResult(modality=Modality.FACE, score=0.0, passed=False, reasons=(exc.message,))
        if decoded.size == (standard.width, standard.height):
            report = photo.check_photo(sample.data, standard)
            failed = tuple(rule.message for rule in report.rules if not rule.passed)
            score = 100.0 * (len(report.rules) - len(failed)) / len(report.rules)
            return QualityResult(modality=Modality.FACE, score=score, passed=report.passed, reasons=failed)
        return photo.free_photo_quality(
            rgb_array(decoded.image), standard, upsample=self.upsample, min_score=self.min_score
        )

    def extract_template(self, sample: Sample) -> Template:
        self._require_face(sample)
        decoded = decode_jpeg(sample.data, max_bytes=MAX_PHOTO_BYTES, max_pixels=MAX_PHOTO_PIXELS)
        embedded = embed_single_face(
            rgb_array(decoded.image), upsample=self.upsample, min_score=self.min_score
        )
        logger.debug(
            "face embedded: detection %.1f ms, embedding %.1f ms", embedded.detect_ms, embedded.embed_ms
        )
        return template_from_vector(embedded.vector)

    def match(self, probe: Template, gallery: Sequence[Template]) -> list[MatchResult]:
        if not gallery:
            return []
        probe_vector = vector_from_template(probe)
        matrix = np.stack([vector_from_template(t) for t in gallery])
        scores = matrix @ probe_vector
        return [
            MatchResult(score=float(s), matched=bool(s >= self.threshold), threshold=self.threshold)
            for s in scores
        ]

    @staticmethod
    def _require_face(sample: Sample) -> None:
        if sample.modality != Modality.FACE:
            raise BiometricError("wrong_modality", "样本类型不符：人像引擎只处理人像相片")


@functools.cache
def _warn_low_threshold(threshold: float) -> None:
    """Once per process and value: a misconfigured threshold lets different people match."""
    logger.warning(
        "face threshold %.2f is below %.2f: different people match with dlib embeddings",
        threshold,
        DLIB_COSINE_THRESHOLD,
    )
