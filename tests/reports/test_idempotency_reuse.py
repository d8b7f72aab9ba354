"""An Idempotency-Key is one report: a retry answers with it, another report under the key is
refused (409 idempotency.key_reused), on the lookup and on the lost-race path alike."""

from __future__ import annotations

import uuid

import pytest

from server.reports import services
from server.reports.models import Report
from tests.reports.conftest import IN_A1, IN_A2


def _body(cats, photo, **extra):
    return {
        "category_id": cats["dumping"].id,
        "description": "路边有一堆建筑垃圾",
        "lat": IN_A1[0],
        "lng": IN_A1[1],
        "address": "淮河路 12 号",
        "photo_ids": [photo],
        **extra,
    }


def test_a_key_reused_for_another_report_is_refused(client, login, cats, upload, db):
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/api/v1/reports", json=_body(cats, upload(rider)), headers=headers)
    assert first.status_code == 201, first.get_json()
    other = {
        "category_id": cats["illegal_parking"].id,
        "description": "消防通道被车辆堵死",
        "lat": IN_A2[0],
        "lng": IN_A2[1],
        "photo_ids": [upload(rider)],
    }
    second = client.post("/api/v1/reports", json=other, headers=headers)
    assert second.status_code == 409, second.get_json()
    assert second.get_json()["code"] == "idempotency.key_reused"
    assert db.session.query(Report).count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"description": "路边有一堆生活垃圾"},
        {"lat": IN_A2[0], "lng": IN_A2[1]},
        {"address": "淮河路 14 号"},
        {"anonymous": True},
    ],
)
def test_any_other_field_is_another_report(client, login, cats, upload, change):
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": uuid.uuid4().hex}
    body = _body(cats, upload(rider))
    assert client.post("/api/v1/reports", json=body, headers=headers).status_code == 201
    again = client.post("/api/v1/reports", json={**body, **change}, headers=headers)
    assert again.status_code == 409, again.get_json()


def test_a_retry_is_answered_with_the_first_whatever_the_server_normalised(
    client, login, cats, upload, units, db
):
    """The stored report differs from the request (text stripped, the category rewritten to
    the routed street's own): a retry of the same request is still the same report."""
    from tests.factories import make_categories

    rider = login("rider")
    # a category of another street: the report is filed under street S1's 'dumping'
    foreign = make_categories(units["S2"])["dumping"]
    photos = [upload(rider), upload(rider)]
    body = {
        **_body(cats, photos[0], description="  路边有一堆建筑垃圾  ", address=" 淮河路 12 号 "),
        "category_id": foreign.id,
        "photo_ids": photos,
    }
    headers = {**rider, "Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/api/v1/reports", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    stored = db.session.get(Report, first.get_json()["report"]["id"])
    assert stored.description == "路边有一堆建筑垃圾"
    assert stored.category_id == cats["dumping"].id != foreign.id
    retry = client.post(
        "/api/v1/reports",
        json={**body, "description": "路边有一堆建筑垃圾", "photo_ids": photos[::-1]},
        headers=headers,
    )
    assert retry.status_code == 201, retry.get_json()
    assert retry.get_json()["report"]["id"] == stored.id
    assert db.session.query(Report).count() == 1


def test_a_key_racing_in_is_checked_too(client, login, cats, upload, db, monkeypatch):
    """Two requests with one key at once: the loser (its INSERT refused by the unique key)
    answers with the winner only when it asked for the same report."""
    rider = login("rider")
    key = uuid.uuid4().hex
    headers = {**rider, "Idempotency-Key": key}
    body = _body(cats, upload(rider))
    assert client.post("/api/v1/reports", json=body, headers=headers).status_code == 201

    looked = []
    real = services._by_key

    def not_there_yet(user_id, k):  # the twin was not committed when this one looked
        looked.append(k)
        return None if len(looked) == 1 else real(user_id, k)

    monkeypatch.setattr(services, "_by_key", not_there_yet)
    other = {**body, "description": "另一个问题", "photo_ids": [upload(rider)]}
    refused = client.post("/api/v1/reports", json=other, headers=headers)
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["code"] == "idempotency.key_reused"
    assert len(looked) == 2  # the lookup, then the IntegrityError branch

    looked.clear()
    same = client.post("/api/v1/reports", json=body, headers=headers)
    assert same.status_code == 201, same.get_json()
    assert len(looked) == 2
    db.session.expire_all()
    assert db.session.query(Report).count() == 1


def test_a_report_filed_before_hashes_were_kept_replays_as_before(client, login, cats, upload, db):
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": uuid.uuid4().hex}
    body = _body(cats, upload(rider))
    first = client.post("/api/v1/reports", json=body, headers=headers).get_json()["report"]
    db.session.get(Report, first["id"]).request_hash = None
    db.session.commit()
    again = client.post("/api/v1/reports", json={**body, "description": "改了"}, headers=headers)
    assert again.status_code == 201
    assert again.get_json()["report"]["id"] == first["id"]
