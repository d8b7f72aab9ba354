"""Helpers for the notifications tests: run the RQ worker in this process, read the outbox."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from server.extensions import db, get_raw_redis
from server.notifications.config import template_for
from server.notifications.models import Notification
from server.notifications.queue import WORKER_QUEUES

SEND_PATH = "/cgi-bin/message/subscribe/send"


def tpl(kind: str) -> str:
    return template_for(kind).template_id


def run_worker() -> None:
    """An RQ worker in burst mode in this process: every queued job runs, then it returns."""
    from server.notifications.worker import FengchaoWorker

    worker = FengchaoWorker(list(WORKER_QUEUES), connection=get_raw_redis())
    worker.work(burst=True, logging_level="WARNING")


def wait_until(predicate, timeout: float) -> bool:
    """True as soon as `predicate()` is, False if it still is not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def rows(user_id: int | None = None) -> list[Notification]:
    db.session.expire_all()
    stmt = select(Notification).order_by(Notification.id)
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    return list(db.session.execute(stmt).scalars())


def sends(sandbox) -> list[dict]:
    return [c for c in sandbox.calls(SEND_PATH)]


@pytest.fixture
def credit(client, sandbox):
    """credit(auth, kind, n=1): the user accepted the template n times (client + sandbox)."""

    def _credit(auth, kind: str, n: int = 1) -> None:
        template_id = tpl(kind)
        response = client.post(
            "/api/v1/me/subscriptions", json={"accepted": [template_id] * n}, headers=auth
        )
        assert response.status_code == 200, response.get_json()
        sandbox.grant_subscription(auth.openid, template_id, n)

    return _credit
