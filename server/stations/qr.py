"""A station's mini-program code (wxacode.getUnlimited) and its printable poster.

The code comes from WeChat through the shared `server.wechat.codes.wxacode_jpeg` (cached in
Redis per scene and width, so printing a batch of posters does not spend WeChat's quota;
rotating the secret changes the cache key). The poster is an A5 sheet with the station's
name and kind above the code: as PDF (text set in the reader's built-in Chinese font
STSong-Light, so it needs no font file here) or as PNG (needs a CJK font file:
POSTER_FONT_PATH, otherwise the shared discovery `server.fonts.find_cjk_font` — wqy-microhei,
Noto CJK, fc-list — and, failing those, the PNG carries the code and an ASCII caption only).
"""

from __future__ import annotations

import io
import zlib

from flask import current_app
from PIL import Image, ImageDraw, ImageFont

from server.fonts import find_cjk_font
from server.stations.models import DEFAULT_CHECKIN_RADIUS_M, KINDS, Station
from server.stations.services import scene_of
from server.wechat.codes import jpeg_to_png, wxacode_jpeg

DEFAULT_PAGE = "packages/checkin/scan/index"


def station_code_jpeg(station: Station, width: int = 430) -> bytes:
    """The station's mini-program code as WeChat returns it (JPEG), cached."""
    page = current_app.config.get("STATION_QR_PAGE", DEFAULT_PAGE)
    return wxacode_jpeg(scene_of(station), page, width, f"st:qr:{station.id}", "station")


def station_code_png(station: Station, width: int = 430) -> bytes:
    return jpeg_to_png(station_code_jpeg(station, width))


def _font(size: int):
    path = find_cjk_font(current_app.config.get("POSTER_FONT_PATH"))
    if path:
        return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size=size), False


def _radius_m(station: Station) -> int:
    """The station's check-in radius as printed (what the check-in itself enforces)."""
    return station.checkin_radius_m or DEFAULT_CHECKIN_RADIUS_M


def _split(text: str, parts: int, width_of) -> list[str]:
    """`text` cut into `parts` lines of about equal width (a name has no spaces to break at)."""
    if parts <= 1 or len(text) < parts:
        return [text]
    total = width_of(text)
    lines, line, done = [], "", 0.0
    for ch in text:
        line += ch
        if len(lines) < parts - 1 and done + width_of(line) >= total * (len(lines) + 1) / parts:
            done += width_of(line)
            lines.append(line)
            line = ""
    return [*lines, line] if line else lines


def _fit(text: str, width_of, box_w: float, box_h: float, sizes: range) -> tuple[int, list[str]]:
    """The largest size (of `sizes`) at which `text` fits the box on one line, else on two,
    else three — never cut, never past the sheet's edge. One line only down to 70% of the
    largest size: two lines of large type read better on a wall than one of small type.
    `width_of(text)` is the width at size 1 (a glyph's width grows with its size)."""
    for count in (1, 2, 3):
        lines = _split(text, count, width_of)
        widest = max(width_of(line) for line in lines)
        for size in sizes:
            if count == 1 and len(text) > 1 and size < sizes.start * 0.7:
                break
            if len(lines) * size * 1.2 <= box_h and widest * size <= box_w:
                return size, lines
    lines = _split(text, 3, width_of)  # a name of 64 characters: as large as the box allows
    size = min(box_h / (len(lines) * 1.2), box_w / max(width_of(line) for line in lines))
    return max(int(size), 1), lines


