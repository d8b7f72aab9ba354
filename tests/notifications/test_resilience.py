"""Never lost: Redis down while events happen, a worker killed mid-batch, stuck rows, the
scheduler's once-per-tick lock, and the dev processes."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue

import server
from server.extensions import db, get_raw_redis, get_redis
from server.notifications.models import Notification
from server.notifications.queue import NOTIFICATIONS_QUEUE, QUEUED_KEY
from server.notifications.services import PENDING_KEY, notify
from server.notifications.tasks import sweep_outbox
from server.notifications.worker import (
    child_environment,
    fengchao_command,
    scheduler_tick,
    start_dev_worker,
)
from tests.notifications.conftest import SEND_PATH, rows, run_worker, sends, tpl, wait_until

ROOT = Path(server.__file__).resolve().parent.parent


def test_redis_down_the_request_succeeds_and_the_sweeper_delivers_later(
    app, client, login, credit, sandbox, monkeypatch
):
    grid = login("grid_worker", "A1")
    credit(grid, "report_status")
    dead_raw = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    dead = redis_lib.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, decode_responses=True
    )
    monkeypatch.setitem(app.extensions, "redis_raw", dead_raw)
    monkeypatch.setitem(app.extensions, "redis", dead)
    try:
        response = client.post(
            "/api/v1/admin/notifications/test", json={"kind": "report_status"}, headers=grid
        )
    finally:
        monkeypatch.undo()
        dead_raw.close()
        dead.close()
    assert response.status_code == 201, response.get_json()
    [row] = rows(grid.user_id)
    assert row.status == "pending"
    assert Queue(NOTIFICATIONS_QUEUE, connection=get_raw_redis()).count == 0  # nothing queued

    assert sweep_outbox() == {"recovered": 0, "lost": 0, "due": 1, "enqueued": 1}
    assert sweep_outbox()["enqueued"] == 0  # already waiting: not queued twice
    run_worker()
    [call] = sends(sandbox)
    assert call["body"]["touser"] == grid.openid and call["errcode"] == 0
    assert rows(grid.user_id)[0].status == "sent"


def test_sweeper_puts_rows_stuck_in_sending_back(app, login, credit, sandbox, monkeypatch):
    rider = login("rider")
    credit(rider, "report_status")
    row = notify(rider.user_id, "report_status", title="t", body="b")
    db.session.commit()
    get_redis().delete(QUEUED_KEY.format(row.id))
    # a worker claimed it (credit spent) and died before calling WeChat
    row.status, row.credit_held, row.attempts = "sending", True, 1
    row.claimed_at = row.created_at
    from server.notifications.services import spend_credit

    assert spend_credit(rider.user_id, tpl("report_status"))
    db.session.commit()
    monkeypatch.setitem(app.config, "NOTIFY_SENDING_LEASE_SECONDS", 0)
    assert sweep_outbox()["recovered"] == 1
    run_worker()
    [call] = sends(sandbox)
    assert call["errcode"] == 0  # sent with the credit it held
    [row] = rows(rider.user_id)
    assert row.status == "sent" and row.attempts == 2


def count_tick():
    get_redis().incr("test:ticks")


def test_scheduler_enqueues_each_tick_once_across_schedulers(monkeypatch):
    monkeypatch.setattr(
        server, "PERIODIC_JOBS", [("tests.notifications.test_resilience.count_tick", 10)]
    )
    assert scheduler_tick(now=1000.0) == ["tests.notifications.test_resilience.count_tick"]
    assert scheduler_tick(now=1005.0) == []  # same tick, another scheduler: nothing
    run_worker()
    assert scheduler_tick(now=1010.0) == ["tests.notifications.test_resilience.count_tick"]
    run_worker()
    assert get_redis().get("test:ticks") == "2"


def test_ticks_while_no_worker_runs_leave_one_copy_waiting(monkeypatch):
    """Workers down for an hour: a 5-second job would be 720 copies, run one after the
    other when they are back. One waits; once it is taken, the next tick adds the next."""
    from server.notifications.queue import DEFAULT_QUEUE, queue

    dotted = "tests.notifications.test_resilience.count_tick"
    monkeypatch.setattr(server, "PERIODIC_JOBS", [(dotted, 10)])
    assert scheduler_tick(now=2000.0) == [dotted]
    for tick in range(1, 30):
        assert scheduler_tick(now=2000.0 + 10 * tick) == []
    assert queue(DEFAULT_QUEUE).count == 1
    run_worker()
    assert get_redis().get("test:ticks") == "1"
    assert scheduler_tick(now=2300.0) == [dotted]
    # a copy lost from the queue (emptied by hand) does not hold the next one back
    queue(DEFAULT_QUEUE).empty()
    assert scheduler_tick(now=2310.0) == [dotted]
    run_worker()
    assert get_redis().get("test:ticks") == "2"


def test_periodic_jobs_include_the_outbox_sweeper():
    assert ("server.notifications.tasks.sweep_outbox", 15) in server.PERIODIC_JOBS
    assert "server.notifications.worker.start_dev_worker" in server.DEV_PROCESSES


def _status_counts() -> collections.Counter:
    db.session.rollback()
    counts = collections.Counter(
        status for (status,) in db.session.query(Notification.status).all()
    )
    db.session.rollback()
    return counts


def test_a_job_lost_with_its_worker_is_enqueued_again_once_its_mark_expires(
    app, login, credit, monkeypatch
):
    """A worker killed after taking a job but before clearing the row's "job waiting" mark:
    the sweeper enqueues the row again once the mark expires (it lives as long as the
    sending lease; 1 s here), never while it could still be waiting in the queue."""
    monkeypatch.setitem(app.config, "NOTIFY_SENDING_LEASE_SECONDS", 0)
    rider = login("rider")
    credit(rider, "report_status")
    notify(rider.user_id, "report_status", title="丢失的任务", body="b")
    db.session.commit()
    queue = Queue(NOTIFICATIONS_QUEUE, connection=get_raw_redis())
    assert queue.count == 1
    queue.empty()  # the job left with a worker that died holding it
    assert sweep_outbox()["enqueued"] == 0  # the mark says a job is waiting
    assert wait_until(lambda: not list(get_redis().scan_iter(QUEUED_KEY.format("*"))), 5)
    assert sweep_outbox()["enqueued"] == 1
    assert queue.count == 1


@pytest.mark.slow
def test_worker_killed_mid_batch_then_restarted_delivers_everything(
    app, login, credit, sandbox, monkeypatch, tmp_path
):
    total = 20
    rider = login("rider")
    credit(rider, "report_status", total)
    # WeChat's side of the documented window: a send whose result the worker never recorded
    # used one of the user's accepts, so the resend needs one more.
    sandbox.grant_subscription(rider.openid, tpl("report_status"))
    sandbox.fault(SEND_PATH, delay_seconds=0.1, times=1000)  # each send takes a while
    # Time passes at once for this process's side of the outbox: a `sending` row's lease,
    # and the "job waiting" mark of each row (kept as long as the lease), expire at once.
    # The mark matters when the kill lands between the worker taking a job and clearing
    # the row's mark: the job died with the worker, and the sweeper enqueues the row again
    # only once the mark has expired (in production: NOTIFY_SENDING_LEASE_SECONDS).
    monkeypatch.setitem(app.config, "NOTIFY_SENDING_LEASE_SECONDS", 0)
    for i in range(total):
        notify(rider.user_id, "report_status", title=f"第{i}条", body="b", page=f"pages/r?i={i}")
    db.session.commit()
    env = child_environment(app)
    log_file = (tmp_path / "worker.log").open("w")
    try:
        worker = subprocess.Popen(
            fengchao_command("worker"), env=env, cwd=ROOT, stdout=log_file, stderr=log_file
        )
        try:
            assert wait_until(lambda: _status_counts()["sent"] >= 5, 30), _status_counts()
        finally:
            worker.kill()  # SIGKILL: no cleanup at all
            worker.wait(timeout=10)
        before = _status_counts()
        assert before["sent"] < total, before

        marks = QUEUED_KEY.format("*")
        assert wait_until(lambda: not list(get_redis().scan_iter(marks)), 10)  # expired (1 s)
        sweep = sweep_outbox()  # what the scheduler runs every few seconds
        assert sweep["recovered"] <= 1
        restarted = subprocess.Popen(
            fengchao_command("worker", "--burst"),
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            returncode = restarted.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # Seen under heavy load, every row sent and the worker not exiting: RQ's command
            # listener waiting out its 60 s (fixed: test_worker_shutdown.py). Should it
            # happen again, its threads' stacks (faulthandler on SIGUSR1) say where it waits.
            restarted.send_signal(signal.SIGUSR1)
            time.sleep(2)
            restarted.kill()
            restarted.wait(timeout=10)
            log_file.flush()
            tail = (tmp_path / "worker.log").read_text(errors="replace")[-8000:]
            counts = _status_counts()
            raise AssertionError(f"the burst worker did not finish: {counts}\n{tail}") from None
        assert returncode == 0
    finally:
        log_file.close()
    assert _status_counts() == {"sent": total}
    pages = collections.Counter(
        m["body"]["page"] for m in sandbox.messages() if m["kind"] == "subscribe"
    )
    assert set(pages) == {f"pages/r?i={i}" for i in range(total)}
    duplicates = [page for page, n in pages.items() if n > 1]
    assert len(duplicates) <= 1 and all(pages[p] == 2 for p in duplicates)
    assert sum(pages.values()) <= total + 1


@pytest.mark.slow
def test_dev_processes_deliver_what_the_outbox_holds(app, login, credit, sandbox):
    rider = login("rider")
    credit(rider, "report_status")
    row = notify(rider.user_id, "report_status", title="演示", body="b")
    db.session.info.pop(PENDING_KEY, None)  # not enqueued, as if Redis had been down
    db.session.commit()
    row_id = row.id
    previous = signal.getsignal(signal.SIGTERM)
    children = start_dev_worker(app)
    signal.signal(signal.SIGTERM, previous)
    try:
        # the scheduler's first tick runs the sweeper, which enqueues; the worker sends
        assert wait_until(lambda: _status_counts()["sent"] == 1, 30), _status_counts()
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=15)
    assert [c["body"]["touser"] for c in sends(sandbox)] == [rider.openid]
    assert db.session.get(Notification, row_id).status == "sent"
    assert all(child.returncode is not None for child in children)
    assert os.environ.get("REDIS_URL") in (None, "", app.config.get("REDIS_URL"))


@pytest.mark.slow
def test_a_worker_writes_its_threads_stacks_on_sigusr1(app, tmp_path):
    """What an operator (or the test above) sees of a worker that seems stuck."""
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        worker = subprocess.Popen(
            fengchao_command("worker"),
            env=child_environment(app),
            cwd=ROOT,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            assert wait_until(lambda: "Listening on" in log_path.read_text(errors="replace"), 60)
            worker.send_signal(signal.SIGUSR1)
            assert wait_until(
                lambda: "most recent call first" in log_path.read_text(errors="replace"), 10
            )
            assert worker.poll() is None  # still working
        finally:
            worker.kill()
            worker.wait(timeout=10)
