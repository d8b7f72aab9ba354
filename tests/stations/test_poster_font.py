"""The station poster (PNG) and the service-hours certificate share one CJK font discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import fonts
from server.activities.certificate import cjk_font_path
from server.stations import qr

WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@pytest.fixture(autouse=True)
def _fresh_lookup():
    fonts.find_cjk_font.cache_clear()
    yield
    fonts.find_cjk_font.cache_clear()


@pytest.mark.skipif(not Path(WQY).is_file(), reason="fonts-wqy-microhei is not installed")
def test_poster_finds_the_installed_cjk_font_without_configuration(app, monkeypatch):
    monkeypatch.setitem(app.config, "POSTER_FONT_PATH", None)
    font, has_cjk = qr._font(40)
    assert has_cjk
    found = fonts.find_cjk_font(None)
    assert Path(font.path) == Path(found) == Path(cjk_font_path())


def test_a_configured_font_wins_and_a_missing_one_falls_back(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "POSTER_FONT_PATH", str(tmp_path / "missing.ttc"))
    monkeypatch.setattr(fonts, "CANDIDATE_FONTS", ())
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)
    font, has_cjk = qr._font(40)
    assert not has_cjk  # nothing on this "machine": the English caption is used
    if Path(WQY).is_file():
        fonts.find_cjk_font.cache_clear()
        monkeypatch.setitem(app.config, "POSTER_FONT_PATH", WQY)
        font, has_cjk = qr._font(40)
        assert has_cjk and font.path == WQY
