"""/readyz logs no alembic INFO lines: Docker's health check calls it every 15 s, and each
migration check logged "Context impl …" and "Will assume … DDL" (2 lines, ≈11,500 a day)."""

from __future__ import annotations

import logging
import threading

from server.logging_setup import quiet
from server.ops.checks import database_heads

ALEMBIC = "alembic.runtime.migration"


def _alembic(records) -> list[str]:
    return [r.getMessage() for r in records if r.name.startswith("alembic")]


def test_readyz_logs_no_alembic_info(client, caplog):
    with caplog.at_level(logging.DEBUG):
        database_heads()  # the lines at stake, outside /readyz: still logged
        assert _alembic(caplog.records), "alembic logs nothing here: the test proves nothing"
        caplog.clear()
        response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["migrations"] == "ok"
    assert _alembic(caplog.records) == []


def test_quiet_holds_in_its_own_thread_only_and_lets_warnings_through(app, caplog):
    logger = logging.getLogger(ALEMBIC)
    level = logger.level
    inside, elsewhere = threading.Event(), threading.Event()

    def meanwhile():  # another request, at the same time
        inside.wait(5)
        logger.info("another thread's line")
        elsewhere.set()

    thread = threading.Thread(target=meanwhile)
    thread.start()
    with caplog.at_level(logging.INFO):
        with quiet(ALEMBIC):
            logger.info("quieted")
            logger.warning("a warning still")
            inside.set()
            assert elsewhere.wait(5)
        logger.info("after the block")
    thread.join(5)
    assert _alembic(caplog.records) == [
        "a warning still",
        "another thread's line",
        "after the block",
    ]
    assert logger.level == level  # a filter, not the logger's level
