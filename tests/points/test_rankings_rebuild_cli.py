"""`fengchao rankings rebuild` says when a ranking could not be rebuilt (exit 1)."""

from __future__ import annotations

from server.extensions import db as _db
from server.points import rankings
from server.points.services import award_points


def _losing_the_logs(real, redis):
    """A ledger read after which the rebuild logs are gone (Redis flushed or failed over
    meanwhile, or a read that outlived the log's TTL)."""

    def read(*args, **kwargs):
        taken = real(*args, **kwargs)
        for key in redis.keys("rk:log:*"):
            redis.delete(key)
        return taken

    return read


def test_rebuild_exits_non_zero_naming_the_rankings_it_gave_up(app, login, redis, monkeypatch):
    rider = login("rider")
    award_points(rider.user_id, 10, reason="测试", source_type="test", source_id="x")
    _db.session.commit()
    monkeypatch.setattr(rankings, "_city_scores", _losing_the_logs(rankings._city_scores, redis))
    monkeypatch.setattr(rankings, "_totals", _losing_the_logs(rankings._totals, redis))
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    # the restore runbook chains `rankings rebuild && points verify && doctor`
    assert result.exit_code == 1, result.output
    assert "could not be rebuilt" in result.output and "Redis" in result.output
    assert "rebuilt 0 rankings" in result.output


def test_rebuild_says_what_it_rebuilt(app, login, redis):
    rider = login("rider")
    award_points(rider.user_id, 10, reason="测试", source_type="test", source_id="x")
    _db.session.commit()
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    assert result.exit_code == 0, result.output
    built = rankings.rebuild_all(settle=0)
    assert f"rebuilt {len(built)} rankings" in result.output
    assert all(count is not None for _, _, count in built)
