"""A stateful property test of the work-order state machine, through the real API.

A few work orders; each step picks an order, an action, an actor (the grid worker of the
order's grid, a grid worker of another grid, the admins of communities A and B, the reporter,
the street admin) and a valid or broken payload. A model of the documented transition table
(server/reports/workflow.py) predicts the answer: allowed -> 200 and the new state; wrong
state -> 409 `work_order.invalid_transition`; outside the actor's subtree -> 404; wrong
role / not the assignee -> 403; missing note, photo, reason or hold time -> 422. Another step
moves the frozen clock and runs the overdue scan (which also resumes holds that are due).

After every step: each order's state and owner match the model; its timeline holds exactly
one event per successful transition, in order, with the actor's role and the time; the
accept deadline never moves and the resolve deadline moves only by the time spent on hold;
an active order past 100 % of its running window is red (and has an `overdue` event) after
a scan.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select, update

from server import clock
from server.extensions import db, get_redis
from server.org.models import StaffBinding
from server.reports.models import WorkOrder
from server.reports.tasks import scan_overdue
from server.reports.workflow import ACTIONS
from tests.conftest import _clean_tables
from tests.factories import jpeg_bytes, make_categories, make_tree
from tests.reports.conftest import IN_A1, IN_A2

START = dt.datetime(2026, 11, 18, 1, 0)  # UTC
MANAGER_ACTIONS = {n for n, a in ACTIONS.items() if a.who == "community_admin"}
RANK = {"grid_worker": 1, "community_admin": 2, "street_admin": 3}
ACTORS = {  # key -> (role, unit key)
    "w1": ("grid_worker", "A1"),  # on duty in A1: orders filed there are auto-dispatched to w1
    "w2": ("grid_worker", "A2"),  # off duty: orders filed in A2 wait in the A2 queue
    "admin_a": ("community_admin", "A"),
    "admin_b": ("community_admin", "B"),
    "street": ("street_admin", "S1"),
    "reporter": ("rider", None),
}
PARENT = {"A1": "A", "A2": "A", "B1": "B", "A": "S1", "B": "S1", "S1": "D", "D": None}
LEVEL = {"D": "district", "S1": "street", "A": "community", "B": "community"}
ON_DUTY = {"A1": "w1"}  # on_duty_worker(unit) for the units orders can be sent to
VARIANTS = {
    "dispatch": ["to_w1", "to_w2", "to_A1", "to_A2", "to_A", "to_B1", "no_target"],
    "reassign": ["to_w1", "to_w2", "to_A1", "to_A2", "to_A", "to_B1", "no_target", "no_note"],
    "accept": ["ok"],
    "start": ["ok"],
    "resolve": ["ok", "no_note", "no_photo"],
    "return": ["ok", "no_note"],
    "hold": ["ok", "no_note", "no_until", "past", "too_far"],
    "resume": ["ok"],
    "reject": ["ok", "no_note"],
    "merge": ["other", "self", "none"],
    "close": ["ok", "no_note"],
}
SYSTEM_EVENTS = {"submit", "overdue_warning", "overdue", "escalate", "merge_in"}
FORWARD = ("dispatch", "accept", "start", "hold", "resume", "resolve", "close")
HOLD_HOURS = 6  # short enough that a scan often resumes a hold, long enough to resume by hand
ACTIVE = ("received", "dispatched", "accepted", "in_progress", "returned")


def ancestors(unit: str) -> list[str]:
    chain = []
    while unit is not None:
        chain.append(unit)
        unit = PARENT[unit]
    return chain


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC).replace(tzinfo=None)


@dataclass
class Order:
    id: int
    unit: str
    state: str
    assignee: str | None
    created_at: dt.datetime
    accept_due: dt.datetime
    resolve_due: dt.datetime
    events: list[tuple] = field(default_factory=list)  # (action, from, to, role, at)
    dispatcher_unit: str | None = None
    return_count: int = 0
    accepted: bool = False
    hold_started: dt.datetime | None = None
    hold_until: dt.datetime | None = None


@pytest.mark.slow
def test_work_order_state_machine(app, client, login):
    class WorkOrders(RuleBasedStateMachine):
        @initialize(where=st.lists(st.sampled_from(["A1", "A2"]), min_size=2, max_size=3))
        def setup(self, where):
            clock.freeze(None)
            db.session.rollback()
            _clean_tables()  # a fresh world per example: no orders or staff left from the last
            get_redis().flushdb()
            self.now = START
            clock.freeze(self.now)
            self.units = make_tree()
            self.category = make_categories(self.units["S1"])["dumping"]
            self.auth = {}
            for key, (role, unit) in ACTORS.items():
                self.auth[key] = login(role, self.units[unit or "A"])
            self.user_key = {a.user_id: k for k, a in self.auth.items()}
            db.session.execute(
                update(StaffBinding)
                .where(StaffBinding.user_id == self.auth["w2"].user_id)
                .values(is_on_duty=False)
            )
            db.session.commit()
            self.orders: list[Order] = []
            for grid in where:
                self.orders.append(self._file(grid))

        # --- helpers ----------------------------------------------------------------------

        def _upload(self, key: str) -> int:
            body = {"file": (io.BytesIO(jpeg_bytes()), "photo.jpg")}
            response = client.post(
                "/api/v1/uploads",
                data=body,
                headers=self.auth[key],
                content_type="multipart/form-data",
            )
            assert response.status_code == 201, response.get_json()
            return response.get_json()["id"]

        def _file(self, grid: str) -> Order:
            lat, lng = IN_A1 if grid == "A1" else IN_A2
            body = {
                "category_id": self.category.id,
                "description": "路边有一堆建筑垃圾",
                "lat": lat,
                "lng": lng,
                "address": "淮河路 12 号",
                "photo_ids": [self._upload("reporter")],
            }
            headers = {**self.auth["reporter"], "Idempotency-Key": uuid.uuid4().hex}
            response = client.post("/api/v1/reports", json=body, headers=headers)
            assert response.status_code == 201, response.get_json()
            report_id = response.get_json()["report"]["id"]
            order = db.session.execute(
                select(WorkOrder).where(WorkOrder.report_id == report_id)
            ).scalar_one()
            auto = grid in ON_DUTY
            model = Order(
                id=order.id,
                unit=grid,
                state="dispatched" if auto else "received",
                assignee=ON_DUTY.get(grid),
                created_at=self.now,
                accept_due=self.now + dt.timedelta(hours=self.category.accept_hours),
                resolve_due=self.now + dt.timedelta(hours=self.category.resolve_hours),
            )
            model.events.append(("receive", None, "received", "system", self.now))
            if auto:
                model.events.append(("auto_dispatch", "received", "dispatched", "system", self.now))
            return model

        def _covers(self, actor: str, unit: str) -> bool:
            return ACTORS[actor][1] in ancestors(unit)

        def _predict(self, order: Order, name: str, actor: str, variant: str, into: Order | None):
            """(status, code) of a refusal, or None when the action should succeed."""
            role = ACTORS[actor][0]
            if role not in RANK:
                return (403, None)
            if not self._covers(actor, order.unit):
                return (404, "work_order.not_found")
            if order.state not in ACTIONS[name].sources:
                return (409, "work_order.invalid_transition")
            manager = RANK[role] >= RANK["community_admin"]
            if name in MANAGER_ACTIONS and not manager:
                return (403, "work_order.managers_only")
            handler_only = name not in MANAGER_ACTIONS and not manager
            if handler_only and (
                order.assignee not in (None, actor) or (order.assignee is None and name != "accept")
            ):
                return (403, "work_order.not_assignee")
            if variant == "no_note":
                code = {"resolve": "note_required", "reassign": "note_required"}.get(
                    name, "note_required" if name == "close" else "reason_required"
                )
                return (422, f"work_order.{code}")
            if name in ("dispatch", "reassign"):
                if variant == "no_target":
                    return (422, "work_order.target_required")
                target = variant.removeprefix("to_")
                if target in ("w1", "w2"):
                    if not self._covers(actor, ACTORS[target][1]):
                        return (404, "work_order.assignee_not_found")
                elif not self._covers(actor, target):
                    return (404, "work_order.unit_not_found")
            if name == "resolve" and variant == "no_photo":
                return (422, "work_order.photo_required")
            if name == "hold" and variant != "ok":
                code = "hold_until_required" if variant == "no_until" else "invalid_hold_until"
                return (422, f"work_order.{code}")
            if name == "merge":
                if variant == "none":
                    return (422, "work_order.into_required")
                if variant == "self":
                    return (422, "work_order.merge_self")
                if not self._covers(actor, into.unit):
                    return (404, "work_order.not_found")
                if into.state in ("merged", "rejected", "closed"):
                    return (409, "work_order.merge_target_closed")
            return None

        def _body(self, name: str, actor: str, variant: str, order: Order, into: Order | None):
            note = None if variant == "no_note" else "已核实，按规定处理"
            body: dict = {"note": note}
            if name in ("dispatch", "reassign") and variant.startswith("to_"):
                target = variant.removeprefix("to_")
                if target in ("w1", "w2"):
                    body["assignee_id"] = self.auth[target].user_id
                else:
                    body["unit_id"] = self.units[target].id
            if name == "resolve" and variant != "no_photo" and actor != "reporter":
                body["photo_ids"] = [self._upload(actor)]
            if name == "hold":
                hours = {"ok": HOLD_HOURS, "past": -1, "too_far": 24 * 31}.get(variant)
                if hours is not None:
                    body["hold_until"] = clock.isoformat(self.now + dt.timedelta(hours=hours))
            if name == "merge":
                body["into_id"] = {"other": into.id if into else None, "self": order.id}.get(
                    variant
                )
            return body

        def _apply(self, order: Order, name: str, actor: str, variant: str, into: Order | None):
            role = ACTORS[actor][0]
            seen = order.state
            if name in ("dispatch", "reassign"):
                target = variant.removeprefix("to_")
                if target in ("w1", "w2"):
                    order.unit, order.assignee = ACTORS[target][1], target
                else:
                    order.unit, order.assignee = target, ON_DUTY.get(target)
                order.dispatcher_unit = ACTORS[actor][1]
            elif name == "accept":
                order.assignee = order.assignee or actor
                order.accepted = True
            elif name == "resolve":
                order.assignee = order.assignee or actor
            elif name == "return":
                back = order.dispatcher_unit
                if back is None or back == order.unit:
                    back = order.unit if LEVEL.get(order.unit) == "street" else PARENT[order.unit]
                if order.return_count >= 1:
                    back = "S1"
                order.return_count += 1
                order.unit, order.assignee = back, None
            elif name == "hold":
                order.hold_started = self.now
                order.hold_until = self.now + dt.timedelta(hours=HOLD_HOURS)
            elif name == "resume":
                order.resolve_due += self.now - order.hold_started
                order.hold_started = order.hold_until = None
            order.state = ACTIONS[name].target
            order.events.append((name, seen, order.state, role, self.now))
            self.scanned_at = None  # the overdue check below holds right after a scan only

        # --- rules --------------------------------------------------------------------------

        @rule(
            data=st.data(),
            action=st.sampled_from(sorted(ACTIONS)),
            actor=st.sampled_from(sorted(ACTORS)),
            minutes=st.integers(0, 90),
        )
        def act(self, data, action, actor, minutes):
            order = data.draw(st.sampled_from(self.orders), label="order")
            variant = data.draw(st.sampled_from(VARIANTS[action]), label="variant")
            self._step(order, action, actor, variant, data, minutes)

        def _step(self, order: Order, action: str, actor: str, variant: str, data, minutes):
            others = [o for o in self.orders if o.id != order.id]
            into = data.draw(st.sampled_from(others), label="into") if others else None
            if action == "merge" and variant == "other" and into is None:
                variant = "self"
            self.now += dt.timedelta(minutes=minutes)
            clock.freeze(self.now)
            body = self._body(action, actor, variant, order, into)
            expected = self._predict(order, action, actor, variant, into)
            response = client.post(
                f"/api/v1/work-orders/{order.id}/{action}", json=body, headers=self.auth[actor]
            )
            got = response.get_json()
            event(f"{action} -> {response.status_code} {got.get('code', got.get('state'))}")
            if expected is None:
                assert response.status_code == 200, (action, actor, variant, got)
                self._apply(order, action, actor, variant, into)
                assert got["state"] == order.state
            else:
                status, code = expected
                if status in (403, 404) and code is None:
                    assert response.status_code in (403, 404), (action, actor, got)
                else:
                    assert (response.status_code, got.get("code")) == (status, code), (
                        action,
                        actor,
                        variant,
                        order.state,
                        got,
                    )

        @rule(data=st.data(), minutes=st.integers(0, 90))
        def progress(self, data, minutes):
            """A forward move the state allows, by a likely actor, so that the walk reaches the
            deeper states (returns, reassignments, rejects and merges come from `act`)."""
            order = data.draw(st.sampled_from(self.orders), label="order")
            names = [n for n in FORWARD if order.state in ACTIONS[n].sources]
            if not names:
                return
            action = data.draw(st.sampled_from(names), label="action")
            actors = ["admin_a", "street"] + ([order.assignee] if order.assignee else [])
            actor = data.draw(st.sampled_from(actors), label="actor")
            valid = [v for v in VARIANTS[action] if not v.startswith("no_")]
            valid = [v for v in valid if v not in ("past", "too_far", "self", "none")]
            variant = data.draw(st.sampled_from(valid), label="variant")
            self._step(order, action, actor, variant, data, minutes)

        @rule(hours=st.integers(1, 80))
        def time_passes_and_the_scan_runs(self, hours):
            from server.auth.models import User
            from server.auth.tokens import issue_token

            self.now += dt.timedelta(hours=hours)
            clock.freeze(self.now)
            for auth in self.auth.values():  # logins expire as time passes: fresh tokens
                user = db.session.get(User, auth.user_id)
                auth["Authorization"] = "Bearer " + issue_token(user.id, user.token_version)[0]
            scan_overdue()
            db.session.commit()
            for order in self.orders:
                if order.state == "on_hold" and order.hold_until <= self.now:
                    order.resolve_due += self.now - order.hold_started
                    order.hold_started = order.hold_until = None
                    order.state = "in_progress"
                    order.events.append(
                        ("auto_resume", "on_hold", "in_progress", "system", self.now)
                    )
            self.scanned_at = self.now

        # --- invariants ---------------------------------------------------------------------

        @invariant()
        def orders_match_the_model(self):
            if not hasattr(self, "orders"):
                return
            db.session.expire_all()
            for order in self.orders:
                response = client.get(
                    f"/api/v1/work-orders/{order.id}", headers=self.auth["street"]
                )
                assert response.status_code == 200, response.get_json()
                view = response.get_json()
                assert view["state"] == order.state
                row = db.session.get(WorkOrder, order.id)
                assert row.org_unit_id == self.units[order.unit].id
                assignee = self.user_key.get(row.assignee_id) if row.assignee_id else None
                assert assignee == order.assignee
                assert row.return_count == order.return_count
                assert (row.accepted_at is not None) == order.accepted
                # deadlines: accept never moves; resolve only by the time spent on hold
                assert utc(view["accept_due_at"]) == order.accept_due
                assert utc(view["resolve_due_at"]) == order.resolve_due
                # the timeline: one event per transition, in order, with role and time
                timeline = view["report_detail"]["timeline"]
                transitions = [
                    (
                        e["action"],
                        e["from_state"],
                        e["to_state"],
                        e["actor_role"],
                        utc(e["created_at"]),
                    )
                    for e in timeline
                    if e["to_state"] is not None
                ]
                assert transitions == order.events
                others = {e["action"] for e in timeline if e["to_state"] is None}
                assert others <= SYSTEM_EVENTS, others
                for item in timeline:
                    if item["actor_role"] != "system":
                        assert item["actor_id"] in self.user_key
                # overdue: an active order past 100 % of its window is red after a scan
                if order.state in ACTIVE and getattr(self, "scanned_at", None) == self.now:
                    phase = "resolve" if order.accepted else "accept"
                    due = order.resolve_due if order.accepted else order.accept_due
                    assert view["clock"]["phase"] == phase
                    if self.now >= due:
                        assert view["clock"]["level"] == "red"
                        warn = row.resolve_warn if order.accepted else row.accept_warn
                        assert warn >= 2
                        overdue = [
                            e
                            for e in timeline
                            if e["action"] == "overdue" and e["data"]["phase"] == phase
                        ]
                        assert overdue, timeline

        def teardown(self):
            clock.freeze(None)

    WorkOrders.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    WorkOrders.TestCase().runTest()
