"""`fengchao worker`, `scheduler --once` and `outbox retry`: what a script relies on."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError

from server.notifications import worker


def test_a_mistyped_queue_is_refused_not_listened_on_forever(app, monkeypatch):
    started = []
    monkeypatch.setattr(worker.FengchaoWorker, "work", lambda self, **kw: started.append(1))
    # the stack dump on SIGUSR1 wants a real stderr, which the CLI runner does not give
    monkeypatch.setattr(worker.faulthandler, "register", lambda *a, **k: None)
    result = app.test_cli_runner().invoke(args=["worker", "--queue", "notification"])
    assert result.exit_code == 2, (result.output, repr(result.exception))
    assert "'notifications', 'default'" in result.output
    assert started == []
    result = app.test_cli_runner().invoke(args=["worker", "--queue", "notifications", "--burst"])
    assert result.exit_code == 0, result.output
    assert started == [1]


def test_scheduler_once_fails_when_its_tick_failed(app, monkeypatch):
    def redis_down(now=None):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(worker, "scheduler_tick", redis_down)
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    # nothing was enqueued: a cron job or script running `--once` must see it
    assert result.exit_code == 1, (result.output, repr(result.exception))
    assert isinstance(result.exception, SystemExit)
    assert "Redis unreachable" in result.output and "Connection refused" in result.output


def test_scheduler_once_shows_a_bug_as_it_is(app, monkeypatch):
    def bug(now=None):
        raise KeyError("server.nowhere.job")

    monkeypatch.setattr(worker, "scheduler_tick", bug)
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)


def test_retry_takes_ids_a_notification_can_have(app):
    for given in ("9223372036854775808", "0"):
        result = app.test_cli_runner().invoke(args=["outbox", "retry", "--id", given])
        assert result.exit_code == 2, (result.output, repr(result.exception))
        assert "Invalid value for '--id'" in result.output
    result = app.test_cli_runner().invoke(args=["outbox", "retry", "--id", "9223372036854775807"])
    assert result.exit_code == 1 and "not requeued 1" in result.output  # no such notification
