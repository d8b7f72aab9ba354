"""Putting jobs on the RQ queues (Redis). Enqueue failures are logged, never raised."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from rq import Queue

from server.extensions import get_raw_redis, get_redis

log = logging.getLogger(__name__)

NOTIFICATIONS_QUEUE = "notifications"
DEFAULT_QUEUE = "default"
WORKER_QUEUES = (NOTIFICATIONS_QUEUE, DEFAULT_QUEUE)
DELIVER_JOB = "server.notifications.tasks.deliver"
QUEUED_KEY = "fc:notify:queued:{}"  # set while a delivery job for the id waits in the queue
JOB_TIMEOUT = 120


def queue(name: str = NOTIFICATIONS_QUEUE) -> Queue:
    return Queue(name, connection=get_raw_redis())


def enqueue_deliveries(ids: Iterable[int]) -> int:
    """Enqueue a delivery job per id not already waiting; returns how many were enqueued.

    Redis errors are logged and swallowed: the rows are in the outbox and the sweeper
    enqueues them once Redis answers again.
    """
    from server.notifications.config import setting

    ids = list(ids)
    done = 0
    try:
        redis, q = get_redis(), queue()
        ttl = max(int(setting("NOTIFY_SENDING_LEASE_SECONDS")), 1)
        for notification_id in ids:
            if not redis.set(QUEUED_KEY.format(notification_id), "1", nx=True, ex=ttl):
                continue  # a job for it is already waiting
            q.enqueue(
                DELIVER_JOB,
                notification_id,
                job_timeout=JOB_TIMEOUT,
                result_ttl=0,
                failure_ttl=7 * 24 * 3600,
            )
            done += 1
    except Exception as exc:  # Redis down: the outbox keeps the rows
        log.warning(
            "could not enqueue %d notification(s) (%s: %s); the outbox sweeper will",
            len(ids) - done,
            type(exc).__name__,
            exc,
        )
    return done


def forget_queued(notification_id: int) -> None:
    """A worker took the job: a later sweep may enqueue the id again."""
    try:
        get_redis().delete(QUEUED_KEY.format(notification_id))
    except Exception as exc:
        log.warning("could not clear the queued mark of %s: %s", notification_id, exc)


# The id of a periodic job's last copy, while the scheduler may still find it waiting.
PERIODIC_KEY = "fc:periodic:last:{}"
PERIODIC_KEY_TTL = 24 * 3600


def enqueue_periodic(dotted: str, timeout: int) -> str | None:
    """Enqueue a periodic job unless its last copy still waits in the queue (None then).

    While no worker runs (all down, or busy for a while), each tick would otherwise add a
    copy: a job every 5 seconds is 720 an hour, all run one after the other once workers
    are back. One waiting copy does the same work. A copy a worker has taken (started),
    finished, failed or lost no longer holds the next one back."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    redis = get_redis()
    key = PERIODIC_KEY.format(dotted)
    last = redis.get(key)
    if last:
        try:
            status = Job.fetch(last, connection=get_raw_redis()).get_status()
        except NoSuchJobError:
            status = None
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            return None
    job_id = enqueue_job(dotted, timeout=timeout)
    redis.set(key, job_id, ex=PERIODIC_KEY_TTL)
    return job_id


def enqueue_job(dotted: str, *args, queue_name: str = DEFAULT_QUEUE, timeout: int = 600) -> str:
    """Enqueue "module.function"(*args), run by `fengchao worker` inside an app context."""
    job = queue(queue_name).enqueue(
        "server.notifications.worker.run_in_app",
        dotted,
        *args,
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    return job.id
