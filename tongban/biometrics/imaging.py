"""Safe decoding of untrusted image bytes (photos from cameras, scanners and other systems).

An image file is attacker-controlled input: a few kilobytes can claim 50000×50000 pixels
(a decompression bomb, ~7.5 GB once decoded) and truncated or malformed files make Pillow
raise a zoo of exceptions. `decode_image` bounds memory before any pixel is decoded:

1. the byte length is checked first;
2. the magic number names the format (so a PNG handed in as a photo is "not a JPEG", not
   "corrupt");
3. `Image.open` only parses the header, so width × height is checked against the caller's
   own limit *before* `load()` allocates the raster. Pillow's global `Image.MAX_IMAGE_PIXELS`
   is a process-wide default meant for a different purpose and only warns below 2× its value,
   so each call sets its own ceiling instead of relying on it;
4. every error Pillow raises while parsing or decoding becomes a `BiometricError` whose
   `code` a machine can act on and whose message (Chinese) a clerk can act on.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageMode, ImageOps, UnidentifiedImageError

from tongban.biometrics.interfaces import BiometricError

_MAGIC = {
    "JPEG": b"\xff\xd8\xff",
    "PNG": b"\x89PNG\r\n\x1a\n",
}

# Everything else Pillow raises for bad input: unknown format, truncated data ("image file is
# truncated"), broken markers and unsupported precisions (SyntaxError from the JPEG header
# parser), bad parameters.
_PIL_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


@dataclass(frozen=True)
class DecodedImage:
    """A fully decoded image, kept in the file's own mode (a JPEG photo must be "RGB")."""

    image: Image.Image
    format: str  # "JPEG" or "PNG"
    bit_depth: int  # bits per pixel: 24 for 8-bit RGB ("24-bit colour" in GA 461), 8 for greyscale

    @property
    def mode(self) -> str:
        return self.image.mode

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def decode_jpeg(data: bytes, *, max_bytes: int, max_pixels: int) -> DecodedImage:
    """Decode a JPEG (the only format GA 461 allows for photos) within the given limits."""
    return decode_image(data, formats=("JPEG",), max_bytes=max_bytes, max_pixels=max_pixels)


def decode_image(
    data: bytes,
    *,
    formats: Sequence[str] = ("JPEG", "PNG"),
    max_bytes: int,
    max_pixels: int,
    upright: bool = False,
) -> DecodedImage:
    """Decode `data` if it is one of `formats`, at most `max_bytes` long and `max_pixels` large.

    `upright` turns the image as its EXIF Orientation tag says (cameras store portraits sideways
    and only tag them); a standard photo is checked as stored, so the photo check leaves it off.

    Raises BiometricError with code "image_too_large", "not_jpeg" / "unsupported_format" or
    "corrupt_image"; never lets a Pillow exception or an unbounded allocation through.
    """
    if len(data) > max_bytes:
        raise BiometricError(
            "image_too_large",
            f"文件过大（{_kb(len(data))}），上限为 {_kb(max_bytes)}：请重新拍摄或压缩后再上传",
        )
    fmt = _sniff_format(data, formats)
    try:
        image: Image.Image = Image.open(io.BytesIO(data), formats=[fmt])  # lazy: parses the header only
        width, height = image.size
        if width * height > max_pixels:
            raise _too_many_pixels(f"{width}×{height} 像素", max_pixels)
        image.load()
        if upright:
            image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:  # the header claimed more than Pillow's own ceiling
        raise _too_many_pixels("文件头声明的尺寸异常巨大", max_pixels) from exc
    except _PIL_ERRORS as exc:
        raise BiometricError("corrupt_image", "图像文件已损坏或不完整：请重新拍摄或重新导出后再上传") from exc
    return DecodedImage(image=image, format=fmt, bit_depth=_bit_depth(image.mode))


def _sniff_format(data: bytes, formats: Sequence[str]) -> str:
    for fmt in formats:
        if data.startswith(_MAGIC[fmt]):
            return fmt
    if tuple(formats) == ("JPEG",):
        raise BiometricError("not_jpeg", "文件不是 JPEG 图像：相片须为 JPEG 格式")
    names = "、".join(formats)
    raise BiometricError("unsupported_format", f"不支持的图像格式：请上传 {names} 图像")


def _too_many_pixels(claimed: str, max_pixels: int) -> BiometricError:
    return BiometricError(
        "image_too_large",
        f"图像尺寸过大（{claimed}），上限为 {max_pixels / 1e6:g} 百万像素：可能是异常文件，请缩小后再上传",
    )


def _bit_depth(mode: str) -> int:
    if mode == "1":
        return 1
    info = ImageMode.getmode(mode)
    bits_per_band = int(info.typestr[-1]) * 8  # e.g. "|u1" → 8, "<u2" → 16
    return bits_per_band * len(info.bands)


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"
