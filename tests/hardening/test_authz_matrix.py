"""The authorisation matrix, generated from the OpenAPI document.

Every staff operation (under /api/v1/admin/, or documenting a 403) is called against an
object that exists in community A (street S1) by staff of another subtree (C1, C, S2) and by
every lower role (riders, residents, lower staff of A's own chain): each gets 403/404 — or,
for a list, 200 with nothing of A in it — and never the object's data. The proper role then
reaches the same object (so the recipe really made one). An operation without a recipe in
RECIPES fails `test_every_staff_operation_has_a_recipe`: nobody adds an unguarded endpoint
silently. User-owned objects (report, redemption, enrolment, notification, need, claim) are
404 for another user.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from server.org.models import ROLE_RANK
from tests.factories import give_points, make_reward, make_station
from tests.hardening.helpers import (
    binding_id_of,
    file_report,
    future_activity,
    min_role_of,
    openapi,
    operations,
)

MARK = "甲区机密MATRIX"  # in every object of A: must never reach an outsider
OTHER_SUBTREE = [("grid_worker", "C1"), ("community_admin", "C"), ("street_admin", "S2")]
A_CHAIN = [
    ("rider", "A"),
    ("resident", "A"),
    ("grid_worker", "A1"),
    ("community_admin", "A"),
    ("street_admin", "S1"),
]


@dataclass
class Call:
    params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    json: dict | None = None
    listing: bool = False  # a list/statistics: outsiders may get 200 with nothing of A
    self_service: bool = False  # acts on the caller only: just citizens are refused
    any_staff: bool = False  # open to all staff by design (a public proof): citizens refused
    forbid_ids: set = field(default_factory=set)  # a list may hold others' rows, never these
    reached: tuple = ()  # extra statuses that prove the proper role got through the guard


class Ctx:
    """Builds the objects of community A a recipe needs, lazily and once."""

    def __init__(self, client, units, login):
        self.client, self.units, self.login = client, units, login
        self._cache: dict = {}

    def once(self, key: str, make: Callable):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def admin_a(self):
        return self.once("admin_a", lambda: self.login("community_admin", "A"))

    @property
    def owner(self):
        return self.once("owner", lambda: self.login("rider", "A", display_name="甲区骑手"))

    def post(self, url, auth, json=None, expect=(200, 201)):
        response = self.client.post(url, json=json if json is not None else {}, headers=auth)
        assert response.status_code in expect, (url, response.get_json())
        return response.get_json()

    def station(self):
        return self.once("station", lambda: make_station(self.units["A"], name=MARK))

    def reward(self):
        return self.once("reward", lambda: make_reward(self.units["A"], name=MARK))

    def redemption_code(self):
        def make():
            reward = self.reward()
            give_points(self.owner.user_id, 500, source_id=uuid.uuid4().hex)
            body = self.post("/api/v1/redemptions", self.owner, {"reward_id": reward.id})
            return body["code"]

        return self.once("redemption", make)

    def checkin(self):
        from server.stations.services import scene_of

        def make():
            station = self.station()
            body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng}
            return self.post("/api/v1/checkins", self.owner, {**body, "accuracy": 10})

        return self.once("checkin", make)

    def adjustment(self):
        body = {"user_id": self.owner.user_id, "delta": 5, "reason": MARK}
        return self.once(
            "adj", lambda: self.post("/api/v1/admin/points/adjustments", self.admin_a, body)
        )

    def activity(self):
        return self.once("activity", lambda: future_activity(self.units["A"], title=MARK))

    def draft_activity(self):
        return self.once(
            "draft",
            lambda: future_activity(self.units["A"], title=MARK, status="draft", published_at=None),
        )

    def enrolment_id(self):
        def make():
            activity = self.activity()
            return self.post(f"/api/v1/activities/{activity.id}/enrolments", self.owner)["id"]

        return self.once("enrolment", make)

    def post_obj(self):
        from server.extensions import db
        from server.posts.services import seed_default_posts

        def make():
            post = seed_default_posts(self.units["A"])[0]
            post.description = MARK
            db.session.commit()
            return post

        return self.once("post", make)

    def claim_id(self):
        def make():
            return self.post(f"/api/v1/posts/{self.post_obj().id}/claims", self.owner)["id"]

        return self.once("claim", make)

    def need_id(self):
        body = {"kind": "childcare", "content": "希望组织暑期托管班" + MARK}
        return self.once("need", lambda: self.post("/api/v1/needs", self.owner, body)["id"])

    def notification_id(self):
        from server.extensions import db
        from server.notifications.services import notify

        def make():
            row = notify(self.owner.user_id, "report_status", title=MARK, body=MARK)
            row.status, row.last_error = "failed", "47003 " + MARK
            db.session.commit()
            return row.id

        return self.once("notification", make)

    def staff_binding(self):
        return self.once("binding", lambda: binding_id_of(self.login("grid_worker", "A1").user_id))

    def report_id(self):
        def make():
            body = file_report(self.client, self.units, self.owner, "路边一堆建筑垃圾" + MARK)
            return body["report"]["id"]

        return self.once("report", make)

    def order_id(self):
        def make():
            report_id = self.report_id()
            detail = self.client.get(f"/api/v1/reports/{report_id}", headers=self.admin_a)
            return detail.get_json()["work_order_id"]

        return self.once("order", make)

    def worker_a1(self):
        return self.once("worker_a1", lambda: self.login("grid_worker", "A1"))


def _station(c: Ctx) -> dict:
    return {"station_id": c.station().id}


def _activity(c: Ctx) -> dict:
    return {"activity_id": c.activity().id}


def _claim(c: Ctx) -> dict:
    return {"claim_id": c.claim_id()}


def _time(days: int) -> str:
    import datetime as dt

    from server import clock

    return clock.isoformat(clock.utcnow() + dt.timedelta(days=days))


P = "/api/v1"
# "METHOD path template" -> how to reach an object of community A with it.
RECIPES: dict[str, Callable[[Ctx], Call]] = {
    f"POST {P}/admin/org-units": lambda c: Call(
        json={
            "code": "T-X" + uuid.uuid4().hex[:6],
            "name": MARK,
            "level": "grid",
            "parent_id": c.units["A"].id,
        }
    ),
    f"PATCH {P}/admin/org-units/{{unit_id}}": lambda c: Call(
        params={"unit_id": c.units["A"].id}, json={"name": MARK}
    ),
    f"POST {P}/admin/invitations": lambda c: Call(
        json={"org_unit_id": c.units["A1"].id, "role": "grid_worker"}
    ),
    f"GET {P}/admin/staff": lambda c: Call(listing=True, forbid_ids={c.staff_binding()}),
    f"DELETE {P}/admin/staff/{{binding_id}}": lambda c: Call(
        params={"binding_id": c.staff_binding()}
    ),
    f"PUT {P}/me/duty": lambda c: Call(json={"is_on_duty": True}, self_service=True),
    f"GET {P}/admin/stations": lambda c: (c.station(), Call(listing=True))[1],
    f"POST {P}/admin/stations": lambda c: Call(
        json={
            "org_unit_id": c.units["A"].id,
            "name": MARK,
            "kind": "courier",
            "lat": c.units["A"].center_lat,
            "lng": c.units["A"].center_lng,
        }
    ),
    f"GET {P}/admin/stations/{{station_id}}": lambda c: Call(params=_station(c)),
    f"PATCH {P}/admin/stations/{{station_id}}": lambda c: Call(
        params=_station(c), json={"name": "改名"}
    ),
    f"DELETE {P}/admin/stations/{{station_id}}": lambda c: Call(params=_station(c)),
    f"POST {P}/admin/stations/{{station_id}}/rotate-qr": lambda c: Call(params=_station(c)),
    f"GET {P}/admin/stations/{{station_id}}/qrcode.png": lambda c: Call(params=_station(c)),
    f"GET {P}/admin/stations/{{station_id}}/poster.pdf": lambda c: Call(params=_station(c)),
    f"GET {P}/admin/checkins": lambda c: (c.checkin(), Call(listing=True))[1],
    f"POST {P}/redemptions/{{code}}/fulfil": lambda c: Call(params={"code": c.redemption_code()}),
    f"GET {P}/admin/redemptions": lambda c: (c.redemption_code(), Call(listing=True))[1],
    f"GET {P}/admin/redemptions/{{code}}": lambda c: Call(params={"code": c.redemption_code()}),
    f"GET {P}/admin/rewards": lambda c: (c.reward(), Call(listing=True))[1],
    f"POST {P}/admin/rewards": lambda c: Call(
        json={"org_unit_id": c.units["A"].id, "name": MARK, "cost": 10, "stock": 5}
    ),
    f"PATCH {P}/admin/rewards/{{reward_id}}": lambda c: Call(
        params={"reward_id": c.reward().id}, json={"stock_delta": 5}
    ),
    f"GET {P}/admin/points/adjustments": lambda c: (c.adjustment(), Call(listing=True))[1],
    f"POST {P}/admin/points/adjustments": lambda c: Call(
        json={"user_id": c.owner.user_id, "delta": 5, "reason": MARK}
    ),
    f"GET {P}/admin/points/rules": lambda c: Call(query={"org_unit_id": c.units["A"].id}),
    f"PUT {P}/admin/points/rules": lambda c: Call(
        json={"org_unit_id": c.units["A"].id, "rule": "checkin", "points": 3}
    ),
    f"DELETE {P}/admin/points/rules": lambda c: Call(
        query={"org_unit_id": c.units["A"].id, "rule": "checkin"}
    ),
    f"GET {P}/service-hours/certificates/{{code}}": lambda c: Call(
        params={"code": "NOPE" + uuid.uuid4().hex[:8]}, any_staff=True, reached=(404,)
    ),
    f"GET {P}/admin/activities": lambda c: (c.activity(), Call(listing=True))[1],
    f"POST {P}/admin/activities": lambda c: Call(
        json={
            "org_unit_id": c.units["A"].id,
            "title": MARK,
            "place": "党群服务中心",
            "lat": c.units["A"].center_lat,
            "lng": c.units["A"].center_lng,
            "starts_at": _time(3),
            "ends_at": _time(4),
            "capacity": 10,
        }
    ),
    f"GET {P}/admin/activities/{{activity_id}}": lambda c: Call(params=_activity(c)),
    f"PATCH {P}/admin/activities/{{activity_id}}": lambda c: Call(
        params=_activity(c), json={"place": "新地点"}
    ),
    f"POST {P}/admin/activities/{{activity_id}}/publish": lambda c: Call(
        params={"activity_id": c.draft_activity().id}
    ),
    f"POST {P}/admin/activities/{{activity_id}}/cancel": lambda c: Call(
        params=_activity(c), json={"reason": "天气原因"}
    ),
    f"POST {P}/admin/activities/{{activity_id}}/qr-secret/rotate": lambda c: Call(
        params=_activity(c)
    ),
    f"GET {P}/admin/activities/{{activity_id}}/qrcode.png": lambda c: Call(params=_activity(c)),
    f"GET {P}/admin/activities/{{activity_id}}/enrolments": lambda c: (
        c.enrolment_id(),
        Call(params=_activity(c)),
    )[1],
    f"GET {P}/admin/activities/{{activity_id}}/enrolments.csv": lambda c: (
        c.enrolment_id(),
        Call(params=_activity(c)),
    )[1],
    f"POST {P}/admin/activities/{{activity_id}}/attendance": lambda c: Call(
        params=_activity(c), json={"enrolment_ids": [c.enrolment_id()]}
    ),
    f"GET {P}/admin/posts": lambda c: (c.post_obj(), Call(listing=True))[1],
    f"POST {P}/admin/posts": lambda c: Call(
        json={"org_unit_id": c.units["A"].id, "name": MARK, "capacity": 3, "duty_points": 5}
    ),
    f"PATCH {P}/admin/posts/{{post_id}}": lambda c: Call(
        params={"post_id": c.post_obj().id}, json={"capacity": 9}
    ),
    f"GET {P}/admin/post-claims": lambda c: (c.claim_id(), Call(listing=True))[1],
    f"POST {P}/admin/post-claims/{{claim_id}}/approve": lambda c: Call(params=_claim(c), json={}),
    f"POST {P}/admin/post-claims/{{claim_id}}/decline": lambda c: Call(params=_claim(c), json={}),
    f"POST {P}/admin/post-claims/{{claim_id}}/end": lambda c: Call(params=_claim(c), json={}),
    f"GET {P}/admin/needs": lambda c: (c.need_id(), Call(listing=True))[1],
    f"GET {P}/admin/needs/export.csv": lambda c: (c.need_id(), Call(listing=True))[1],
    # statistics of A asked for by name: an outsider must not get A's figures
    f"GET {P}/admin/needs/stats": lambda c: (
        c.need_id(),
        Call(query={"org_unit_id": c.units["A"].id}),
    )[1],
    f"GET {P}/admin/needs/{{need_id}}": lambda c: Call(params={"need_id": c.need_id()}),
    f"POST {P}/admin/needs/{{need_id}}/answer": lambda c: Call(
        params={"need_id": c.need_id()}, json={"answer": "已安排"}
    ),
    # the outbox is for system admins (role admin) only: everyone else is a lower role
    f"GET {P}/admin/notifications": lambda c: (c.notification_id(), Call(listing=True))[1],
    f"GET {P}/admin/notifications/summary": lambda c: Call(listing=True),
    f"POST {P}/admin/notifications/{{notification_id}}/retry": lambda c: Call(
        params={"notification_id": c.notification_id()}
    ),
    f"POST {P}/admin/notifications/test": lambda c: Call(json={}, self_service=True),
    f"GET {P}/work-orders": lambda c: (c.order_id(), Call(listing=True))[1],
    f"GET {P}/work-orders/export.csv": lambda c: (c.order_id(), Call(listing=True))[1],
    f"GET {P}/admin/stats": lambda c: (c.order_id(), Call(query={"unit_id": c.units["A"].id}))[1],
    f"POST {P}/admin/reports/{{report_id}}/moderation": lambda c: Call(
        params={"report_id": c.report_id()}, json={"decision": "approve"}
    ),
    f"GET {P}/work-orders/{{order_id}}": lambda c: Call(params={"order_id": c.order_id()}),
    f"POST {P}/work-orders/{{order_id}}/{{action}}": lambda c: Call(
        params={"order_id": c.order_id(), "action": "dispatch"},
        json={"assignee_id": c.worker_a1().user_id},
    ),
}


def _staff_operations(app, client) -> dict[str, dict]:
    """Every /admin/ operation, and every other one a staff guard protects (a rider's
    operation may document a 403 of its own, e.g. the check-in's not_registered)."""
    spec = openapi(client)
    return {
        f"{method} {path}": op
        for method, path, op in operations(spec)
        if path.startswith(f"{P}/admin/") or min_role_of(app, method, path) is not None
    }


def test_every_staff_operation_has_a_recipe_and_a_guard(app, client):
    staff_ops = _staff_operations(app, client)
    missing = sorted(set(staff_ops) - set(RECIPES))
    assert not missing, f"staff operations without an authorisation-matrix recipe: {missing}"
    stale = sorted(set(RECIPES) - set(staff_ops))
    assert not stale, f"recipes for operations that no longer exist: {stale}"
    unguarded = [key for key in staff_ops if min_role_of(app, *key.split(" ", 1)) is None]
    assert not unguarded, f"staff operations without staff_required(...): {unguarded}"


def _url(template: str, call: Call) -> str:
    url = template
    for name, value in call.params.items():
        url = url.replace("{" + name + "}", str(value))
    return url


def _send(client, method, url, call: Call, auth):
    kwargs = {"headers": auth, "query_string": call.query}
    if call.json is not None or method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = call.json if call.json is not None else {}
    return client.open(url, method=method, **kwargs)


def _assert_no_data(response, who, key, call: Call):
    text = response.get_data(as_text=True) if response.mimetype.startswith(("text", "app")) else ""
    assert MARK not in text, (key, who, "leaked", text[:300])
    if response.status_code == 200 and response.is_json:
        body = response.get_json()
        if isinstance(body, dict) and "items" in body and call.forbid_ids:
            seen = {item.get("id") for item in body["items"]}
            assert not seen & call.forbid_ids, (key, who, body)
        elif isinstance(body, dict) and "items" in body:
            assert body["items"] == [] and body.get("total", 0) == 0, (key, who, body)


def _refused(response, who, key, call: Call, may_list: bool):
    if may_list and response.status_code == 200:
        _assert_no_data(response, who, key, call)
        return
    assert response.status_code in (403, 404), (key, who, response.status_code, response.data)
    body = response.get_json()
    assert set(body) == {"code", "message", "status", "details"}, (key, who, body)
    _assert_no_data(response, who, key, call)


@pytest.mark.parametrize("key", sorted(RECIPES))
def test_matrix(app, client, units, login, key):
    method, template = key.split(" ", 1)
    min_role = min_role_of(app, method, template)
    assert min_role is not None, key
    ctx = Ctx(client, units, login)
    call = RECIPES[key](ctx)
    url = _url(template, call)
    rank = ROLE_RANK[min_role]

    callers = [who for who in A_CHAIN if ROLE_RANK.get(who[0], -1) < rank]
    if not (call.self_service or call.any_staff):
        callers += OTHER_SUBTREE
    else:
        callers = [who for who in callers if who[0] in ("rider", "resident")]
    for who in callers:
        auth = login(*who)
        response = _send(client, method, url, call, auth)
        in_reach = ROLE_RANK.get(who[0], -1) >= rank
        _refused(response, who, key, call, may_list=call.listing and in_reach)

    # the proper role reaches it: the recipe really made an object of A
    owner_role = next(
        (r, u) for r, u in [*A_CHAIN[3:], ("admin", "D")] if ROLE_RANK[r] >= max(rank, 1)
    )
    response = _send(client, method, url, call, login(*owner_role))
    assert response.status_code < 400 or response.status_code in (409, *call.reached), (
        key,
        owner_role,
        response.status_code,
        response.get_json() if response.is_json else response.mimetype,
    )
    if call.listing and response.is_json and "items" in (response.get_json() or {}):
        assert response.get_json()["total"] > 0, (key, "the recipe made nothing visible")
