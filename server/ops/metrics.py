"""Prometheus metrics: HTTP requests, domain counters others import, gauges computed at scrape.

Counters for domains (import and call; every label value must come from a small fixed set):

    from server.ops.metrics import CHECKINS, REPORTS, NOTIFICATIONS_FAILED, WECHAT_API_ERRORS

    CHECKINS.labels(outcome="ok").inc()                      # or the refusal code,
                                                             #   e.g. "checkin.out_of_range"
    REPORTS.labels(event="submitted").inc()                  # or a work-order transition:
                                                             #   "assigned", "resolved", ...
    NOTIFICATIONS_FAILED.labels(kind="work_order_assigned", reason="43101").inc()
    WECHAT_API_ERRORS.labels(path="/cgi-bin/message/subscribe/send", errcode="43101").inc()
    record_wechat_error(exc)                                 # the same from a WeChatError

CHECKINS and REPORTS happen in web workers and are plain prometheus-client counters
(multiprocess mode under gunicorn). NOTIFICATIONS_FAILED and WECHAT_API_ERRORS happen mostly
in `fengchao worker`, which /metrics cannot see into, so they are kept in Redis (one hash per
counter) and read at scrape time: they are cluster-wide totals, the same on every app node
(aggregate them with max(), not sum(), across instances). A Redis failure never breaks the
caller; the increment is lost and logged.

Gauges computed at scrape time, from whatever exists (tables and queues appear as domains
land; what is missing is skipped). The table counts are a GROUP BY over tables that grow
with history (notifications: millions of rows), so one count serves every scrape of every
node for GAUGE_CACHE_S (kept in Redis); the queue gauges are read at each scrape:
    fengchao_reports{status}                 reports by status (table `reports`)
    fengchao_work_orders{state}              work orders by state (table `work_orders`)
    fengchao_notifications{status}           the notification outbox by status
    fengchao_queue_depth{queue}              jobs waiting in each RQ queue
    fengchao_queue_failed_jobs{queue}        jobs in each RQ queue's failed registry
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "fengchao_http_requests",
    "HTTP requests by endpoint (the URL rule, not the raw path), method and status.",
    ["endpoint", "method", "status"],
)
REQUEST_LATENCY = Histogram(
    "fengchao_http_request_duration_seconds",
    "Time spent in the app per request, by endpoint (URL rule) and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECKINS = Counter(
    "fengchao_checkins",
    "Check-ins by outcome: 'ok', or the refusal code (e.g. 'checkin.out_of_range').",
    ["outcome"],
)
REPORTS = Counter(
    "fengchao_report_events",
    "Reports and work orders by event: 'submitted', or a work-order transition.",
    ["event"],
)


class RedisCounter:
    """A counter kept in a Redis hash (field = JSON label values), read at scrape time.

    Same call shape as prometheus-client: `COUNTER.labels(a="x").inc()`.
    """

    def __init__(self, name: str, documentation: str, labelnames: Iterable[str]):
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.key = f"fc:metrics:{name}"

    def labels(self, **labels: str) -> _BoundRedisCounter:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes the labels {', '.join(self.labelnames)}")
        values = [str(labels[name]) for name in self.labelnames]
        return _BoundRedisCounter(self, json.dumps(values, ensure_ascii=False))

    def read(self) -> dict[tuple[str, ...], float]:
        from server.extensions import get_redis

        raw = get_redis().hgetall(self.key)
        return {tuple(json.loads(field)): float(value) for field, value in raw.items()}


class _BoundRedisCounter:
    def __init__(self, counter: RedisCounter, field: str):
        self.counter, self.field = counter, field

    def inc(self, amount: float = 1) -> None:
        try:
            from server.extensions import get_redis

            get_redis().hincrbyfloat(self.counter.key, self.field, amount)
        except Exception as exc:  # metrics must never break the work they count
            log.warning("could not count %s %s: %s", self.counter.name, self.field, exc)


NOTIFICATIONS_FAILED = RedisCounter(
    "fengchao_notifications_failed",
    "Notifications that failed to be delivered, by kind and reason (a WeChat errcode, "
    "'retries_exhausted', 'config').",
    ["kind", "reason"],
)
WECHAT_API_ERRORS = RedisCounter(
    "fengchao_wechat_api_errors",
    "Errors answered by (or reaching) the WeChat API, by API path and errcode "
    "('http' or 'network' when WeChat gave no errcode).",
    ["path", "errcode"],
)
REDIS_COUNTERS = (NOTIFICATIONS_FAILED, WECHAT_API_ERRORS)


def record_wechat_error(exc: Exception) -> None:
    """Count a WeChatError (or WeChatUnavailable) in WECHAT_API_ERRORS."""
    errcode = getattr(exc, "errcode", None)
    if errcode is None:
        from server.wechat.errors import WeChatUnavailable

        errcode = "network" if isinstance(exc, WeChatUnavailable) else "http"
    path = getattr(exc, "path", "") or "unknown"
    WECHAT_API_ERRORS.labels(path=path, errcode=str(errcode)).inc()


# --- scrape-time collector --------------------------------------------------------------


def _table_columns(table: str) -> set[str] | None:
    from sqlalchemy import inspect

    from server.extensions import db

    inspector = inspect(db.engine)
    if not inspector.has_table(table):
        return None
    return {column["name"] for column in inspector.get_columns(table)}


def _count_by(table: str, column: str) -> dict[str, int] | None:
    from sqlalchemy import text

    from server.extensions import db

    columns = _table_columns(table)
    if columns is None or column not in columns:
        return None
    # table and column are our constants, never input
    sql = text(f'SELECT "{column}", COUNT(*) FROM "{table}" GROUP BY "{column}"')  # noqa: S608
    with db.engine.connect() as conn:
        return {str(value): int(count) for value, count in conn.execute(sql)}


GAUGE_CACHE_S = 30


def _shared_count_by(table: str, column: str) -> dict[str, int] | None:
    """`_count_by`, counted once per GAUGE_CACHE_S for the whole cluster (Redis); counted
    here, uncached, when Redis cannot be read."""
    key = f"metrics:gauge:{table}:{column}"
    try:
        from server.extensions import get_redis

        redis = get_redis()
        cached = redis.get(key)
    except Exception as exc:
        log.warning("metrics: gauge cache unavailable: %s", exc)
        return _count_by(table, column)
    if cached is not None:
        return {str(value): int(count) for value, count in json.loads(cached).items()}
    counts = _count_by(table, column)
    if counts is not None:
        try:
            redis.set(key, json.dumps(counts), ex=GAUGE_CACHE_S)
        except Exception as exc:
            log.warning("metrics: gauge cache not written: %s", exc)
    return counts


def _queue_names() -> tuple[str, ...]:
    try:
        from server.notifications.queue import WORKER_QUEUES
    except ImportError:
        return ("notifications", "default")
    return tuple(WORKER_QUEUES)


class DomainCollector(Collector):
    """Gauges computed at scrape time; each source is optional and failures are skipped."""

    GAUGES = (
        ("fengchao_reports", "Reports by status.", "reports", "status"),
        ("fengchao_work_orders", "Work orders by state.", "work_orders", "state"),
        ("fengchao_notifications", "The notification outbox by status.", "notifications", "status"),
        (
            "fengchao_wechat_inbound",
            "Messages residents sent the official account, by status.",
            "wechat_inbound",
            "status",
        ),
    )

    def collect(self):
        for name, doc, table, column in self.GAUGES:
            try:
                counts = _shared_count_by(table, column)
            except Exception as exc:
                log.warning("metrics: could not count %s by %s: %s", table, column, exc)
                counts = None
            if counts is None:
                continue
            gauge = GaugeMetricFamily(name, doc, labels=[column])
            for value, count in sorted(counts.items()):
                gauge.add_metric([value], count)
            yield gauge
        yield from self._queues()
        yield from self._redis_counters()

    def _queues(self):
        try:
            from rq import Queue

            from server.extensions import get_raw_redis

            connection = get_raw_redis()
            depth = GaugeMetricFamily(
                "fengchao_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"]
            )
            failed = GaugeMetricFamily(
                "fengchao_queue_failed_jobs",
                "Jobs in each RQ queue's failed job registry.",
                labels=["queue"],
            )
            for name in _queue_names():
                queue = Queue(name, connection=connection)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], queue.failed_job_registry.count)
        except Exception as exc:
            log.warning("metrics: could not read the RQ queues: %s", exc)
            return
        yield depth
        yield failed

    def _redis_counters(self):
        for counter in REDIS_COUNTERS:
            try:
                values = counter.read()
            except Exception as exc:
                log.warning("metrics: could not read %s: %s", counter.name, exc)
                continue
            family = CounterMetricFamily(
                counter.name, counter.documentation, labels=list(counter.labelnames)
            )
            for labels, value in sorted(values.items()):
                family.add_metric(list(labels), value)
            yield family


def render() -> bytes:
    """The exposition text: this process's (or all gunicorn workers') metrics + scrape gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    scrape_registry = CollectorRegistry(auto_describe=False)
    scrape_registry.register(DomainCollector())
    return generate_latest(process_registry) + generate_latest(scrape_registry)


# --- request instrumentation -------------------------------------------------------------


def start_timer() -> None:
    from flask import g

    g._fc_started = time.perf_counter()


# The labelled children, by their labels: `labels()` validates and locks on every call.
# Every label is bounded (URL rules, known methods, status codes), and so is this.
_CHILDREN: dict[tuple, tuple[Any, Any]] = {}
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe(response):
    """after_request: count and time the request by its URL rule."""
    from flask import g, request

    started = g.pop("_fc_started", None)
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    method = request.method if request.method in METHODS else "other"  # any token is a method
    labels = (rule, method, response.status_code)
    children = _CHILDREN.get(labels)
    if children is None:
        children = _CHILDREN[labels] = (
            REQUESTS.labels(endpoint=rule, method=method, status=str(labels[2])),
            REQUEST_LATENCY.labels(endpoint=rule, method=method),
        )
    children[0].inc()
    if started is not None:
        children[1].observe(time.perf_counter() - started)
    return response
