"""User-owned objects are 404 to every other user; the list of such operations is derived
from the OpenAPI document (an operation on `{id}` that is neither staff-only nor listed
here as public by design fails the test until someone decides which it is)."""

from __future__ import annotations

import pytest

from tests.hardening.helpers import file_report, min_role_of, openapi, operations
from tests.hardening.test_authz_matrix import MARK, Ctx

P = "/api/v1"
# Operations on an id that anyone logged in may use on purpose (public objects).
PUBLIC_BY_DESIGN = {
    f"GET {P}/org-units/{{unit_id}}",
    f"GET {P}/stations/{{station_id}}",
    f"GET {P}/rewards/{{reward_id}}",
    f"GET {P}/activities/{{activity_id}}",
    f"POST {P}/activities/{{activity_id}}/enrolments",  # my enrolment in a public activity
    f"DELETE {P}/activities/{{activity_id}}/enrolments/me",  # only ever mine
    f"POST {P}/posts/{{post_id}}/claims",
    f"GET {P}/reports/{{report_id}}",  # the public view: see test_public_report_view
    f"POST {P}/reports/{{report_id}}/plus-one",  # "I see it too" is for other people
}


def _report(c: Ctx) -> str:
    return str(c.report_id())


def _redemption(c: Ctx) -> str:
    from server.points.models import Redemption

    c.redemption_code()
    from server.extensions import db

    return str(db.session.query(Redemption.id).scalar())


# "METHOD template" -> (path params from ctx, body). Reports are public (a public view), so
# a refusal to comment on one may be 403 — its existence is no secret; all else is 404.
PUBLIC_OBJECT_403 = {f"POST {P}/reports/{{report_id}}/comments"}
OWNED = {
    f"POST {P}/reports/{{report_id}}/submit": (
        lambda c: {"report_id": _report(c)},
        {"category_id": 1, "lat": 34.73, "lng": 113.625, "photo_ids": []},
    ),
    f"POST {P}/reports/{{report_id}}/comments": (
        lambda c: {"report_id": _report(c)},
        {"text": "请问什么时候处理"},
    ),
    f"POST {P}/reports/{{report_id}}/feedback": (
        lambda c: {"report_id": _report(c)},
        {"stars": 5, "fixed": True},
    ),
    f"POST {P}/redemptions/{{redemption_id}}/cancel": (
        lambda c: {"redemption_id": _redemption(c)},
        {},
    ),
    f"POST {P}/me/notifications/{{notification_id}}/read": (
        lambda c: {"notification_id": str(c.notification_id())},
        {},
    ),
    f"POST {P}/me/post-claims/{{claim_id}}/withdraw": (
        lambda c: {"claim_id": str(c.claim_id())},
        {},
    ),
}


def test_every_operation_on_an_id_is_owned_public_or_staff(app, client):
    spec = openapi(client)
    unclassified = []
    for method, path, op in operations(spec):
        key = f"{method} {path}"
        # staff: under /admin/ or behind a staff guard (a rider's operation may document
        # a 403 of its own, and is still checked here)
        staff = path.startswith(f"{P}/admin/") or min_role_of(app, method, path) is not None
        if "{" not in path or staff or not op.get("security"):
            continue
        if key not in OWNED and key not in PUBLIC_BY_DESIGN:
            unclassified.append(key)
    assert not unclassified, f"decide: owned (404 to others) or public by design: {unclassified}"


@pytest.mark.parametrize("key", sorted(OWNED))
def test_another_user_gets_404(client, units, login, key):
    method, template = key.split(" ", 1)
    ctx = Ctx(client, units, login)
    params, body = OWNED[key]
    url = template
    for name, value in params(ctx).items():
        url = url.replace("{" + name + "}", value)
    for who in (("rider", "A"), ("resident", "A"), ("rider", "C")):
        response = client.open(url, method=method, json=body, headers=login(*who))
        expected = (403, 404) if key in PUBLIC_OBJECT_403 else (404,)
        assert response.status_code in expected, (key, who, response.get_json())
        assert MARK not in response.get_data(as_text=True)
    owner = client.open(url, method=method, json=body, headers=ctx.owner)
    assert owner.status_code != 404, (key, owner.get_json())


def test_lists_of_mine_hold_only_mine(client, units, login):
    ctx = Ctx(client, units, login)
    ctx.report_id(), ctx.redemption_code(), ctx.need_id(), ctx.notification_id(), ctx.claim_id()
    ctx.enrolment_id(), ctx.checkin()
    other = login("rider", "A")
    for path in (
        "/me/reports",
        "/me/redemptions",
        "/me/needs",
        "/me/notifications",
        "/me/post-claims",
        "/me/checkins",
        "/me/points",
    ):
        response = client.get(P + path, headers=other)
        assert response.status_code == 200, path
        body = response.get_json()
        assert MARK not in response.get_data(as_text=True), path
        if "items" in body:
            assert body["items"] == [], (path, body)


def test_public_report_view_hides_the_reporter(client, units, login):
    ctx = Ctx(client, units, login)
    owner = ctx.owner
    body = file_report(client, units, owner, "占道经营", anonymous=True)
    other = login("resident", "A")
    view = client.get(f"{P}/reports/{body['report']['id']}", headers=other)
    assert view.status_code == 200
    text = view.get_data(as_text=True)
    assert owner.openid not in text
    assert "甲区骑手" not in text  # an anonymous reporter's display name
    assert "reporter_id" not in view.get_json()
