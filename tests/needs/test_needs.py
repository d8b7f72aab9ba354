"""Needs (问需): submit with content checks and photos, answers, scoping, export, statistics."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image
from sqlalchemy import select

from server import clock
from server.needs.models import Need
from server.notifications.models import Notification


def submit(client, auth, content="希望社区能组织骑手子女暑期托管班", kind="childcare", **extra):
    return client.post(
        "/api/v1/needs", json={"kind": kind, "content": content, **extra}, headers=auth
    )


def code(response):
    return response.status_code, response.get_json()["code"]


def test_submit_answer_notify(client, db, units, login):
    rider = login("rider")
    response = submit(client, rider)
    assert response.status_code == 201, response.get_json()
    need = response.get_json()
    assert (need["status"], need["kind_name"], need["photos"]) == ("open", "子女托管", [])

    staff = login("grid_worker", "A")
    listing = client.get("/api/v1/admin/needs", headers=staff).get_json()
    assert [n["id"] for n in listing["items"]] == [need["id"]]
    assert listing["items"][0]["content_flag"] == "pass"
    answered = client.post(
        f"/api/v1/admin/needs/{need['id']}/answer",
        json={"answer": "已联系社区学校，7月起开办暑期托管班，欢迎报名"},
        headers=staff,
    )
    assert answered.status_code == 200
    assert answered.get_json()["status"] == "answered"
    again = client.post(
        f"/api/v1/admin/needs/{need['id']}/answer", json={"answer": "再答一次"}, headers=staff
    )
    assert code(again) == (409, "need.already_answered")
    notes = (
        db.session.execute(select(Notification.kind).where(Notification.user_id == rider.user_id))
        .scalars()
        .all()
    )
    assert notes == ["need_answered"]
    mine = client.get("/api/v1/me/needs", headers=rider).get_json()["items"]
    assert mine[0]["answer"].startswith("已联系社区学校")


def test_scoping(client, units, login):
    in_a = submit(client, login("rider", "A")).get_json()
    admin_b = login("community_admin", "B")
    response = client.get(f"/api/v1/admin/needs/{in_a['id']}", headers=admin_b)
    assert code(response) == (404, "need.not_found")
    response = client.post(
        f"/api/v1/admin/needs/{in_a['id']}/answer", json={"answer": "不是我管"}, headers=admin_b
    )
    assert code(response) == (404, "need.not_found")
    assert client.get("/api/v1/admin/needs", headers=admin_b).get_json()["total"] == 0
    street = login("street_admin", "S1")
    assert client.get(f"/api/v1/admin/needs/{in_a['id']}", headers=street).status_code == 200
    other_street = login("street_admin", "S2")
    assert client.get(f"/api/v1/admin/needs/{in_a['id']}", headers=other_street).status_code == 404
    rider = login("rider")
    assert client.get("/api/v1/admin/needs", headers=rider).status_code == 403
    # Someone else's needs are not in my list.
    assert client.get("/api/v1/me/needs", headers=rider).get_json()["total"] == 0


def test_content_checks(client, db, sandbox, units, login):
    rider = login("rider")
    risky = submit(client, rider, content="这里有违规内容[risky]需要处理")
    assert code(risky) == (422, "need.content_rejected")
    review = submit(client, rider, content="房租太贵了[review]希望有公租房")
    assert review.status_code == 201
    sandbox.fault("/wxa/msg_sec_check", http_status=503, times=10)
    down = submit(client, rider, content="想学电工证，哪里有培训？")
    assert down.status_code == 201
    flags = db.session.execute(select(Need.content_flag).order_by(Need.id)).scalars().all()
    assert flags == ["review", "unchecked"]
    assert code(submit(client, rider, content="太")) == (422, "need.too_short")
    assert submit(client, rider, kind="unknown").status_code == 422


def test_unregistered_and_idempotency(client, db, units, login):
    fresh = client.post("/api/v1/auth/wechat-login", json={"code": "sandbox:o_needs_new:1"})
    token = {"Authorization": f"Bearer {fresh.get_json()['token']}"}
    assert code(submit(client, token)) == (403, "need.not_registered")
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": "need-key-0001"}
    first = submit(client, headers)
    second = submit(client, headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert len(db.session.execute(select(Need.id)).all()) == 1


def test_photos_are_attached_and_must_be_mine(client, units, login):
    rider = login("rider")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 80)).save(buffer, format="JPEG")
    upload = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "photo.jpg", "image/jpeg")},
        headers=rider,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    photo_id = upload.get_json()["id"]
    someone = login("rider")
    assert code(submit(client, someone, photo_ids=[photo_id])) == (404, "upload.not_found")
    created = submit(client, rider, photo_ids=[photo_id]).get_json()
    assert [p["id"] for p in created["photos"]] == [photo_id]
    staff = login("grid_worker", "A")
    seen = client.get(f"/api/v1/admin/needs/{created['id']}", headers=staff).get_json()
    assert "a=staff" in seen["photos"][0]["url"]


def test_export_and_monthly_counts(client, units, login):
    rider = login("rider", display_name="王小哥")
    clock.freeze(dt.datetime(2026, 3, 31, 17, 0))  # 04-01 01:00 in Shanghai
    submit(client, rider, kind="employment", content="想找一份白天的兼职工作")
    clock.freeze(dt.datetime(2026, 3, 20, 2, 0))
    submit(client, rider, kind="employment", content="平台派单太少，希望推荐工作")
    submit(client, rider, kind="health", content='=HYPERLINK("http://x","希望组织一次免费体检")')
    submit(client, login("rider", "C"), kind="housing", content="别的街道的住房诉求内容")
    staff = login("community_admin", "A")
    stats = client.get("/api/v1/admin/needs/stats", headers=staff).get_json()
    by_month = {m["month"]: m for m in stats["months"]}
    assert sorted(by_month) == ["2026-03", "2026-04"]
    assert by_month["2026-03"]["by_kind"]["employment"] == 1
    assert by_month["2026-03"]["by_kind"]["health"] == 1
    assert by_month["2026-04"]["total"] == 1
    assert by_month["2026-03"]["by_kind"]["housing"] == 0
    filtered = client.get("/api/v1/admin/needs/stats?kind=health", headers=staff).get_json()
    assert [m["total"] for m in filtered["months"]] == [1]

    export = client.get("/api/v1/admin/needs/export.csv", headers=staff)
    text = export.get_data(as_text=True)
    assert text.startswith("\ufeff编号,提交时间")
    assert text.count("王小哥") == 3
    # free text typed like a spreadsheet formula is exported as text (CSV injection)
    assert "\"'=HYPERLINK(" in text and '"=HYPERLINK(' not in text
    assert "别的街道" not in text


def test_an_export_over_its_row_limit_is_refused_not_cut_short(client, login, monkeypatch):
    from server.needs import services

    monkeypatch.setattr(services, "EXPORT_MAX_ROWS", 1)
    rider = login("rider")
    submit(client, rider, kind="employment", content="想找一份白天的兼职工作")
    staff = login("community_admin", "A")
    assert client.get("/api/v1/admin/needs/export.csv", headers=staff).status_code == 200
    submit(client, rider, kind="health", content="希望组织一次免费体检活动")
    refused = client.get("/api/v1/admin/needs/export.csv", headers=staff)
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "export.too_many_rows"


def test_staff_filtering_needs_by_a_street_get_its_communities_needs(client, units, login):
    """Needs live at community level; a filter by the street means its whole subtree (as
    activities, stations and work orders), in the list and the statistics."""
    for community in ("A", "B"):
        need = {"kind": "childcare", "content": "希望社区能组织骑手子女暑期托管班"}
        assert (
            client.post("/api/v1/needs", json=need, headers=login("rider", community)).status_code
            == 201
        )
    street, s1 = login("street_admin", "S1"), units["S1"].id
    assert client.get("/api/v1/admin/needs", headers=street).get_json()["total"] == 2
    listed = client.get(f"/api/v1/admin/needs?org_unit_id={s1}", headers=street).get_json()
    assert listed["total"] == 2
    stats = client.get(f"/api/v1/admin/needs/stats?org_unit_id={s1}", headers=street).get_json()
    assert sum(month["total"] for month in stats["months"]) == 2


def test_an_answer_notice_carries_what_its_template_shows(client, db, units, login):
    """need_answered has a WeChat template (it went to the in-app inbox only): kind, status,
    the answer and its time, not the send time and the title in their place."""
    from tests.factories import assert_template_sources

    rider = login("rider")
    need = submit(client, rider).get_json()
    answered = client.post(
        f"/api/v1/admin/needs/{need['id']}/answer",
        json={"answer": "已联系社区学校，7月起开办暑期托管班"},
        headers=login("grid_worker", "A"),
    )
    assert answered.status_code == 200, answered.get_json()
    [notice] = db.session.execute(
        select(Notification).where(Notification.user_id == rider.user_id)
    ).scalars()
    shown = assert_template_sources(notice)
    assert shown["thing1"]["value"] == "子女托管" and shown["phrase2"]["value"] == "已答复"
    assert shown["thing3"]["value"].startswith("已联系社区学校")
