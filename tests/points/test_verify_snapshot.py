"""`fengchao points verify` on a live system: an award committed while it reads is no
ledger problem (every read of one snapshot)."""

from __future__ import annotations

import threading

from sqlalchemy import event

from server.extensions import db as _db
from server.points.services import award_points


def _award(user_id: int, points: int, source_id: str) -> None:
    award_points(user_id, points, reason="测试", source_type="test", source_id=source_id)
    _db.session.commit()


def _award_elsewhere(app, user_id: int, points: int, source_id: str) -> None:
    def run():
        with app.app_context():  # another request: its own session and connection
            _award(user_id, points, source_id)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def test_an_award_committed_while_verify_reads_is_no_mismatch(app, login):
    rider = login("rider")
    _award(rider.user_id, 10, "before")
    assert app.test_cli_runner().invoke(args=["points", "verify"]).exit_code == 0
    fired = []

    def a_rider_checks_in(conn, cursor, statement, parameters, context, executemany):
        # verify has read the ledger's sums, not yet the accounts: an award lands now
        if not fired and "FROM ledger_entries" in statement:
            fired.append(statement)
            _award_elsewhere(app, rider.user_id, 5, "during")

    event.listen(_db.engine, "after_cursor_execute", a_rider_checks_in)
    try:
        result = app.test_cli_runner().invoke(args=["points", "verify"])
    finally:
        event.remove(_db.engine, "after_cursor_execute", a_rider_checks_in)
    assert fired
    after = app.test_cli_runner().invoke(args=["points", "verify"])
    assert after.exit_code == 0, after.output  # the ledger is consistent, award included
    assert result.exit_code == 0, result.output


def test_verify_still_finds_a_real_mismatch(app, login):
    from sqlalchemy import update

    from server.points.models import PointsAccount

    rider = login("rider")
    _award(rider.user_id, 10, "before")
    _db.session.execute(
        update(PointsAccount).where(PointsAccount.user_id == rider.user_id).values(balance=11)
    )
    _db.session.commit()
    result = app.test_cli_runner().invoke(args=["points", "verify"])
    assert result.exit_code == 1
    assert "balance 11 != ledger sum 10" in result.output
