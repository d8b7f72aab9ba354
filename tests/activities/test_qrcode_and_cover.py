"""The activity's printable mini-program code (shared with stations) and its cover upload."""

from __future__ import annotations

import io

from PIL import Image

from server import clock
from server.uploads.models import Upload
from tests.activities.helpers import make_activity, scene_of
from tests.activities.test_admin_and_hours import BEFORE, payload
from tests.factories import jpeg_bytes


def test_qrcode_png_carries_the_signed_scene_and_is_scoped(client, login, units, sandbox):
    activity = make_activity(units["A"])
    staff = login("grid_worker", "A")
    url = f"/api/v1/admin/activities/{activity.id}/qrcode.png"
    png = client.get(url, headers=staff)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).format == "PNG"
    calls = sandbox.calls(path="/wxa/getwxacodeunlimit")
    assert len(calls) == 1
    assert calls[0]["body"]["scene"] == scene_of(activity)
    assert calls[0]["body"]["page"] == "packages/activities/detail/index"
    client.get(url, headers=staff)  # cached: WeChat is not asked again
    assert len(sandbox.calls(path="/wxa/getwxacodeunlimit")) == 1
    outsider = client.get(url, headers=login("community_admin", "B"))
    assert outsider.status_code == 404 and outsider.get_json()["code"] == "activity.not_found"
    citizen = client.get(url, headers=login("rider"))
    assert citizen.status_code == 403


def test_qrcode_when_wechat_is_down(client, login, units, sandbox):
    activity = make_activity(units["A"])
    sandbox.fault("/wxa/getwxacodeunlimit", http_status=503)
    down = client.get(
        f"/api/v1/admin/activities/{activity.id}/qrcode.png", headers=login("grid_worker", "A")
    )
    assert down.status_code == 503
    assert down.get_json()["code"] == "activity.qrcode_unavailable"


def _upload(client, auth) -> int:
    response = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(jpeg_bytes()), "cover.jpg")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_cover_must_be_the_callers_own_unused_upload(client, login, units, db):
    clock.freeze(BEFORE)
    admin = login("community_admin", "A")
    someone = login("rider")
    theirs = _upload(client, someone)
    refused = client.post(
        "/api/v1/admin/activities",
        json=payload(units["A"], cover_upload_id=theirs),
        headers=admin,
    )
    assert refused.status_code == 404 and refused.get_json()["code"] == "upload.not_found"

    mine = _upload(client, admin)
    created = client.post(
        "/api/v1/admin/activities", json=payload(units["A"], cover_upload_id=mine), headers=admin
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert f"/api/v1/media/{mine}/full" in body["cover_url"]
    assert db.session.get(Upload, mine).ref_type == "activity_cover"

    # the same photo cannot become another activity's cover
    again = client.post(
        "/api/v1/admin/activities", json=payload(units["A"], cover_upload_id=mine), headers=admin
    )
    assert again.status_code == 409 and again.get_json()["code"] == "upload.already_used"

    # editing: someone else's upload is refused, a new own one is taken
    url = f"/api/v1/admin/activities/{body['id']}"
    patched = client.patch(url, json={"cover_upload_id": theirs}, headers=admin)
    assert patched.status_code == 404 and patched.get_json()["code"] == "upload.not_found"
    newer = _upload(client, admin)
    patched = client.patch(url, json={"cover_upload_id": newer}, headers=admin)
    assert patched.status_code == 200, patched.get_json()
    assert f"/api/v1/media/{newer}/full" in patched.get_json()["cover_url"]


def test_a_cover_is_public_only_once_wechat_passed_it(client, login, units, db):
    """As report photos: an uploaded cover is checked by WeChat before others see it; staff
    see their own at once."""
    from urllib.parse import urlsplit

    clock.freeze(BEFORE)
    admin = login("community_admin", "A")
    mine = _upload(client, admin)
    created = client.post(
        "/api/v1/admin/activities", json=payload(units["A"], cover_upload_id=mine), headers=admin
    ).get_json()
    assert f"/api/v1/media/{mine}/full" in created["cover_url"]
    link = urlsplit(created["cover_url"])
    shown = client.get(f"{link.path}?{link.query}", headers=admin)
    shown.close()
    assert shown.status_code == 200
    activity_id = created["id"]
    client.post(f"/api/v1/admin/activities/{activity_id}/publish", headers=admin)
    public = client.get(f"/api/v1/activities/{activity_id}").get_json()
    assert public["cover_url"] is None  # pending: not for everyone yet
    db.session.get(Upload, mine).moderation = "pass"
    db.session.commit()
    public = client.get(f"/api/v1/activities/{activity_id}").get_json()
    assert f"/api/v1/media/{mine}/full" in public["cover_url"]
    link = urlsplit(public["cover_url"])
    shown = client.get(f"{link.path}?{link.query}")
    shown.close()
    assert shown.status_code == 200
