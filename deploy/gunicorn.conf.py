"""gunicorn settings for Fengchao: `gunicorn -c deploy/gunicorn.conf.py "server:create_app()"`.

Sync workers, 2 x cores (research/perf_ceilings.md: the tightest tails on this kind of
machine; gthread pins keep-alive connections to one worker, gevent starves on CPU-bound
requests). nginx in front buffers slow clients, so a sync worker is never held by one.
Every value can be overridden from the environment (GUNICORN_*), see deploy/README.md.

The app is preloaded: the master builds it once (≈3 s of CPU: imports, models, the OpenAPI
document) and every worker is a fork of it, so a worker recycled by max_requests is ready
at once instead of rebuilding the app while its share of the traffic waits. Workers open
their own database and Redis connections: `server/__init__.py` disposes the forked
SQLAlchemy pools in each child and redis-py resets its pools on the new pid.
"""

import gc
import json
import os
import re
import shutil
import stat
from pathlib import Path

from gunicorn import glogging


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours a container's CPU set
    except AttributeError:
        return os.cpu_count() or 1


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        # SystemExit, not ValueError: gunicorn prints a traceback for any exception a config
        # file raises, and only the message for this one (exit status 1)
        raise SystemExit(
            f"gunicorn.conf.py: {name} must be a whole number (nothing else on the line), "
            f"got {value!r}"
        ) from None


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = _int("GUNICORN_WORKERS", 2 * _cores())
# A request that runs longer is killed (the worker restarts): WeChat calls time out at 5 s.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM/SIGHUP, workers finish the requests they hold for up to this long.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 2)
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") not in ("0", "false", "no")
# Recycle workers now and then (slow leaks in any library), staggered so they do not all
# restart together: workers started together under even load reach their counts together,
# and a jitter of 10% let all four go within ≈1.4 s at the bench's 350 req/s each — no
# worker at all until the master had forked the next (bench/README.md). Half of
# max_requests spreads them over ≈28 s at that rate. 20,000 rather than the 5,000 measured
# there: each recycled worker leaves its Prometheus counter and histogram files behind
# (prometheus_client keeps a dead worker's counts), and every /metrics scrape reads them
# all until the next restart (deploy/README.md, "Health and monitoring").
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 2)
# nginx is the only client; it sets X-Forwarded-For / X-Forwarded-Proto (TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips
limit_request_line = 8190
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") else None
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# Text form (development); production logs JSON lines (JsonAccessLogger below).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s ua="%(a)s"'

# Prometheus multiprocess mode: every worker writes its samples to files in this folder and
# /metrics adds them up. The folder belongs to this gunicorn alone and is emptied at start;
# the folders of gunicorn masters that are gone are removed then too (on_starting).
METRICS_FOLDER_PREFIX = "fengchao-metrics-"
PROMETHEUS_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(os.environ.get("FENGCHAO_RUN_DIR", "/tmp")) / f"{METRICS_FOLDER_PREFIX}{os.getpid()}"),
)
_METRICS_FOLDER = re.compile(re.escape(METRICS_FOLDER_PREFIX) + r"([0-9]{1,10})", re.ASCII)


class JsonAccessLogger(glogging.Logger):
    """Access log as one JSON object per line (with the request id the app answered)."""

    def access(self, resp, req, environ, request_time):
        if not self.cfg.accesslog:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        record = {
            "time": atoms.get("t", "").strip("[]"),
            "logger": "gunicorn.access",
            "remote": atoms.get("h"),
            "method": atoms.get("m"),
            "path": atoms.get("U"),
            "query": atoms.get("q") or None,
            "status": atoms.get("s"),
            "bytes": atoms.get("B"),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": atoms.get("{x-request-id}o", "-"),
            "forwarded_for": atoms.get("{x-forwarded-for}i", "-"),
            "user_agent": atoms.get("a"),
        }
        try:
            self.access_log.info(json.dumps(record, ensure_ascii=False))
        except Exception:
            self.exception("could not write the access log line")


_log_format = os.environ.get("LOG_FORMAT") or (
    "json" if os.environ.get("FENGCHAO_ENV") == "production" else "text"
)
if _log_format == "json":
    logger_class = JsonAccessLogger


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process of its own: never taken for a dead master
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def stale_metrics_folders(current: str) -> list[Path]:
    """The metrics folders beside `current` left by gunicorn masters that are gone: named
    fengchao-metrics-<master pid>, this user's own real folders (no symlinks), never
    `current`, never one whose master still runs. Under systemd each restart of
    fengchao-web leaves one in /run/fengchao (RuntimeDirectoryPreserve=restart keeps the
    folder across restarts), with every file its workers wrote."""
    here = Path(current)
    try:
        siblings = list(here.parent.iterdir())
    except OSError:
        return []
    stale = []
    for entry in siblings:
        match = _METRICS_FOLDER.fullmatch(entry.name)
        if match is None or entry.name == here.name:
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if not _pid_alive(int(match.group(1))):
            stale.append(entry)
    return sorted(stale)


def on_starting(server):
    """Master, once: start the metrics folder empty (stale files would add old counts), and
    remove the folders earlier masters left (they only ever grew: /run/fengchao is kept
    across restarts)."""
    for folder in stale_metrics_folders(PROMETHEUS_DIR):
        shutil.rmtree(folder, ignore_errors=True)
        server.log.info("removed the metrics folder of a gunicorn that is gone: %s", folder)
    shutil.rmtree(PROMETHEUS_DIR, ignore_errors=True)
    os.makedirs(PROMETHEUS_DIR, exist_ok=True)


def pre_fork(server, worker):
    """Master, before each fork: bring the preloaded app's per-process caches (the station
    catalog) up to date, so the worker starts warm (server/cache.py `warm`), then freeze
    what the master holds (`gc.freeze`, as Python's documentation advises before fork): the
    worker's collections never walk the app's ≈250,000 objects — nor does its collection
    at exit, which took ≈0.5 s and more, a recycled worker's successor forked only after
    it (bench/README.md) — and their pages stay shared instead of copied on write."""
    if preload_app:
        try:
            from server.cache import warm

            warm(server.app.wsgi())
        except Exception:  # a worker loads what it needs itself; never keep one from starting
            server.log.exception("could not warm the caches before a fork")
    # Collected first, so no garbage is frozen for good (what froze before is not walked:
    # after the first fork this looks only at what the master made since, its warming).
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    """Master, per dead worker (also after kill -9): its live gauges leave the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_abort(worker):
    worker.log.warning("worker %s aborted (timeout %ss)", worker.pid, timeout)
