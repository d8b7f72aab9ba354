"""Images the sandbox hands out: a scannable stand-in for a mini-program code."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import qrcode
from PIL import Image, ImageDraw

MIN_WIDTH, MAX_WIDTH = 280, 1280


def render_wxacode(scene: str, page: str | None, width: int, env_version: str) -> bytes:
    """JPEG bytes of a QR code carrying page and scene, `width` pixels square, with a caption.

    WeChat draws a round "sun code"; a QR code is close enough for a developer to scan and
    read what the real code would open.
    """
    width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    payload = "wxacode-sandbox:" + (page or "") + "?" + urlencode({"scene": scene})
    if env_version != "release":
        payload += "&env_version=" + env_version
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    caption_h = max(24, width // 12)
    side = width - caption_h
    code = code.resize((side, side), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (width, width), "white")
    canvas.paste(code, ((width - code.width) // 2, 0))
    ImageDraw.Draw(canvas).text((8, width - caption_h + 4), f"sandbox scene={scene}", fill="black")
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return out.getvalue()


def placeholder_jpeg(text: str = "sandbox") -> bytes:
    """A small JPEG, for media the tests did not upload themselves."""
    image = Image.new("RGB", (64, 64), (240, 180, 40))
    ImageDraw.Draw(image).text((4, 26), text[:10], fill="black")
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()
