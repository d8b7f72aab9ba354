"""Helpers for the points tests: run requests concurrently on real threads."""

from __future__ import annotations

import threading
import traceback

import pytest


@pytest.fixture
def concurrently(app):
    """concurrently(n, fn(client, i) -> value) runs fn on n threads released together."""

    def run(n, fn):
        barrier = threading.Barrier(n)
        results: list = [None] * n
        errors: list = []

        def worker(i):
            client = app.test_client()
            try:
                barrier.wait(timeout=30)
                results[i] = fn(client, i)
            except Exception:  # surfaced below, with the thread's index
                errors.append((i, traceback.format_exc()))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors[0][1]
        return results

    return run


@pytest.fixture(autouse=True)
def _rebuilds_do_not_settle(monkeypatch):
    """`rankings rebuild` keeps its logs open REBUILD_SETTLE_S for late Redis writes: not
    here, but in the tests of that wait."""
    from server.points import rankings

    monkeypatch.setattr(rankings, "REBUILD_SETTLE_S", 0.0)


@pytest.fixture
def verify_ledger_cli(app):
    def run():
        result = app.test_cli_runner().invoke(args=["points", "verify"])
        assert result.exit_code == 0, result.output
        return result.output

    return run
