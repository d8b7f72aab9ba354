"""Text a person types is taken without the blanks around it: "   " is no name and no
reason (422, nothing stored), and " 名称 " is stored as "名称"."""

from __future__ import annotations

from marshmallow import Schema, validate

from server.extensions import db
from server.http import Text
from server.points.models import LedgerEntry
from server.stations.models import Station


class _Named(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=8))


def test_text_drops_the_blanks_around_it_before_it_is_validated():
    assert _Named().load({"name": " \u3000驿站 \n"}) == {"name": "驿站"}
    errors = _Named().validate({"name": " \u3000 \t"})
    assert list(errors) == ["name"]


def test_a_blank_adjustment_reason_is_refused_and_grants_nothing(client, login):
    rider = login("rider", "A")
    admin = login("community_admin", "A")
    answer = client.post(
        "/api/v1/admin/points/adjustments",
        json={"user_id": rider.user_id, "delta": 10, "reason": "  \u3000 "},
        headers=admin,
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["code"] == "validation_error" and "reason" in body["details"]["errors"]["json"]
    assert db.session.query(LedgerEntry).filter_by(user_id=rider.user_id).count() == 0


def test_a_station_named_only_blanks_is_refused_and_a_padded_name_is_trimmed(client, login, units):
    admin = login("community_admin", "A")
    body = {"org_unit_id": units["A1"].id, "kind": "warm", "lat": 34.7233, "lng": 113.6458}
    refused = client.post("/api/v1/admin/stations", json={**body, "name": "   "}, headers=admin)
    assert refused.status_code == 422
    assert db.session.query(Station).count() == 0
    made = client.post("/api/v1/admin/stations", json={**body, "name": " 暖心驿站 "}, headers=admin)
    assert made.status_code == 201 and made.get_json()["name"] == "暖心驿站"
