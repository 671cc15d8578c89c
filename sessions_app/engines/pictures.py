"""Group pictures as WhatsApp takes them.

WhatsApp refuses group pictures much larger than 640 pixels on a side, and shows them
square. A picture the API accepted (a JPEG of at most 1 MiB) is centre-cropped to a
square and scaled down to at most 640 x 640 before it is sent; one already that small
and square goes as it is. The answer is a baseline JPEG.
"""

import io

from PIL import Image, UnidentifiedImageError

from gateway.exceptions import InvalidInput

MAX_SIDE = 640
JPEG_QUALITY = 90


def fit_for_whatsapp(jpeg: bytes) -> bytes:
    """The picture cropped square and at most MAX_SIDE pixels on a side; InvalidInput
    when it cannot be read as an image."""
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            image.load()
            width, height = image.size
            if width == height <= MAX_SIDE and image.format == "JPEG":
                return jpeg
            side = min(width, height)
            left, top = (width - side) // 2, (height - side) // 2
            square = image.crop((left, top, left + side, top + side))
            if side > MAX_SIDE:
                square = square.resize((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            square.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidInput(
            "the picture could not be read as an image", details={"image": [str(exc)[:200]]}
        ) from exc
