"""A stateful property test of the points ledger, through the real API and services.

Random interleavings of awards (some replaying a source), redemptions (some replaying an
Idempotency-Key), cancellations, expiries (the clock moves on), and staff adjustments; after
every step: balance = sum of entries (`verify_ledger`), never negative, stock never
negative and equal to what was taken, each source awarded at most once.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from server import clock
from server.extensions import db
from server.points.models import LedgerEntry, Redemption, Reward
from server.points.redemptions import expire_due
from server.points.services import award_points, balance_of, verify_ledger
from tests.factories import make_reward

START = dt.datetime(2026, 11, 18, 4, 0)


def fresh_token(user_id: int) -> str:
    from server.auth.models import User
    from server.auth.tokens import issue_token

    user = db.session.get(User, user_id)
    return issue_token(user.id, user.token_version)[0]


@pytest.mark.slow
def test_ledger_state_machine(app, client, units, login):
    admin = login("community_admin", "A")

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            clock.freeze(START)
            self.now = START
            self.rider = login("rider", "A")
            self.reward = make_reward(units["A"], name="洗衣液", cost=30, stock=4)
            self.stock0 = 4
            self.sources: list[str] = []
            self.keys: list[str] = []
            self.redemptions: list[int] = []

        @rule(points=st.integers(1, 80), replay=st.booleans())
        def award(self, points, replay):
            source = self.sources[-1] if replay and self.sources else uuid.uuid4().hex
            award_points(
                self.rider.user_id, points, reason="打卡", source_type="prop", source_id=source
            )
            db.session.commit()
            self.sources.append(source)

        @rule(replay=st.booleans())
        def redeem(self, replay):
            key = self.keys[-1] if replay and self.keys else uuid.uuid4().hex
            self.keys.append(key)
            response = client.post(
                "/api/v1/redemptions",
                json={"reward_id": self.reward.id},
                headers={**self.rider, "Idempotency-Key": key},
            )
            assert response.status_code in (200, 201, 400, 409, 422), response.get_json()
            if response.status_code in (200, 201):
                self.redemptions.append(response.get_json()["id"])

        @rule(data=st.data())
        def cancel(self, data):
            if not self.redemptions:
                return
            rid = data.draw(st.sampled_from(self.redemptions))
            response = client.post(f"/api/v1/redemptions/{rid}/cancel", headers=self.rider)
            assert response.status_code in (200, 404, 409), response.get_json()

        @rule(days=st.integers(1, 40))
        def time_passes_and_vouchers_expire(self, days):
            self.now += dt.timedelta(days=days)
            clock.freeze(self.now)
            expire_due()
            db.session.commit()
            # the logins expire as time passes: fresh tokens for the same people
            for auth in (self.rider, admin):
                auth["Authorization"] = "Bearer " + fresh_token(auth.user_id)

        @rule(delta=st.integers(-120, 60))
        def adjust(self, delta):
            if delta == 0:
                return
            response = client.post(
                "/api/v1/admin/points/adjustments",
                json={"user_id": self.rider.user_id, "delta": delta, "reason": "人工调整"},
                headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert response.status_code in (200, 201, 400, 409, 422), response.get_json()

        @invariant()
        def ledger_holds(self):
            if not hasattr(self, "rider"):
                return
            db.session.expire_all()
            assert verify_ledger() == []
            assert balance_of(self.rider.user_id) >= 0
            stock = db.session.get(Reward, self.reward.id).stock
            taken = db.session.scalar(
                select(func.count())
                .select_from(Redemption)
                .where(
                    Redemption.reward_id == self.reward.id,
                    Redemption.status.in_(("pending", "fulfilled")),
                )
            )
            assert stock >= 0 and stock == self.stock0 - taken
            repeated = db.session.execute(
                select(LedgerEntry.source_type, LedgerEntry.source_id, func.count())
                .where(LedgerEntry.user_id == self.rider.user_id)
                .group_by(LedgerEntry.source_type, LedgerEntry.source_id)
                .having(func.count() > 1)
            ).all()
            assert not [r for r in repeated if r[0] == "prop"], repeated

        def teardown(self):
            clock.freeze(None)

    Ledger.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    Ledger.TestCase().runTest()
