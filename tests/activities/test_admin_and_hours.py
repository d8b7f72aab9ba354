"""Staff management (create, publish, edit, cancel, lists, CSV), the public list, certificates."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image
from sqlalchemy import select

from server import clock
from server.notifications.models import Notification
from tests.activities.helpers import END, START, make_activity, scan

BEFORE = START - dt.timedelta(days=3)


def payload(unit, **extra):
    body = {
        "org_unit_id": unit.id,
        "title": "暖新问需会",
        "kind": "needs_meeting",
        "description": "听听骑手朋友的困难和建议",
        "place": "淮北街社区小哥驿站",
        "lat": unit.center_lat,
        "lng": unit.center_lng,
        "starts_at": "2026-06-06T09:00:00+08:00",
        "ends_at": "2026-06-06T11:00:00+08:00",
        "capacity": 2,
        "audience": "riders",
    }
    body.update(extra)
    return body


def test_create_publish_enrol_cancel_notifies(client, db, units, login):
    clock.freeze(BEFORE)
    admin = login("community_admin", "A")
    response = client.post("/api/v1/admin/activities", json=payload(units["A"]), headers=admin)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "draft"
    assert created["starts_at"] == "2026-06-06T09:00:00+08:00"
    assert created["qr_scene"].startswith("a")
    activity_id = created["id"]
    # Drafts are not public.
    assert client.get(f"/api/v1/activities/{activity_id}").status_code == 404
    published = client.post(f"/api/v1/admin/activities/{activity_id}/publish", headers=admin)
    assert published.get_json()["status"] == "published"

    # a name typed like a spreadsheet formula is exported as text (CSV injection)
    riders = [login("rider", display_name="=1+2赵")] + [login("rider") for _ in range(2)]
    for rider in riders:
        client.post(f"/api/v1/activities/{activity_id}/enrolments", headers=rider)
    # More places: the waitlisted rider moves up.
    edited = client.patch(
        f"/api/v1/admin/activities/{activity_id}", json={"capacity": 3}, headers=admin
    ).get_json()
    assert (edited["enrolled_count"], edited["waitlist_count"]) == (3, 0)
    shrink = client.patch(
        f"/api/v1/admin/activities/{activity_id}", json={"capacity": 1}, headers=admin
    )
    assert (shrink.status_code, shrink.get_json()["code"]) == (
        409,
        "activity.capacity_below_enrolled",
    )
    bad_time = client.patch(
        f"/api/v1/admin/activities/{activity_id}",
        json={"ends_at": "2026-06-06T08:00:00+08:00"},
        headers=admin,
    )
    assert (bad_time.status_code, bad_time.get_json()["code"]) == (422, "activity.invalid_time")

    listing = client.get(
        f"/api/v1/admin/activities/{activity_id}/enrolments", headers=admin
    ).get_json()
    assert [row["status"] for row in listing["items"]] == ["enrolled"] * 3
    csv_response = client.get(
        f"/api/v1/admin/activities/{activity_id}/enrolments.csv", headers=admin
    )
    text = csv_response.get_data(as_text=True)
    assert csv_response.mimetype == "text/csv"
    assert text.startswith("\ufeff序号,姓名")
    assert text.count("已报名") == 3
    assert ",'=1+2赵," in text and ",=1+2赵," not in text

    cancelled = client.post(
        f"/api/v1/admin/activities/{activity_id}/cancel",
        json={"reason": "暴雨预警，改期举行"},
        headers=admin,
    )
    assert cancelled.get_json()["status"] == "cancelled"
    notes = db.session.execute(
        select(Notification.user_id, Notification.kind).where(
            Notification.kind == "activity_cancelled"
        )
    ).all()
    assert sorted(notes) == sorted((r.user_id, "activity_cancelled") for r in riders)
    # Cancelling again changes nothing and notifies nobody twice.
    client.post(f"/api/v1/admin/activities/{activity_id}/cancel", json={}, headers=admin)
    assert db.session.execute(select(Notification.id)).all().__len__() == 4  # 3 + 1 promotion
    again = client.patch(
        f"/api/v1/admin/activities/{activity_id}", json={"title": "新标题"}, headers=admin
    )
    assert (again.status_code, again.get_json()["code"]) == (409, "activity.not_editable")


def test_staff_scope_and_roles(client, units, login):
    clock.freeze(BEFORE)
    in_b = make_activity(units["B"], status="draft")
    admin_a = login("community_admin", "A")
    response = client.get(f"/api/v1/admin/activities/{in_b.id}", headers=admin_a)
    assert (response.status_code, response.get_json()["code"]) == (404, "activity.not_found")
    response = client.post("/api/v1/admin/activities", json=payload(units["B"]), headers=admin_a)
    assert response.status_code == 404
    grid = login("grid_worker", "A")
    response = client.post("/api/v1/admin/activities", json=payload(units["A"]), headers=grid)
    assert response.status_code == 403
    rider = login("rider")
    assert client.get("/api/v1/admin/activities", headers=rider).status_code == 403
    street = login("street_admin", "S1")
    items = client.get("/api/v1/admin/activities", headers=street).get_json()["items"]
    assert [item["id"] for item in items] == [in_b.id]
    assert client.get("/api/v1/admin/activities", headers=admin_a).get_json()["total"] == 0


def test_public_list_upcoming_first_with_filters(client, units, login):
    clock.freeze(START - dt.timedelta(hours=1))
    past = make_activity(
        units["A"],
        title="往期",
        starts_at=START - dt.timedelta(days=2),
        ends_at=START - dt.timedelta(days=2, hours=-1),
    )
    later = make_activity(
        units["A"],
        title="后天",
        starts_at=START + dt.timedelta(days=2),
        ends_at=END + dt.timedelta(days=2),
        kind="health_check",
    )
    soon = make_activity(units["A"], title="今天")
    street_wide = make_activity(
        units["S1"],
        title="全街道",
        starts_at=START + dt.timedelta(days=1),
        ends_at=END + dt.timedelta(days=1),
    )
    in_c = make_activity(units["C"], title="别的街道")
    make_activity(units["A"], title="草稿", status="draft")

    items = client.get("/api/v1/activities").get_json()["items"]
    assert [i["title"] for i in items] == ["今天", "别的街道", "全街道", "后天", "往期"]
    items = client.get(f"/api/v1/activities?community_id={units['A'].id}").get_json()["items"]
    assert [i["id"] for i in items] == [soon.id, street_wide.id, later.id, past.id]
    items = client.get("/api/v1/activities?kind=health_check").get_json()["items"]
    assert [i["id"] for i in items] == [later.id]
    near_c = client.get(
        f"/api/v1/activities?lat={units['C'].center_lat}&lng={units['C'].center_lng}&radius_m=2000"
    ).get_json()["items"]
    assert [(i["id"], i["distance_m"]) for i in near_c] == [(in_c.id, 0)]
    items = client.get("/api/v1/activities?when=past").get_json()["items"]
    assert [i["id"] for i in items] == [past.id]


def attended(client, login, units, **values):
    activity = make_activity(units["A"], points=10, **values)
    rider = login("rider", display_name="刘师傅")
    clock.freeze(activity.starts_at - dt.timedelta(days=1))
    client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=rider)
    clock.freeze(activity.starts_at)
    scan(client, rider, activity)
    clock.freeze(activity.ends_at - dt.timedelta(minutes=30))
    scan(client, rider, activity)
    return rider, activity


def test_certificate_png_and_verification_code(client, units, login):
    rider, _ = attended(client, login, units)
    clock.freeze(END + dt.timedelta(days=1))
    response = client.get(
        "/api/v1/me/service-hours/certificate?from=2026-01-01&to=2026-12-31", headers=rider
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (1240, 1754)
    image.close()
    code = response.headers["X-Certificate-Code"]
    # The same figures for the same period keep the same code.
    again = client.get(
        "/api/v1/me/service-hours/certificate?from=2026-01-01&to=2026-12-31", headers=rider
    )
    assert again.headers["X-Certificate-Code"] == code

    staff = login("grid_worker", "C")
    checked = client.get(f"/api/v1/service-hours/certificates/{code.lower()}", headers=staff)
    assert checked.status_code == 200
    body = checked.get_json()
    assert body["holder_name"] == "刘师傅"
    assert (body["total_minutes"], body["activity_count"], body["valid"]) == (90, 1, True)
    assert body["period_to"] == "2026-06-07"  # capped at today

    unknown = client.get("/api/v1/service-hours/certificates/AAAA-BBBB-CCCC", headers=staff)
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "certificate.not_found")
    assert (
        client.get(f"/api/v1/service-hours/certificates/{code}", headers=rider).status_code == 403
    )


def test_certificate_refusals(client, units, login):
    rider = login("rider")
    clock.freeze(BEFORE)
    none = client.get("/api/v1/me/service-hours/certificate", headers=rider)
    assert (none.status_code, none.get_json()["code"]) == (404, "certificate.no_hours")
    backwards = client.get(
        "/api/v1/me/service-hours/certificate?from=2026-05-01&to=2026-04-01", headers=rider
    )
    assert (backwards.status_code, backwards.get_json()["code"]) == (
        422,
        "certificate.invalid_period",
    )


def test_a_draft_whose_end_has_passed_is_not_published(client, db, units, login):
    """A state refusal (409, as the other ones), not a malformed request: the body is fine,
    the activity's times are not any more."""
    clock.freeze(BEFORE)
    admin = login("community_admin", "A")
    created = client.post("/api/v1/admin/activities", json=payload(units["A"]), headers=admin)
    activity_id = created.get_json()["id"]
    clock.freeze(END + dt.timedelta(minutes=1))
    late = client.post(f"/api/v1/admin/activities/{activity_id}/publish", headers=admin)
    assert (late.status_code, late.get_json()["code"]) == (409, "activity.already_over")
    assert (
        client.get(f"/api/v1/admin/activities/{activity_id}", headers=admin).get_json()["status"]
        == "draft"
    )
