"""The service-hours certificate as a PNG (Pillow), with its verification code and a QR code.

Chinese needs a CJK font: `CERTIFICATE_FONT` (a path) or one of the common system fonts
(Debian: `fonts-noto-cjk` or `fonts-wqy-microhei`). Without one the certificate is drawn
with English labels so it still carries the figures and the verification code.
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from flask import current_app
from PIL import Image, ImageDraw, ImageFont

from server.activities.models import ServiceHoursCertificate
from server.clock import isoformat
from server.fonts import find_cjk_font

WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
RED = (176, 28, 36)
INK = (34, 34, 34)
GREY = (110, 110, 110)


def cjk_font_path() -> str | None:
    """The CJK font the certificate uses, or None when the machine has none."""
    return find_cjk_font(current_app.config.get("CERTIFICATE_FONT"))


def _font(path: str | None, size: int):
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font, fill) -> None:
    width = draw.textlength(text, font=font)
    draw.text(((WIDTH - width) / 2, y), text, font=font, fill=fill)


def render_png(certificate: ServiceHoursCertificate, rows: list[dict[str, Any]]) -> bytes:
    """The certificate page as PNG bytes."""
    path = cjk_font_path()
    zh = path is not None
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 253, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, WIDTH - 40, HEIGHT - 40), outline=RED, width=8)
    draw.rectangle((60, 60, WIDTH - 60, HEIGHT - 60), outline=RED, width=2)
    title, body, small = _font(path, 72), _font(path, 36), _font(path, 26)
    hours = round(certificate.total_minutes / 60, 1)
    period = f"{certificate.period_from:%Y-%m-%d} — {certificate.period_to:%Y-%m-%d}"
    if zh:
        _centered(draw, 160, "志愿服务时长证明", title, RED)
        lines = [
            f"兹证明 {certificate.holder_name} 同志",
            f"于 {period} 期间",
            f"参加社区志愿服务活动 {certificate.activity_count} 次，",
            f"累计服务时长 {hours} 小时。",
            "特此证明。",
        ]
    else:
        _centered(draw, 160, "Volunteer Service Hours Certificate", title, RED)
        lines = [
            f"Holder: user #{certificate.user_id}",
            f"Period: {period}",
            f"Activities: {certificate.activity_count}",
            f"Service hours: {hours}",
        ]
    y = 330
    for line in lines:
        draw.text((150, y), line, font=body, fill=INK)
        y += 70
    y += 30
    for row in rows[:14]:
        line = f"{isoformat(row['starts_at'])[:10]}  {row['title']}  {row['service_hours']}h"
        draw.text(
            (150, y),
            line if zh else line.encode("ascii", "replace").decode(),
            font=small,
            fill=GREY,
        )
        y += 42
    if len(rows) > 14:
        draw.text((150, y), f"… +{len(rows) - 14}", font=small, fill=GREY)
    verify_label = "验证码：" if zh else "Verification code: "
    issued = isoformat(certificate.issued_at)[:10]
    draw.text((150, HEIGHT - 330), f"{verify_label}{certificate.code}", font=body, fill=RED)
    draw.text(
        (150, HEIGHT - 270),
        ("签发日期：" if zh else "Issued: ") + issued,
        font=small,
        fill=INK,
    )
    draw.text(
        (150, HEIGHT - 225),
        "工作人员可在蜂巢「证明核验」中输入验证码核验"
        if zh
        else "Staff verify the code in Fengchao",
        font=small,
        fill=GREY,
    )
    qr = qrcode.make(f"FC-CERT:{certificate.code}", box_size=6, border=2).get_image()
    qr = qr.convert("RGB").resize((220, 220))
    image.paste(qr, (WIDTH - 320, HEIGHT - 340))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
