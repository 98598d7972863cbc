"""Real test faces, never committed.

- scikit-image's `astronaut()`: one frontal face (Eileen Collins), 512×512;
- the sample images inside the `insightface` wheel on PyPI: `t1.jpg` (six people around a
  table), `Tom_Hanks_54745.png` (an aligned 112×112 face) and `mask_*.jpg` (masked faces). The
  wheel is fetched once with `pip download --no-deps` into the git-ignored var/test-assets/ and
  the images are read from it with zipfile. Without a network and an empty cache those tests
  are skipped, except under CI=true, where they fail.

Images are handed to tests as bytes (what the engine receives) or as Pillow images to transform.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from tongban.biometrics import photo
from tongban.testing.assets import ASSET_DIR, AssetUnavailable, pypi_archive

INSIGHTFACE_VERSION = "2.1"


def jpeg_bytes(image: Image.Image, quality: int = 95) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def open_image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def moved(
    image: Image.Image, *, dx: float = 0, dy: float = 0, scale: float = 1.0, about=(0.0, 0.0)
) -> Image.Image:
    """`image` scaled by `scale` about the point `about`, then shifted by (dx, dy), on white."""
    cx, cy = about
    inverse = (1 / scale, 0, cx - (cx + dx) / scale, 0, 1 / scale, cy - (cy + dy) / scale)
    return image.transform(
        image.size,
        Image.Transform.AFFINE,
        inverse,
        resample=Image.Resampling.BICUBIC,
        fillcolor=(255, 255, 255),
    )


@pytest.fixture(scope="session")
def insightface_images() -> Callable[[str], bytes]:
    """Reads `insightface/data/images/<name>` from the cached wheel (skips when unavailable)."""
    try:
        wheel = pypi_archive("insightface", INSIGHTFACE_VERSION, sdist=False)
    except AssetUnavailable as exc:
        reason = (
            f"insightface {INSIGHTFACE_VERSION} wheel not cached in {ASSET_DIR} and not downloadable: {exc}"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)

    def read(name: str) -> bytes:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(f"insightface/data/images/{name}")

    return read


@pytest.fixture(scope="session")
def standard() -> photo.PhotoStandard:
    """The built-in defaults, whatever TONGBAN_PHOTO_STANDARD says in the environment."""
    return photo.PhotoStandard()


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(np.asarray(data.astronaut()))


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut: Image.Image) -> bytes:
    return jpeg_bytes(astronaut)


@pytest.fixture(scope="session")
def astronaut_standard(astronaut_jpeg: bytes, standard: photo.PhotoStandard) -> bytes:
    """The astronaut in the GA 461 layout on white: the photo that passes every rule."""
    return photo.conform_photo(astronaut_jpeg, standard)


@pytest.fixture(scope="session")
def astronaut_variants(astronaut: Image.Image) -> dict[str, bytes]:
    """The same person photographed again: shifted, nearer and farther, lighter and darker,
    mirrored and heavily compressed (JPEG bytes)."""
    width, height = astronaut.size
    return {
        "shifted": jpeg_bytes(moved(astronaut, dx=-40, dy=-25)),
        "smaller": jpeg_bytes(
            astronaut.resize((width * 6 // 10, height * 6 // 10), Image.Resampling.LANCZOS)
        ),
        "larger": jpeg_bytes(astronaut.resize((width * 3 // 2, height * 3 // 2), Image.Resampling.LANCZOS)),
        "brighter": jpeg_bytes(ImageEnhance.Brightness(astronaut).enhance(1.4)),
        "darker": jpeg_bytes(ImageEnhance.Brightness(astronaut).enhance(0.5)),
        "mirrored": jpeg_bytes(astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        "compressed": jpeg_bytes(astronaut, quality=30),
    }


@pytest.fixture(scope="session")
def t1_jpeg(insightface_images: Callable[[str], bytes]) -> bytes:
    """insightface's t1.jpg: six different people (1280×886)."""
    return insightface_images("t1.jpg")


@pytest.fixture(scope="session")
def tom_hanks_jpeg(insightface_images: Callable[[str], bytes]) -> bytes:
    """insightface's aligned 112×112 face of another person, as the JPEG the engine takes."""
    return jpeg_bytes(open_image(insightface_images("Tom_Hanks_54745.png")))


@pytest.fixture(scope="session")
def masked_jpegs(insightface_images: Callable[[str], bytes]) -> dict[str, bytes]:
    """insightface's photos of people wearing face masks."""
    return {
        colour: insightface_images(f"mask_{colour}.jpg") for colour in ("black", "blue", "green", "white")
    }
