"""The outbox summary: pending and sending in full, the terminal states over a recent window."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from server import clock
from server.extensions import db as _db
from server.notifications.admin import SUMMARY_WINDOW, outbox_summary
from server.notifications.services import notify


def _row(user_id, status, at):
    clock.freeze(at)
    row = notify(user_id, "points_adjusted", title="积分变动", body="测试")
    _db.session.commit()
    row.status = status
    _db.session.commit()  # updated_at = at: when it reached that state
    return row


def test_terminal_states_count_over_the_window_live_ones_in_full(app, db, login):
    rider = login("rider")
    now = dt.datetime(2026, 12, 1, 12, 0)
    old = now - SUMMARY_WINDOW - dt.timedelta(hours=1)
    recent = now - SUMMARY_WINDOW + dt.timedelta(hours=1)
    for status in ("sent", "inbox", "failed", "pending"):
        _row(rider.user_id, status, old)
    for status in ("sent", "sent", "failed", "pending"):
        _row(rider.user_id, status, recent)
    clock.freeze(now)
    summary = outbox_summary()
    assert summary["counts"] == {"pending": 2, "sent": 2, "failed": 1}
    assert summary["window_days"] == SUMMARY_WINDOW.days
    assert summary["stuck"] == 2  # the due pending rows nobody took

    output = CliRunner().invoke(app.cli, ["outbox", "status"]).output
    clock.freeze(None)
    lines = [line.split() for line in output.splitlines()]
    assert ["pending", "2"] in lines and ["sending", "0"] in lines and ["stuck", "2"] in lines
    assert f"in the last {SUMMARY_WINDOW.days} days:" in output
    after = output.split("in the last")[1]
    assert "sent       2" in after and "failed     1" in after and "inbox      0" in after


def test_the_admin_summary_answers_counts_and_stuck(client, login):
    admin = login("admin")
    rider = login("rider")
    _row(rider.user_id, "failed", clock.utcnow())
    clock.freeze(None)
    body = client.get("/api/v1/admin/notifications/summary", headers=admin).get_json()
    assert body == {"counts": {"failed": 1}, "stuck": 0, "window_days": SUMMARY_WINDOW.days}
