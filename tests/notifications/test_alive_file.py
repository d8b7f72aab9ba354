"""Workers and the scheduler keep an alive file for a health check that starts no Python:
alive while the time in it is ahead of now (deploy/docker-compose.yml)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from rq import Queue

from server.extensions import get_raw_redis
from server.notifications.worker import (
    FengchaoWorker,
    scheduler_command,
    worker_command,
    write_alive,
)
from tests.ops.test_deploy import DEPLOY


def deadline(path: Path) -> int:
    return int(path.read_text())


def alive_until_read_by(path: str) -> int:
    """A job: what the alive file says while it runs."""
    return int(Path(path).read_text())


def test_an_idle_worker_is_alive_until_its_heartbeat_expires(app, tmp_path):
    alive = tmp_path / "alive"
    worker = FengchaoWorker(
        ["fc-test-alive-idle"], connection=get_raw_redis(), alive_file=str(alive)
    )
    started = time.time()
    worker.work(burst=True)
    # RQ's own heartbeat: worker_ttl + 60 s (a hung worker is noticed within 3 minutes)
    assert worker.worker_ttl == FengchaoWorker.WORKER_TTL_S == 120
    assert int(started) + 180 <= deadline(alive) <= time.time() + 181


def test_a_worker_running_a_long_job_is_alive_until_the_job_times_out(app, tmp_path):
    """Nothing beats while the job runs in the worker's own process: the file covers the
    job's timeout (RQ stops the job there) and a minute more."""
    alive = tmp_path / "alive"
    queue = Queue("fc-test-alive-job", connection=get_raw_redis())
    job = queue.enqueue(alive_until_read_by, str(alive), job_timeout=900)
    enqueued = time.time()
    worker = FengchaoWorker([queue.name], connection=get_raw_redis(), alive_file=str(alive))
    worker.work(burst=True)
    job.refresh()
    assert job.get_status() == "finished", job.exc_info
    assert int(enqueued) + 960 <= job.return_value() <= time.time() + 961


def test_a_beat_queued_on_a_pipeline_is_not_vouched_for(app, tmp_path):
    """RQ queues some beats on a pipeline (the suspension check, the job's start): the file
    is not moved by a beat that may never reach Redis."""
    alive = tmp_path / "alive"
    write_alive(str(alive), 1)
    worker = FengchaoWorker(
        ["fc-test-alive-pipe"], connection=get_raw_redis(), alive_file=str(alive)
    )
    worker.heartbeat(pipeline=get_raw_redis().pipeline())  # never executed
    assert deadline(alive) == 1
    worker.heartbeat()
    assert deadline(alive) > time.time()


def test_a_restarted_worker_does_not_inherit_the_last_runs_deadline(app, tmp_path, monkeypatch):
    """A container restart keeps /tmp: the old deadline is cleared before the worker starts,
    so a worker that hangs (or fails) before its first beat is not reported healthy."""
    alive = tmp_path / "alive"
    write_alive(str(alive), time.time() + 4 * 3600)  # killed mid-job: hours ahead

    def stuck(self, **kwargs):
        raise RuntimeError("never got to its first beat")

    monkeypatch.setattr(FengchaoWorker, "work", stuck)
    # the stack dump on SIGUSR1 wants a real stderr, which the CLI runner does not give
    monkeypatch.setattr("server.notifications.worker.faulthandler.register", lambda *a, **k: None)
    result = app.test_cli_runner().invoke(worker_command, ["--alive-file", str(alive)])
    assert isinstance(result.exception, RuntimeError)
    assert deadline(alive) == 0


def test_the_scheduler_is_alive_while_its_loop_turns(app, tmp_path):
    alive = tmp_path / "alive"
    started = time.time()
    result = app.test_cli_runner().invoke(scheduler_command, ["--once", "--alive-file", str(alive)])
    assert result.exit_code == 0, result.output
    assert int(started) + 30 <= deadline(alive) <= time.time() + 31


def test_an_unwritable_alive_file_is_logged_not_fatal(tmp_path, caplog):
    write_alive(str(tmp_path / "missing" / "alive"), time.time() + 30)
    assert "cannot write the alive file" in caplog.text


