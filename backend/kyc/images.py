"""Image intake for KYC: judged by content, never by name, and bounded before decoding.

`inspect` is cheap (magic bytes and the header only) and runs in the request; `decode`
does the expensive part (pixels, EXIF orientation, mode, downscale) in a face worker.
"""

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Pillow's own backstop: Image.open refuses (DecompressionBombError) past twice this. The
# setting's tighter bound is applied by `inspect` from the header, before any pixel buffer.
Image.MAX_IMAGE_PIXELS = 250_000_000

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class ImageRejected(ValueError):
    """An image we cannot use, with a sentence for the applicant and a code for the page."""

    def __init__(self, reason: str, code: str = "bad_image"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class ImageInfo:
    format: str  # JPEG | PNG | WEBP
    width: int
    height: int

    @property
    def media_type(self) -> str:
        return FORMATS[self.format]


def sniff(data: bytes) -> str | None:
    """The format the bytes are, from their magic number."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def inspect(data: bytes, label: str, *, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Type, size and pixel count from the header alone; ImageRejected with a clear reason."""
    if not data:
        raise ImageRejected(f"the {label} is an empty file")
    if len(data) > max_bytes:
        raise ImageRejected(
            f"the {label} is {len(data) / 1024 / 1024:.1f} MB: at most {max_bytes / 1024 / 1024:.0f} MB", "too_large"
        )
    kind = sniff(data)
    if kind is None:
        raise ImageRejected(f"the {label} is not a JPEG, PNG or WebP image (judged by its content, not its name)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            width, height = image.size
    except Image.DecompressionBombError as bomb:
        found = re.search(r"\((\d+) pixels\)", str(bomb))
        pixels = f"{int(found.group(1)) / 1e6:,.0f} megapixels" if found else "too many pixels"
        raise ImageRejected(
            f"the {label} is {pixels}: at most {max_pixels / 1e6:.0f} megapixels", "too_many_pixels"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(f"the {label} is a damaged {kind} file: its header cannot be read") from None
    if image.format != kind:
        raise ImageRejected(f"the {label} is a damaged {kind} file: its header cannot be read")
    if width * height > max_pixels:
        raise ImageRejected(_too_many_pixels(label, (width, height), max_pixels), "too_many_pixels")
    if width < 32 or height < 32:
        raise ImageRejected(f"the {label} is only {width} x {height} pixels: too small to show a face")
    return ImageInfo(kind, width, height)


def _too_many_pixels(label: str, size: tuple[int, int], max_pixels: int) -> str:
    return f"the {label} is {size[0]:,} x {size[1]:,} pixels: at most {max_pixels / 1e6:.0f} megapixels"


def decode(data: bytes, label: str, *, max_bytes: int, max_pixels: int, size: int) -> np.ndarray:
    """RGB pixels, upright (EXIF orientation applied), at most `size` on the long side."""
    inspect(data, label, max_bytes=max_bytes, max_pixels=max_pixels)
    # face_recognition's import turns this on for the whole process, and a cut-off photo
    # would then decode with its missing part grey instead of being refused.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image = Image.open(io.BytesIO(data))
        if image.format == "JPEG":
            # Lets libjpeg decode at 1/2, 1/4 or 1/8 scale straight away: a 12 MP photo costs
            # a fraction of its full decode. Only ever scales down to >= `size`.
            image.draft("RGB", (size, size))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRejected(f"the {label} is damaged or incomplete (cut off?): please take it again") from None
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels over white, as a viewer shows them (black would eat a dark face).
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits, or every pixel clips to white.
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        image = Image.fromarray((array * (255.0 / peak)).astype(np.uint8), "L")
    return image.convert("RGB")
