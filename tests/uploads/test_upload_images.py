"""Uploads: phone JPEGs with a second image (MPF), EXIF orientation, the size reported."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageOps

from tests.uploads.test_uploads import _fetch, _post

QUADRANTS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))  # TL, TR, BL, BR


def _quadrants(size=(80, 60)) -> Image.Image:
    """Four plain colours, one a corner: any turn or mirror moves them."""
    image = Image.new("RGB", size)
    w, h = size
    for i, color in enumerate(QUADRANTS):
        x, y = (i % 2) * w // 2, (i // 2) * h // 2
        image.paste(color, (x, y, x + w // 2, y + h // 2))
    return image


def _corners(image: Image.Image) -> list[tuple[int, ...]]:
    w, h = image.size
    points = [
        (w // 4, h // 4),
        (3 * w // 4, h // 4),
        (w // 4, 3 * h // 4),
        (3 * w // 4, 3 * h // 4),
    ]
    return [image.convert("RGB").getpixel(p) for p in points]


def _same_colours(a, b) -> bool:
    return all(
        abs(x - y) <= 40 for pa, pb in zip(a, b, strict=True) for x, y in zip(pa, pb, strict=True)
    )


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Canon"  # Make
    return exif.tobytes()


# --- MPO: a JPEG carrying a second image (Samsung, Android Ultra HDR, iOS HDR gain maps) ----


def _mpo_jpeg() -> bytes:
    first = Image.new("RGB", (64, 48), (200, 0, 0))
    second = Image.new("RGB", (32, 24), (0, 200, 0))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=_exif(1))
    return buffer.getvalue()


def test_phone_jpeg_with_an_mpf_second_image_is_stored_as_a_plain_jpeg(client, login):
    data = _mpo_jpeg()
    with Image.open(io.BytesIO(data)) as original:  # the fixture is what phones send
        assert (original.format, original.n_frames) == ("MPO", 2)
        assert original.getexif()[0x010F] == "Canon"
    response = _post(client, login("rider"), data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["width"], body["height"]) == (64, 48)
    for url in (body["url"], body["thumb_url"]):
        stored = _fetch(client, url)
        assert b"MPF\x00" not in stored  # no second image left
        with Image.open(io.BytesIO(stored)) as saved:
            assert saved.format == "JPEG" and getattr(saved, "n_frames", 1) == 1
            assert saved.size == (64, 48)
            assert dict(saved.getexif()) == {} and "exif" not in saved.info
            assert "mp" not in saved.info
            r, g, b = saved.convert("RGB").getpixel((32, 24))  # the first frame, not the second
            assert r > 150 and g < 60 and b < 60


# --- EXIF orientation -------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_exif_orientation_is_applied_as_pillow_does(client, login, orientation):
    original = _quadrants()
    buffer = io.BytesIO()
    original.save(buffer, "JPEG", quality=95, exif=_exif(orientation))
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        expected = ImageOps.exif_transpose(opened)
    response = _post(client, login("rider"), buffer.getvalue())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["width"], body["height"]) == expected.size
    with Image.open(io.BytesIO(_fetch(client, body["url"]))) as saved:
        assert saved.size == expected.size
        assert _same_colours(_corners(saved), _corners(expected))
        assert dict(saved.getexif()) == {}


def _jpeg_with_odd_exif(image: Image.Image) -> bytes:
    """Orientation 6 (a phone held upright) and a Make tag stored as a DOUBLE, not ASCII:
    Pillow reads it, but ImageOps.exif_transpose fails re-serialising it (AttributeError)."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 2)
    tiff += struct.pack(">HHII", 0x010F, 12, 1, 38)  # Make, type DOUBLE
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation = 6
    tiff += struct.pack(">I", 0) + struct.pack(">d", 1.5)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=b"Exif\x00\x00" + tiff)
    return buffer.getvalue()


def test_an_odd_exif_tag_type_still_turns_the_photo_upright(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    original = _quadrants((40, 30))
    response = _post(client, login("rider"), _jpeg_with_odd_exif(original))
    assert response.status_code == 201, (response.status_code, response.get_json())
    body = response.get_json()
    assert (body["width"], body["height"]) == (30, 40)
    with Image.open(io.BytesIO(_fetch(client, body["url"]))) as saved:
        assert saved.size == (30, 40)
        # orientation 6: shown turned 90° clockwise (Pillow's ROTATE_270)
        upright = original.transpose(Image.Transpose.ROTATE_270)
        assert _same_colours(_corners(saved), _corners(upright))
        assert dict(saved.getexif()) == {}


def test_unreadable_exif_is_no_reason_to_refuse_the_photo(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def broken(self):
        raise struct.error("unpack requires a buffer of 12 bytes")

    monkeypatch.setattr(Image.Image, "getexif", broken)
    buffer = io.BytesIO()
    _quadrants((40, 30)).save(buffer, "JPEG", exif=_exif(6))
    response = _post(client, login("rider"), buffer.getvalue())
    assert response.status_code == 201, (response.status_code, response.get_json())
    assert (response.get_json()["width"], response.get_json()["height"]) == (40, 30)  # as sent


# --- the size reported is the size stored -----------------------------------------------


@pytest.mark.parametrize("size", [(1, 6000), (6000, 1), (3001, 1999), (7, 2561)])
def test_the_reported_size_is_that_of_the_stored_image(client, login, size):
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, "PNG")
    response = _post(client, login("rider"), buffer.getvalue(), name="x.png")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    with Image.open(io.BytesIO(_fetch(client, body["url"]))) as saved:
        assert (body["width"], body["height"]) == saved.size
    assert min(saved.size) >= 1 and max(saved.size) <= 2560
