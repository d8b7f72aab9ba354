"""Uploads: size limit, real-image check, EXIF stripped, truncated files, signed serving."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from server.uploads.models import Upload
from tests.factories import jpeg_bytes


def _post(client, auth, data: bytes, name="photo.jpg"):
    return client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(data), name)},
        headers=auth,
        content_type="multipart/form-data",
    )


def _fetch(client, url: str) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200
        return response.get_data()


def _gps_jpeg() -> bytes:
    image = Image.new("RGB", (120, 80), (10, 120, 200))
    exif = image.getexif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "EOS 5D"  # Model
    exif[0x8825] = {1: "N", 2: (34.0, 43.0, 48.0), 3: "E", 4: (113.0, 37.0, 30.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def test_upload_strips_gps_and_camera_exif(client, login, app):
    data = _gps_jpeg()
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825)  # the fixture really carries GPS
    rider = login("rider")
    response = _post(client, rider, data)
    assert response.status_code == 201
    body = response.get_json()
    assert body["moderation"] == "pending" and body["width"] == 120
    for url in (body["url"], body["thumb_url"]):
        with Image.open(io.BytesIO(_fetch(client, url))) as saved:
            assert dict(saved.getexif()) == {}
            assert "exif" not in saved.info


def test_oversize_is_413(client, login, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 2000)
    response = _post(
        client, login("rider"), jpeg_bytes(size=(400, 400), color=(1, 2, 3)) + b"\0" * 3000
    )
    assert (response.status_code, response.get_json()["code"]) == (413, "upload.too_large")


def test_non_image_with_an_image_name_is_refused(client, login):
    response = _post(client, login("rider"), b"#!/bin/sh\necho hi\n" * 20, name="cat.jpg")
    assert (response.status_code, response.get_json()["code"]) == (422, "upload.not_an_image")
    assert Upload.query.count() == 0


def test_truncated_image_is_refused(client, login):
    data = jpeg_bytes(size=(300, 300))
    response = _post(client, login("rider"), data[: len(data) // 2])
    assert (response.status_code, response.get_json()["code"]) == (422, "upload.corrupt_image")


def test_unsupported_format_and_missing_file(client, login):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "BMP")
    rider = login("rider")
    response = _post(client, rider, buffer.getvalue(), name="a.bmp")
    assert (response.status_code, response.get_json()["code"]) == (415, "upload.unsupported_type")
    missing = client.post(
        "/api/v1/uploads", data={}, headers=rider, content_type="multipart/form-data"
    )
    assert missing.status_code == 422


def test_png_with_alpha_stays_png_and_login_is_required(client, login):
    buffer = io.BytesIO()
    Image.new("RGBA", (20, 20), (1, 2, 3, 100)).save(buffer, "PNG")
    body = _post(client, login("rider"), buffer.getvalue(), name="x.png").get_json()
    with Image.open(io.BytesIO(_fetch(client, body["url"]))) as saved:
        assert saved.format == "PNG" and saved.mode == "RGBA"
    assert _post(client, {}, jpeg_bytes()).status_code == 401


def test_signed_links_tampering_and_expiry(client, login):
    body = _post(client, login("rider"), jpeg_bytes()).get_json()
    assert client.get(body["url"].replace("s=", "s=0")).status_code == 404
    assert client.get(body["url"].replace("a=owner", "a=staff")).status_code == 404
    import datetime as dt

    from server import clock

    clock.freeze(clock.utcnow() + dt.timedelta(days=3))
    expired = client.get(body["url"])
    assert (expired.status_code, expired.get_json()["code"]) == (404, "upload.link_expired")


def test_media_check_verdicts_arrive_at_the_callback(client, login, sandbox, db):
    from tests.wechat.test_callback import post_plain

    rider = login("rider")
    ids = [_post(client, rider, jpeg_bytes()).get_json()["id"] for _ in range(2)]
    from server.uploads.services import request_media_checks

    assert request_media_checks() == 2
    assert request_media_checks() == 0  # each photo is sent once
    checks = sandbox.media_checks()
    assert len(checks) == 2 and all(c["openid"] == rider.openid for c in checks)
    first, second = checks
    risky = dict(second["event"], result={"suggest": "risky", "label": 20002})
    assert post_plain(client, first["event_xml"]).status_code == 200
    assert post_plain(client, risky, as_json=True).status_code == 200
    db.session.expire_all()
    states = {u.id: u.moderation for u in Upload.query.filter(Upload.id.in_(ids))}
    by_trace = {u.trace_id: u.moderation for u in Upload.query.filter(Upload.id.in_(ids))}
    assert by_trace[first["trace_id"]] == first["suggest"] == "pass"
    assert by_trace[second["trace_id"]] == "risky"
    assert sorted(states.values()) == ["pass", "risky"]


def test_a_photo_whose_verdict_never_came_is_asked_again(client, login, sandbox, db):
    """A verdict push lost (or come before its trace id was saved) left the photo pending,
    hidden from everyone else, for good: after an hour without one it is asked again, and
    the new verdict counts."""
    import datetime as dt

    from server import clock
    from server.uploads.services import VERDICT_WAIT, request_media_checks
    from tests.wechat.test_callback import post_plain

    start = dt.datetime(2026, 11, 18, 4, 0)
    clock.freeze(start)
    upload_id = _post(client, login("rider"), jpeg_bytes()).get_json()["id"]
    assert request_media_checks() == 1
    first_trace = db.session.get(Upload, upload_id).trace_id
    clock.freeze(start + VERDICT_WAIT - dt.timedelta(seconds=1))
    assert request_media_checks() == 0  # still within WeChat's time
    clock.freeze(start + VERDICT_WAIT + dt.timedelta(seconds=1))
    assert request_media_checks() == 1
    assert request_media_checks() == 0  # claimed once
    db.session.expire_all()
    upload = db.session.get(Upload, upload_id)
    assert upload.trace_id != first_trace and upload.moderation == "pending"
    latest = sandbox.media_checks()[-1]
    assert latest["trace_id"] == upload.trace_id
    assert post_plain(client, latest["event_xml"]).status_code == 200
    db.session.expire_all()
    assert db.session.get(Upload, upload_id).moderation == latest["suggest"] == "pass"


def test_uploads_are_rate_limited(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_UPLOAD", "20/minute")
    rider = login("rider")
    data = jpeg_bytes(size=(8, 8))
    codes = [_post(client, rider, data).status_code for _ in range(20)]
    assert codes == [201] * 20
    last = _post(client, rider, data)
    assert (last.status_code, last.get_json()["code"]) == (429, "rate_limited")


@pytest.mark.parametrize("variant", ["full", "thumb"])
def test_risky_photo_is_not_served_publicly(client, login, db, variant):
    from server.uploads.services import signed_url

    body = _post(client, login("rider"), jpeg_bytes()).get_json()
    upload = db.session.get(Upload, body["id"])
    upload.moderation = "risky"
    db.session.commit()
    with client.application.test_request_context():
        public, staff = signed_url(upload, variant, "public"), signed_url(upload, variant, "staff")
    assert client.get(public).status_code == 404
    _fetch(client, staff)


def test_a_png_header_claiming_400_megapixels_is_refused_not_500(client, login):
    """Pillow itself raises DecompressionBombError on open beyond 2x its limit (fuzz find)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
    response = _post(client, login("rider"), png + chunk(b"IEND", b""), name="bomb.png")
    assert (response.status_code, response.get_json()["code"]) == (422, "upload.too_many_pixels")