def poster_png(station: Station) -> bytes:
    """A5 at 150 dpi (874 × 1240): name, kind, the code, how to use it."""
    width, height = 874, 1240
    code = Image.open(io.BytesIO(station_code_jpeg(station, 640))).convert("RGB")
    canvas = Image.new("RGB", (width, height), (255, 248, 230))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 170), fill=(230, 120, 20))
    measure, has_cjk = _font(100)
    small_font, _ = _font(34)
    if has_cjk:
        title, subtitle = station.name, f"{KINDS.get(station.kind, '')} · 骑手扫码打卡领积分"
        footer = f"打开微信扫一扫 · 到站 {_radius_m(station)} 米内打卡"
    else:  # no CJK font here: keep the poster legible rather than print boxes
        title, subtitle = f"Fengchao station #{station.id}", "Scan to check in"
        footer = f"WeChat > Scan, within {_radius_m(station)} m"
    # the whole name in the band (a full official name runs to 20 characters and more)
    size, lines = _fit(
        title, lambda text: measure.getlength(text) / 100, width - 80, 150, range(64, 27, -2)
    )
    title_font, _ = _font(size)
    for n, line in enumerate(lines):
        y = 85 + (n - (len(lines) - 1) / 2) * size * 1.2
        draw.text((width // 2, round(y)), line, font=title_font, fill="white", anchor="mm")
    draw.text((width // 2, 230), subtitle, font=small_font, fill=(90, 60, 20), anchor="mm")
    canvas.paste(code, ((width - code.width) // 2, 290))
    draw.text(
        (width // 2, 290 + code.height + 60),
        footer,
        font=small_font,
        fill=(90, 60, 20),
        anchor="mm",
    )
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    code.close()
    return out.getvalue()


def _pdf_text(text: str) -> str:
    """A PDF hex string in UCS-2 big-endian for the UniGB-UCS2-H encoding."""
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def poster_pdf(station: Station) -> bytes:
    """A5 PDF (420 × 595 pt): Chinese text in STSong-Light (no embedded font), the code."""
    jpeg = station_code_jpeg(station, 640)
    with Image.open(io.BytesIO(jpeg)) as image:
        px_w, px_h = image.size
        if image.mode != "RGB":
            jpeg_buffer = io.BytesIO()
            image.convert("RGB").save(jpeg_buffer, format="JPEG", quality=92)
            jpeg = jpeg_buffer.getvalue()
    page_w, page_h = 420, 595
    side = 300
    x, y = (page_w - side) / 2, 150

    def ems(text: str) -> float:
        # STSong-Light is declared here with every glyph one em wide (/DW 1000, no /W), and
        # a reader spaces ASCII that way too: one em per character
        return float(len(text))

    def centred(text: str, size: float, top: float) -> str:
        left = (page_w - ems(text) * size) / 2
        return f"BT /F1 {size:g} Tf {left:.1f} {top:.1f} Td {_pdf_text(text)} Tj ET\n"

    def block(text: str, middle: float, box_h: float, sizes: range) -> str:
        """`text` whole, as large as `sizes` allow on up to three lines around `middle`."""
        size, lines = _fit(text, ems, page_w - 40, box_h, sizes)
        return "".join(
            centred(line, size, middle - size * 0.35 + ((len(lines) - 1) / 2 - n) * size * 1.2)
            for n, line in enumerate(lines)
        )

    kind = KINDS.get(station.kind, "")
    content = (
        "0.9 0.47 0.08 rg 0 505 420 90 re f\n"
        "1 1 1 rg\n"
        + block(station.name, 550, 80, range(26, 11, -1))
        + "0.35 0.24 0.08 rg\n"
        + centred(f"{kind} · 骑手扫码打卡领积分", 14, 470)
        + f"q {side} 0 0 {side} {x:.1f} {y} cm /Im1 Do Q\n"
        + centred(f"打开微信扫一扫，到站 {_radius_m(station)} 米内扫码打卡", 13, 110)
        + block(station.address or "", 80, 40, range(11, 6, -1))
    ).encode()
    compressed = zlib.compress(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w} {page_h}] "
            "/Resources << /Font << /F1 4 0 R >> /XObject << /Im1 6 0 R >> >> "
            "/Contents 7 0 R >>"
        ).encode(),
        (
            b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light "
            b"/Encoding /UniGB-UCS2-H /DescendantFonts [5 0 R] >>"
        ),
        (
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
            b"/FontDescriptor 8 0 R /DW 1000 >>"
        ),
        (
            f"<< /Type /XObject /Subtype /Image /Width {px_w} /Height {px_h} "
            f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode "
            f"/Length {len(jpeg)} >>\nstream\n"
        ).encode()
        + jpeg
        + b"\nendstream",
        f"<< /Length {len(compressed)} /Filter /FlateDecode >>\nstream\n".encode()
        + compressed
        + b"\nendstream",
        (
            b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
            b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
            b"/CapHeight 880 /StemV 93 >>"
        ),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()
