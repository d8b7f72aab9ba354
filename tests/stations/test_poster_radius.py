"""The printed poster tells riders the station's own check-in radius, not a fixed 200 m."""

from __future__ import annotations

import zlib

import pytest
from PIL import ImageDraw, ImageFont

from server.stations import qr
from tests.factories import make_station


@pytest.fixture
def drawn(monkeypatch):
    """The texts the PNG poster draws (ImageDraw.text is spied on, nothing is rendered)."""
    texts: list[str] = []

    def spy(self, xy, text, *args, **kwargs):
        texts.append(text)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    return texts


def poster(client, station, staff):
    url = f"/api/v1/admin/stations/{station.id}/qrcode.png?variant=poster"
    response = client.get(url, headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)[:200]


def cjk_font(monkeypatch, has_cjk: bool):
    monkeypatch.setattr(qr, "_font", lambda size: (ImageFont.load_default(), has_cjk))


@pytest.mark.parametrize("radius", [50, 500])
def test_the_png_poster_says_the_station_radius(client, login, units, drawn, monkeypatch, radius):
    cjk_font(monkeypatch, True)
    station = make_station(units["A"], name="小驿站", checkin_radius_m=radius)
    poster(client, station, login("grid_worker", "A"))
    footer = [text for text in drawn if "打卡" in text and "米" in text]
    assert footer == [f"打开微信扫一扫 · 到站 {radius} 米内打卡"], drawn
    assert not any("200" in text for text in drawn)


def test_the_ascii_caption_says_it_too(client, login, units, drawn, monkeypatch):
    cjk_font(monkeypatch, False)
    station = make_station(units["A"], checkin_radius_m=50)
    poster(client, station, login("grid_worker", "A"))
    assert any("50 m" in text for text in drawn), drawn


def test_the_pdf_poster_says_the_station_radius(client, login, units):
    station = make_station(units["A"], name="小驿站", checkin_radius_m=50)
    staff = login("grid_worker", "A")
    pdf = client.get(f"/api/v1/admin/stations/{station.id}/poster.pdf", headers=staff)
    assert pdf.status_code == 200
    content = zlib.decompress(
        pdf.data.split(b"/FlateDecode >>\nstream\n")[1].split(b"\nendstream")[0]
    )
    assert "到站 50 米内".encode("utf-16-be").hex().upper().encode() in content
