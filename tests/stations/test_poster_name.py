"""A poster prints the station's whole name inside the sheet, however long: smaller, then
on two or three lines — never cut, never past the edge (a full official name such as
中原区建设路街道桐柏路社区新就业群体暖心驿站 runs to 22 characters; names may have 64)."""

from __future__ import annotations

import re
import zlib

import pytest
from PIL import ImageDraw

from tests.factories import make_station

NAMES = [
    "小驿站",
    "淮北街社区新就业群体暖心驿站",
    "中原区建设路街道桐柏路社区新就业群体暖心驿站",
    "郑州市" * 21 + "站",  # 64 characters
    "Station 7 of Jinshui District, Zhengzhou (open 24h)",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_png_poster_prints_the_whole_name_within_the_sheet(
    client, login, units, monkeypatch, name
):
    drawn: list[tuple[tuple, str, object]] = []
    real_text = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        drawn.append((xy, text, kwargs.get("font")))
        return real_text(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    station = make_station(units["A"], name=name)
    url = f"/api/v1/admin/stations/{station.id}/qrcode.png?variant=poster"
    assert client.get(url, headers=login("grid_worker", "A")).status_code == 200
    title = [(xy, text, font) for xy, text, font in drawn if xy[1] < 170]  # the orange band
    assert "".join(text for _, text, _ in title) == name
    assert 1 <= len(title) <= 3
    for (_x, y), text, font in title:
        assert font.getlength(text) <= 874 - 40, (text, font.size)
        assert font.size * 0.5 <= y <= 170 - font.size * 0.5, (text, y)
    if len(name) <= 8:
        assert title[0][2].size == 64  # a short name keeps the large type


@pytest.mark.parametrize("name", NAMES)
def test_the_pdf_poster_prints_the_whole_name_within_the_page(client, login, units, name):
    station = make_station(units["A"], name=name, address="金水区经三路 1 号")
    pdf = client.get(
        f"/api/v1/admin/stations/{station.id}/poster.pdf", headers=login("grid_worker", "A")
    )
    assert pdf.status_code == 200
    content = zlib.decompress(
        pdf.data.split(b"/FlateDecode >>\nstream\n")[1].split(b"\nendstream")[0]
    ).decode()
    band = content.split("1 1 1 rg\n", 1)[1].split("0.35 0.24 0.08 rg", 1)[0]
    shown = re.findall(r"BT /F1 ([\d.]+) Tf (-?[\d.]+) ([\d.]+) Td <([0-9A-F]*)> Tj ET", band)
    assert 1 <= len(shown) <= 3
    text = "".join(bytes.fromhex(hexed).decode("utf-16-be") for *_, hexed in shown)
    assert text == name
    for size, left, top, hexed in shown:
        line = bytes.fromhex(hexed).decode("utf-16-be")
        ems = len(line)  # the font is declared with every glyph one em wide (/DW 1000)
        assert float(left) >= 0 and float(left) + ems * float(size) <= 420, line
        assert 505 <= float(top) <= 595 - float(size) * 0.8, line  # inside the band
    assert "金水区经三路 1 号".encode("utf-16-be").hex().upper() in content
