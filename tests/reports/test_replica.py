"""Statistics and exports read the replica (`DATABASE_REPLICA_URL`); everything else, and
every write or lock, the primary; an unreachable replica leaves them on the primary.

The replica here is a second database (a SQLite file on the embedded pass, `<db>_replica`
on the PostgreSQL pass) with the same schema, filled by copying the primary's rows: a
standby as it was at that moment. Rows added to the primary afterwards are what a lagging
replica has not seen yet; a row changed on the copy marks what was read from it.
"""

from __future__ import annotations

import csv
import io
import logging

import pytest
from sqlalchemy import create_engine, delete, insert, select, text
from sqlalchemy.engine import make_url

from server import db_replica
from server.extensions import db
from server.ops.checks import check_replica
from server.reports.models import Report
from tests.activities.helpers import make_activity
from tests.conftest import TEST_DATABASE_URL
from tests.ops.helpers import other_app, session_env

MARKER = "副本中的描述"


def _replica_url(tmp_path_factory) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path_factory.mktemp('replica') / 'replica.db'}"
    primary = make_url(TEST_DATABASE_URL)
    name = f"{primary.database}_replica"
    admin = create_engine(primary, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return primary.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def replica_url(app, tmp_path_factory):
    url = _replica_url(tmp_path_factory)
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.metadata.create_all(conn)  # a standby's schema is the primary's
    engine.dispose()
    yield url
    if TEST_DATABASE_URL:  # leave the server as found
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = make_url(url).database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def mirror(replica_url: str) -> None:
    """Copy every row of the primary to the replica (which then matches it)."""
    db.session.commit()
    engine = create_engine(replica_url)
    with db.engine.connect() as source, engine.begin() as target:
        for table in reversed(db.metadata.sorted_tables):
            target.execute(delete(table))
        for table in db.metadata.sorted_tables:
            rows = [dict(row) for row in source.execute(select(table)).mappings()]
            if rows:
                target.execute(insert(table), rows)
    engine.dispose()


def on_replica(replica_url: str, sql: str, **params) -> None:
    engine = create_engine(replica_url)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


@pytest.fixture
def replica_app(app, tmp_path, replica_url):
    """An app reading statistics and exports from the replica (same primary, same Redis)."""
    env = {**session_env(app, tmp_path), "DATABASE_REPLICA_URL": replica_url}
    db_replica._DOWN_UNTIL.clear()
    with other_app(app, env) as application:
        yield application
    db_replica._DOWN_UNTIL.clear()


@pytest.fixture
def binds(monkeypatch):
    """The engine URL's database each statement of the session was sent to."""
    chosen: list[str] = []
    get_bind = db_replica.RoutingSession.get_bind

    def spy(self, *args, **kwargs):
        engine = get_bind(self, *args, **kwargs)
        chosen.append("replica" if engine is self._db.engines.get("replica") else "primary")
        return engine

    monkeypatch.setattr(db_replica.RoutingSession, "get_bind", spy)
    return chosen


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_stats_and_export_read_the_replica_the_lists_the_primary(
    db, client, replica_app, replica_url, file_report, team, login
):
    rider = login("rider")
    first = file_report(rider, description="路边有一堆建筑垃圾")
    file_report(rider, description="楼道里堆满纸箱")
    mirror(replica_url)
    on_replica(
        replica_url,
        "UPDATE reports SET description = :d WHERE id = :i",
        d=MARKER,
        i=first["report"]["id"],
    )
    file_report(rider, description="消防通道被电动车堵住")  # not on the replica yet
    admin = team["admin_a"]
    assert db.session.scalar(select(db.func.count(Report.id))) == 3

    replica = replica_app.test_client()
    stats = replica.get("/api/v1/admin/stats", headers=admin)
    assert stats.status_code == 200, stats.get_json()
    assert stats.get_json()["totals"]["received"] == 2  # the replica's rows
    assert client.get("/api/v1/admin/stats", headers=admin).get_json()["totals"]["received"] == 3

    rows = _csv_rows(replica.get("/api/v1/work-orders/export.csv", headers=admin))
    assert len(rows) == 1 + 2  # header and the replica's two
    assert any(MARKER in cell for row in rows for cell in row)

    listed = replica.get("/api/v1/work-orders", headers=admin)
    assert listed.status_code == 200
    assert listed.get_json()["total"] == 3  # a list a grid worker acts on: the primary


def test_every_statistics_and_export_view_reads_the_replica(
    db, replica_app, replica_url, team, units, binds
):
    activity = make_activity(units["A"])
    mirror(replica_url)
    admin = team["admin_a"]
    replica = replica_app.test_client()
    marked = [
        "/api/v1/admin/stats",
        "/api/v1/work-orders/export.csv",
        "/api/v1/admin/needs/stats",
        "/api/v1/admin/needs/export.csv",
        f"/api/v1/admin/activities/{activity.id}/enrolments.csv",
        "/api/v1/admin/checkins?format=csv",
    ]
    for url in marked:
        binds.clear()
        response = replica.get(url, headers=admin)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        assert "replica" in binds, url
        assert binds[0] == "primary", (url, binds)  # who asks, and their scope: the primary
    unmarked = [
        "/api/v1/work-orders",
        "/api/v1/admin/needs",
        f"/api/v1/admin/activities/{activity.id}/enrolments",
        "/api/v1/admin/checkins",
        "/api/v1/me",
    ]
    for url in unmarked:
        binds.clear()
        response = replica.get(url, headers=admin)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        assert binds and "replica" not in binds, url


def test_writes_locks_and_raw_sql_go_to_the_primary(db, replica_app, replica_url, units):
    from server.org.models import OrgUnit

    a_id, b_id, s1 = units["A"].id, units["B"].id, units["S1"]  # the session app's objects
    s1_id, s1_path = s1.id, s1.path
    mirror(replica_url)
    on_replica(replica_url, "UPDATE org_units SET name = :n WHERE id = :i", n=MARKER, i=a_id)
    name_of_a = select(OrgUnit.name).where(OrgUnit.id == a_id)
    with replica_app.app_context():
        session = db.session
        with db_replica.replica_reads() as reading:
            assert reading is True
            assert session.execute(name_of_a).scalar_one() == MARKER
            assert session.execute(name_of_a.with_for_update()).scalar_one() != MARKER
            raw = session.execute(text("SELECT name FROM org_units WHERE id = :i"), {"i": a_id})
            assert raw.scalar_one() != MARKER
            # a new row may be added inside: it goes to the primary
            session.add(OrgUnit(code="T-NEW", name="新社区", level="community", parent_id=s1_id,
                                path=f"{s1_path}new/", depth=3))  # fmt: skip
            session.commit()
            unit_a = session.get(OrgUnit, a_id)  # read from the replica
            assert unit_a.name == MARKER
        # after the block it is read again, from the primary
        assert unit_a.name != MARKER
        with db_replica.replica_reads():
            unit_b = session.get(OrgUnit, b_id)
            unit_b.name = "改名后的社区"  # a decision made on a row the replica gave
            with pytest.raises(db_replica.ReplicaWriteRefused):
                session.flush()
            session.rollback()
        session.remove()
    db.session.expire_all()
    assert db.session.get(OrgUnit, b_id).name != "改名后的社区"
    created = db.session.execute(select(OrgUnit).where(OrgUnit.code == "T-NEW")).scalar_one()
    assert created.name == "新社区"


def test_changes_made_before_the_block_reach_the_primary_first(db, replica_app, replica_url, units):
    from server.org.models import OrgUnit

    b_id = units["B"].id
    mirror(replica_url)
    with replica_app.app_context():
        session = db.session
        session.get(OrgUnit, b_id).name = "块前改的名"  # changed before the block
        with db_replica.replica_reads() as reading:
            assert reading is True  # flushed to the primary as the block started
            assert (
                session.execute(select(OrgUnit.name).where(OrgUnit.id == b_id)).scalar_one()
                != "块前改的名"
            )  # the replica has not seen it (a lag)
        session.commit()
        session.remove()
    db.session.expire_all()
    assert db.session.get(OrgUnit, b_id).name == "块前改的名"


def test_an_unreachable_replica_leaves_statistics_on_the_primary(
    db, app, tmp_path, client, file_report, team, login, caplog, monkeypatch
):
    if TEST_DATABASE_URL:
        dead = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # refused at once
    else:
        dead = f"sqlite:///{tmp_path / 'no-such-folder' / 'replica.db'}"
    file_report(login("rider"))
    env = {**session_env(app, tmp_path), "DATABASE_REPLICA_URL": dead}
    db_replica._DOWN_UNTIL.clear()
    with other_app(app, env) as broken:
        replica = broken.test_client()
        with caplog.at_level(logging.WARNING, logger="server.db_replica"):
            stats = replica.get("/api/v1/admin/stats", headers=team["admin_a"])
        assert stats.status_code == 200, stats.get_json()
        assert stats.get_json()["totals"]["received"] == 1  # the primary answered
        assert "replica unreachable" in caplog.text
        with broken.app_context():
            assert check_replica().ok is False
            assert "read the primary" in check_replica().detail

        # for RETRY_AFTER_S the process does not try again (no connect timeout a request)
        tried: list[int] = []
        engine_connect = type(db.engine).connect
        monkeypatch.setattr(
            type(db.engine),
            "connect",
            lambda self, *a, **k: tried.append(1) or engine_connect(self, *a, **k),
        )
        with broken.app_context():
            replica_engine = db_replica.replica_engine()
            with db_replica.replica_reads() as reading:
                assert reading is False
            assert tried == [], "tried the replica again at once"
            db_replica._DOWN_UNTIL[id(replica_engine)] = 0.0  # the wait is over
            with db_replica.replica_reads() as reading:
                assert reading is False
            assert tried, "did not try the replica again after the wait"
    db_replica._DOWN_UNTIL.clear()


def test_doctor_reports_the_replica(db, replica_app, app):
    with app.app_context():
        assert check_replica() is None  # none configured: no line
    with replica_app.app_context():
        line = check_replica()
    assert line.name == "replica"
    if TEST_DATABASE_URL:  # a copy, not a standby: it would serve a frozen state
        assert not line.ok, line.detail
        assert "not a standby" in line.detail
    else:
        assert line.ok, line.detail


@pytest.mark.parametrize(
    ("facts", "ok", "said"),
    [
        ((False, None, None), False, "not a standby"),
        ((True, None, 12.0), False, "not streaming from the primary (WAL receiver: none)"),
        ((True, "waiting", 12.0), False, "WAL receiver: waiting"),
        ((True, "hidden", 3.0), True, "GRANT pg_read_all_stats"),
        ((True, "streaming", None), True, "no transaction replayed yet"),
        ((True, "streaming", 0.42), True, "last transaction replayed 0.4 s ago"),
    ],
)
def test_what_doctor_says_of_a_standby(facts, ok, said):
    from server.ops.checks import standby_state

    assert standby_state(*facts)[0] is ok
    assert said in standby_state(*facts)[1]