def _compose_health_check(role: str) -> str:
    import yaml

    service = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"][role]
    kind, command = service["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    assert service["command"] == [role, "--alive-file", "/tmp/fengchao-alive"]
    return command.replace("$$", "$")  # compose's escape for a literal $


def test_the_compose_health_checks_read_the_alive_file(tmp_path):
    """The check as the container runs it (sh): healthy while the file's time is ahead,
    unhealthy once it has passed or when there is no file."""
    for role in ("worker", "scheduler"):
        check = _compose_health_check(role).replace("/tmp/fengchao-alive", str(tmp_path / "a"))

        def healthy(check: str = check) -> bool:
            return subprocess.run(["sh", "-c", check], timeout=10).returncode == 0

        assert not healthy(), role  # no file yet
        write_alive(str(tmp_path / "a"), time.time() + 30)
        assert healthy(), role
        write_alive(str(tmp_path / "a"), time.time() - 1)
        assert not healthy(), role
        (tmp_path / "a").unlink()


# ------------------------------------------------ systemd's watchdog (sd_notify)


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    """A NOTIFY_SOCKET as systemd gives a unit with WatchdogSec=; returns what it got."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "300000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))

    def received() -> list[dict[str, str]]:
        messages = []
        while True:
            try:
                data = sock.recv(4096).decode()
            except BlockingIOError:
                return messages
            messages.append(dict(line.split("=", 1) for line in data.splitlines()))

    yield received
    sock.close()


def test_systemd_is_told_the_same_deadline_as_the_file(systemd, tmp_path, monkeypatch):
    write_alive(None, time.time() + 100)  # no file: systemd alone
    [message] = systemd()
    assert message["WATCHDOG"] == "1"
    assert 99_000_000 < int(message["WATCHDOG_USEC"]) <= 100_000_000
    write_alive(str(tmp_path / "alive"), 0)  # the start's "not alive yet": nothing to say
    assert systemd() == []
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # another process's watchdog
    write_alive(None, time.time() + 100)
    assert systemd() == []
    monkeypatch.delenv("WATCHDOG_USEC")  # no watchdog for this unit
    monkeypatch.delenv("WATCHDOG_PID")
    write_alive(None, time.time() + 100)
    assert systemd() == []


def test_a_worker_and_the_scheduler_beat_systemds_watchdog(app, systemd, tmp_path):
    queue = Queue("fc-test-watchdog", connection=get_raw_redis())
    queue.enqueue(len, "job", job_timeout=900)
    FengchaoWorker([queue.name], connection=get_raw_redis()).work(burst=True)
    timeouts = [int(m["WATCHDOG_USEC"]) for m in systemd()]
    assert any(t > 959_000_000 for t in timeouts), timeouts  # the job's timeout + a minute
    assert any(170_000_000 < t <= 180_000_000 for t in timeouts), timeouts  # idle beats
    result = app.test_cli_runner().invoke(scheduler_command, ["--once"])
    assert result.exit_code == 0, result.output
    assert [29_000_000 < int(m["WATCHDOG_USEC"]) <= 30_000_000 for m in systemd()] == [True]


def test_an_abstract_notify_socket_is_reached(monkeypatch):
    name = f"fc-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        monkeypatch.setenv("WATCHDOG_USEC", "300000000")
        write_alive(None, time.time() + 60)
        sock.settimeout(2)
        assert sock.recv(4096).startswith(b"WATCHDOG=1\n")


def test_the_systemd_units_restart_a_worker_that_stops_beating():
    for unit in ("fengchao-worker@.service", "fengchao-scheduler.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "\nWatchdogSec=300\n" in text, unit
        assert "\nNotifyAccess=main\n" in text, unit
        assert "\nRestart=always\n" in text, unit


def test_a_suspended_worker_is_waiting_not_hung(app, tmp_path, systemd):
    """`rq suspend` (maintenance): RQ's loop checks every second without a beat of its own;
    the alive file and systemd keep hearing from the worker until `rq resume`."""
    from rq.suspension import resume, suspend

    alive = tmp_path / "alive"
    connection = get_raw_redis()
    queue = Queue("fc-test-suspended", connection=connection)
    worker = FengchaoWorker([queue.name], connection=connection, alive_file=str(alive))
    suspend(connection)
    thread = threading.Thread(target=worker.check_for_suspension, args=(False,), daemon=True)
    try:
        thread.start()
        time.sleep(3.5)
        systemd()  # what it said so far
        time.sleep(1.5)
        assert thread.is_alive()  # still waiting
        assert time.time() + 25 < deadline(alive) <= time.time() + 30
        assert systemd(), "systemd heard nothing while the worker was suspended"
        assert worker.get_state() == "suspended"
    finally:
        resume(connection)
        thread.join(5)
    assert not thread.is_alive()  # resumed: back to work
    assert worker.get_state() != "suspended"
    job = queue.enqueue(len, "abc")
    FengchaoWorker([queue.name], connection=connection).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
