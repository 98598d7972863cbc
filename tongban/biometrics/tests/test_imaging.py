"""Safe decoding: real images decode; bad, huge and hostile input gives a clear BiometricError
fast and without allocating the claimed raster."""

from __future__ import annotations

import io
import os
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from tongban.biometrics.imaging import decode_image, decode_jpeg
from tongban.biometrics.interfaces import BiometricError

from .conftest import jpeg_bytes

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4_000_000


def _error_code(call: Callable[[], object]) -> str:
    with pytest.raises(BiometricError) as caught:
        call()
    assert caught.value.message  # a Chinese message for the clerk
    return caught.value.code


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A valid 8×8 JPEG whose frame header (SOF0) claims width × height."""
    data = bytearray(jpeg_bytes(Image.new("RGB", (8, 8), "white")))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)  # marker, length (2), precision (1), then H, W
    return bytes(data)


def _png_claiming(width: int, height: int) -> bytes:
    """A valid 8×8 PNG whose IHDR claims width × height (CRC fixed, so only the size lies)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    data = bytearray(out.getvalue())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _peak_bytes(call: Callable[[], object]) -> int:
    tracemalloc.start()
    with pytest.raises(BiometricError):
        call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_real_photo_decodes_as_24_bit_colour(astronaut_jpeg: bytes) -> None:
    decoded = decode_jpeg(astronaut_jpeg, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert (decoded.format, decoded.mode, decoded.bit_depth, decoded.size) == ("JPEG", "RGB", 24, (512, 512))


def test_greyscale_and_cmyk_jpegs_report_their_depth(astronaut) -> None:
    grey = decode_jpeg(jpeg_bytes(astronaut.convert("L")), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    cmyk = decode_jpeg(jpeg_bytes(astronaut.convert("CMYK")), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert (grey.mode, grey.bit_depth) == ("L", 8)
    assert (cmyk.mode, cmyk.bit_depth) == ("CMYK", 32)


def test_png_is_not_a_jpeg_but_decode_image_takes_it(astronaut) -> None:
    out = io.BytesIO()
    astronaut.save(out, "PNG")
    assert (
        _error_code(lambda: decode_jpeg(out.getvalue(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
        == "not_jpeg"
    )
    assert decode_image(out.getvalue(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).format == "PNG"


@pytest.mark.parametrize("data", [b"", os.urandom(4096), b"GIF89a" + os.urandom(100)])
def test_random_and_empty_bytes_are_not_a_jpeg(data: bytes) -> None:
    assert _error_code(lambda: decode_jpeg(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)) == "not_jpeg"
    assert (
        _error_code(lambda: decode_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
        == "unsupported_format"
    )


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_corrupt(astronaut_jpeg: bytes, keep: float) -> None:
    truncated = astronaut_jpeg[: int(len(astronaut_jpeg) * keep)]
    assert (
        _error_code(lambda: decode_jpeg(truncated, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
        == "corrupt_image"
    )


def test_jpeg_magic_followed_by_garbage_is_corrupt() -> None:
    garbage = b"\xff\xd8\xff\xe0" + os.urandom(2000)
    assert (
        _error_code(lambda: decode_jpeg(garbage, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
        == "corrupt_image"
    )


def test_80_mb_file_is_refused_before_parsing() -> None:
    huge = b"\xff\xd8\xff\xe0" + bytes(80 * 1024 * 1024)
    start = time.perf_counter()
    assert (
        _error_code(lambda: decode_jpeg(huge, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
        == "image_too_large"
    )
    assert time.perf_counter() - start < 0.1
    assert _peak_bytes(lambda: decode_jpeg(huge, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)) < 1024 * 1024


@pytest.mark.parametrize(
    "bomb",
    [
        _jpeg_claiming(50_000, 50_000),  # past Pillow's own ceiling (2 × MAX_IMAGE_PIXELS)
        _jpeg_claiming(8_000, 8_000),  # under Pillow's warning level, over the caller's limit
        _png_claiming(50_000, 50_000),
    ],
    ids=["jpeg-50000x50000", "jpeg-8000x8000", "png-50000x50000"],
)
def test_decompression_bomb_is_refused_without_allocating(bomb: bytes) -> None:
    assert len(bomb) < 2000
    assert (
        _error_code(lambda: decode_image(bomb, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
        == "image_too_large"
    )
    assert _peak_bytes(lambda: decode_image(bomb, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)) < 1024 * 1024


def test_pixel_limit_is_per_call(astronaut_jpeg: bytes) -> None:
    assert (
        _error_code(lambda: decode_jpeg(astronaut_jpeg, max_bytes=10**6, max_pixels=512 * 511))
        == "image_too_large"
    )
    assert decode_jpeg(astronaut_jpeg, max_bytes=10**6, max_pixels=512 * 512).size == (512, 512)


def test_upright_follows_the_exif_orientation(astronaut) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    out = io.BytesIO()
    astronaut.crop((0, 0, 400, 300)).save(out, "JPEG", exif=exif)
    assert decode_jpeg(out.getvalue(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).size == (400, 300)
    assert decode_image(out.getvalue(), upright=True, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).size == (
        300,
        400,
    )
