"""An idle worker and scheduler log next to nothing; a job that did work or failed is seen.

RQ wrote 4 INFO lines for every job (dequeued, "Successfully completed", "Job OK", "result
is kept…") and the scheduler one per enqueue: with the WeChat inbox job every 5 s, an idle
worker wrote ≈121,600 lines a day and the scheduler ≈30,400, and Docker's log cap kept
≈3 days. RQ's loggers now run at WARNING in `fengchao worker` and `fengchao scheduler`;
`run_in_app` logs one line per job, at INFO only when it did something or took long.
"""

from __future__ import annotations

import logging

import pytest

from server.notifications import worker as worker_module
from server.notifications.queue import enqueue_periodic
from server.notifications.worker import scheduler_command, worker_command

HERE = __name__


def nothing_to_do() -> dict[str, int]:
    """A periodic job on an idle system (as process_wechat_inbox, sweep_outbox)."""
    return {"claimed": 0, "done": 0}


def did_work() -> int:
    return 3


def fails() -> int:
    raise RuntimeError("the inbox table is gone")


@pytest.fixture
def quiet_cli(monkeypatch):
    """The commands without their process-wide side effects under pytest: the SIGUSR1 stack
    dump (wants a real stderr) and the scheduler's SIGTERM/SIGINT handlers."""
    monkeypatch.setattr(worker_module.faulthandler, "register", lambda *a, **k: None)
    monkeypatch.setattr(worker_module.signal, "signal", lambda *a, **k: None)


def _run_worker(app, caplog) -> list[logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = app.test_cli_runner().invoke(worker_command, ["--burst", "--queue", "default"])
    assert result.exit_code == 0, result.output
    return list(caplog.records)


def _info(records, prefix: str = "") -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno == logging.INFO and r.name.startswith(prefix)
    ]


def test_a_periodic_job_that_did_nothing_logs_no_info_line(app, caplog, quiet_cli):
    assert enqueue_periodic(f"{HERE}.nothing_to_do", timeout=60)
    records = _run_worker(app, caplog)
    assert _info(records, "rq") == []  # RQ's 4 lines per job, and its start and stop lines
    ours = [r for r in records if r.name == worker_module.__name__]
    job_lines = [r for r in ours if f"job {HERE}.nothing_to_do" in r.getMessage()]
    assert [r.levelno for r in job_lines] == [logging.DEBUG]
    assert "claimed=0 done=0" in job_lines[0].getMessage()
    started = [r.getMessage() for r in ours if r.levelno == logging.INFO]
    assert len(started) == 2 and "Listening on default" in started[0]  # start, stop
    assert "stopped" in started[1]


def test_a_job_that_did_something_logs_one_info_line(app, caplog, quiet_cli):
    assert enqueue_periodic(f"{HERE}.did_work", timeout=60)
    records = _run_worker(app, caplog)
    assert _info(records, "rq") == []
    lines = [line for line in _info(records) if f"job {HERE}.did_work" in line]
    assert len(lines) == 1 and ": 3 (" in lines[0] and " ms)" in lines[0]


def test_a_slow_job_logs_an_info_line_even_when_it_did_nothing(app, caplog, quiet_cli, monkeypatch):
    monkeypatch.setattr(worker_module, "SLOW_JOB_MS", 0)
    assert enqueue_periodic(f"{HERE}.nothing_to_do", timeout=60)
    lines = [line for line in _info(_run_worker(app, caplog)) if "nothing_to_do" in line]
    assert len(lines) == 1


def test_a_failing_job_is_still_logged_as_an_error_with_its_traceback(app, caplog, quiet_cli):
    assert enqueue_periodic(f"{HERE}.fails", timeout=60)
    records = _run_worker(app, caplog)
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == [worker_module.__name__, "rq.worker"]
    ours, rqs = (r.getMessage() for r in errors)
    # which job (RQ's line names only run_in_app), then RQ's with the traceback
    assert ours.startswith(f"job {HERE}.fails failed (") and "the inbox table is gone" in ours
    assert "Traceback" in rqs and "RuntimeError: the inbox table is gone" in rqs
    assert _info(records, "rq") == []


def test_the_scheduler_logs_its_enqueues_at_debug(app, caplog, quiet_cli, monkeypatch):
    from server import PERIODIC_JOBS

    monkeypatch.setattr("server.PERIODIC_JOBS", [(f"{HERE}.nothing_to_do", 5)])
    with caplog.at_level(logging.DEBUG):
        result = app.test_cli_runner().invoke(scheduler_command, ["--once"])
    assert result.exit_code == 0, result.output
    enqueued = [r for r in caplog.records if "enqueued" in r.getMessage()]
    assert [r.levelno for r in enqueued] == [logging.DEBUG]
    info = _info(caplog.records)
    assert len(info) == 1 and "every 5s" in info[0]  # the schedule, once at start
    assert PERIODIC_JOBS  # the real list is untouched


@pytest.mark.parametrize(
    ("result", "did"),
    [
        (None, False),
        (0, False),
        ({"recovered": 0, "lost": 0, "due": 0, "enqueued": 0}, False),
        ({"rankings": 0, "members": 0}, False),
        (2, True),
        ({"expired": 0, "reminded": 1}, True),
        ("sent", True),
    ],
)
def test_what_counts_as_having_done_something(result, did):
    assert worker_module.did_something(result) is did
