"""`fengchao outbox status|retry`."""

from __future__ import annotations

from click.testing import CliRunner

from server.extensions import db as _db
from server.notifications.models import Notification
from server.notifications.services import notify


def test_status_and_retry_failed(app, db, login):
    rider = login("rider")
    row = notify(rider.user_id, "points_adjusted", title="积分变动", body="测试")
    _db.session.commit()
    row.status, row.attempts, row.last_error = "failed", 5, "47003"
    _db.session.commit()
    runner = CliRunner()
    status = runner.invoke(app.cli, ["outbox", "status"])
    assert status.exit_code == 0
    assert "failed" in status.output
    result = runner.invoke(app.cli, ["outbox", "retry", "--all-failed"])
    assert result.exit_code == 0, result.output
    assert "requeued 1" in result.output
    _db.session.expire_all()
    again = _db.session.get(Notification, row.id)
    assert again.status == "pending" and again.attempts == 0


def test_retry_needs_a_target(app):
    result = CliRunner().invoke(app.cli, ["outbox", "retry"])
    assert result.exit_code != 0
    assert "--all-failed" in result.output
