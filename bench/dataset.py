"""The city-sized dataset, generated server-side on PostgreSQL (nothing is committed).

One street with `COMMUNITIES` communities and `GRIDS` grids each; `stations` stations
spread over ~1,000 km² around Zhengzhou (≈10 per km²); `users` riders registered to the
communities; `ledger` ledger entries (check-in awards, oldest first per rider, one a day
up to yesterday) with the matching check-in rows and consistent `points_accounts` rows
(balance = sum of deltas, month and lifetime counters, the latest day's sums, the last
check-in). The reference app's tables get the
same stations, balances and an equally long check-in history.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench import reference_app

COMMUNITIES = 10
GRIDS = 4
FIRST_COMMUNITY = 3
FIRST_GRID = FIRST_COMMUNITY + COMMUNITIES
# Station coordinates: a 0.30° × 0.35° box (≈33 km × 32 km).
LAT0, LAT_SPAN = 34.60, 0.30
LNG0, LNG_SPAN = 113.50, 0.35
POINTS_PER_CHECKIN = 5


def create_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(sqlalchemy_url: str, env: dict[str, str]) -> None:
    """`fengchao db upgrade heads` against the bench database (bounded)."""
    fengchao = Path(sys.executable).with_name("fengchao")
    with tempfile.TemporaryDirectory(prefix="fc-bench-migrate-") as instance:
        subprocess.run(
            [str(fengchao), "db", "upgrade", "heads"],
            env={**env, "DATABASE_URL": sqlalchemy_url, "FENGCHAO_INSTANCE_DIR": instance},
            check=True,
            timeout=300,
            capture_output=True,
        )


def _step(conn: psycopg.Connection, label: str, sql: str) -> float:
    """Run statements (only numbers and dates are formatted in: no parameters)."""
    started = time.monotonic()
    conn.execute(sql.encode())
    took = time.monotonic() - started
    print(f"  {label}: {took:.1f}s", flush=True)
    return took


def _checkpoint(conn: psycopg.Connection) -> None:
    """Write the dataset's dirty pages now, not in a measured window (a superuser's or
    pg_checkpoint's right: skipped, and said, without it)."""
    try:
        _step(conn, "checkpoint", "CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        print("  checkpoint: not allowed for this role (skipped)", flush=True)


def generate(
    database_url: str, *, stations: int, users: int, ledger: int, today: dt.date
) -> dict[str, float]:
    """Fill the migrated database; returns seconds per step. `today` is the Shanghai day."""
    per_user = max(1, ledger // users)
    ledger = per_user * users
    timings: dict[str, float] = {}
    month_start = today.replace(day=1)
    month_key = today.year * 100 + today.month
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SELECT setseed(0.42)")
        now = "(now() AT TIME ZONE 'UTC')"
        timings["org"] = _step(
            conn,
            "org tree",
            f"""
            INSERT INTO org_units (id, code, name, level, parent_id, path, depth,
                center_lat, center_lng, created_at, updated_at)
            VALUES (1, 'B-DISTRICT', '二七区（压测）', 'district', NULL, '/1/', 0,
                    34.75, 113.67, {now}, {now}),
                   (2, 'B-STREET', '淮河路街道（压测）', 'street', 1, '/1/2/', 1,
                    34.75, 113.67, {now}, {now});
            INSERT INTO org_units (id, code, name, level, parent_id, path, depth,
                center_lat, center_lng, created_at, updated_at)
            SELECT c, 'B-C' || c, '压测社区' || c, 'community', 2, '/1/2/' || c || '/', 2,
                   34.75, 113.67, {now}, {now}
            FROM generate_series({FIRST_COMMUNITY}, {FIRST_GRID - 1}) c;
            INSERT INTO org_units (id, code, name, level, parent_id, path, depth,
                center_lat, center_lng, created_at, updated_at)
            SELECT g, 'B-G' || g, '压测网格' || g, 'grid', p,
                   '/1/2/' || p || '/' || g || '/', 3, 34.75, 113.67, {now}, {now}
            FROM (SELECT g, {FIRST_COMMUNITY} + (g - {FIRST_GRID}) / {GRIDS} AS p
                  FROM generate_series({FIRST_GRID}, {FIRST_GRID + COMMUNITIES * GRIDS - 1}) g) t;
            SELECT setval(pg_get_serial_sequence('org_units', 'id'), 1000);
            """,
        )
        grids = COMMUNITIES * GRIDS
        timings["stations"] = _step(
            conn,
            f"{stations:,} stations",
            f"""
            INSERT INTO stations (id, org_unit_id, name, kind, address, lat, lng, services,
                opening_hours, checkin_radius_m, is_active, photos, qr_secret,
                created_at, updated_at)
            SELECT g, {FIRST_GRID} + g % {grids}, '压测驿站' || g, 'courier',
                   '郑州市压测路' || g || '号', {LAT0} + random() * {LAT_SPAN},
                   {LNG0} + random() * {LNG_SPAN}, '["rest", "water", "charging"]'::json,
                   NULL, 200, true, '[]'::json, md5('bench-qr-' || g), {now}, {now}
            FROM generate_series(1, {stations}) g;
            SELECT setval(pg_get_serial_sequence('stations', 'id'), {stations});
            """,
        )
        timings["users"] = _step(
            conn,
            f"{users:,} riders",
            f"""
            INSERT INTO users (id, openid, citizen_role, display_name, platform, community_id,
                registered_at, is_party_member, token_version, is_active, created_at,
                updated_at)
            SELECT g, 'bench-openid-' || g, 'rider', '骑手' || g, 'meituan',
                   {FIRST_COMMUNITY} + g % {COMMUNITIES}, {now}, false, 1, true, {now}, {now}
            FROM generate_series(1, {users}) g;
            SELECT setval(pg_get_serial_sequence('users', 'id'), {users});
            """,
        )
        # Entry g belongs to user (g-1) % users + 1 and is that user's k-th (k = (g-1) / users),
        # dated per_user - k days ago: ids grow with time for every user, one entry a day.
        history = f"""
            SELECT g, (g - 1) % {users} + 1 AS user_id, k,
                   '{today}'::date - ({per_user} - k)::int AS day,
                   (g * 7919) % {stations} + 1 AS station_id
            FROM (SELECT g, (g - 1) / {users} AS k FROM generate_series(1::bigint, {ledger}) g) t
        """
        timings["ledger"] = _step(
            conn,
            f"{ledger:,} ledger entries",
            f"""
            INSERT INTO ledger_entries (id, user_id, delta, balance_after, reason, source_type,
                source_id, rule, org_unit_id, day, created_at)
            SELECT g, user_id, {POINTS_PER_CHECKIN}, {POINTS_PER_CHECKIN} * (k + 1),
                   '压测驿站' || station_id || '打卡', 'checkin',
                   station_id || ':' || to_char(day, 'YYYYMMDD'), 'checkin',
                   {FIRST_GRID} + station_id % {grids}, day,
                   day + time '04:00' + (g % 3600) * interval '1 second'
            FROM ({history}) h;
            SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'), {ledger});
            """,
        )
        timings["checkins"] = _step(
            conn,
            f"{ledger:,} check-in rows",
            f"""
            INSERT INTO checkins (id, user_id, station_id, org_unit_id, status, day, lat, lng,
                accuracy, distance_m, points_awarded, created_at)
            SELECT g, user_id, station_id, s.org_unit_id, 'ok', day, s.lat, s.lng, 20, 10,
                   {POINTS_PER_CHECKIN},
                   day + time '04:00' + (g % 3600) * interval '1 second'
            FROM ({history}) h JOIN stations s ON s.id = h.station_id;
            SELECT setval(pg_get_serial_sequence('checkins', 'id'), {ledger});
            """,
        )
        timings["accounts"] = _step(
            conn, "points accounts", _accounts(ledger, users, month_key, month_start)
        )
        reference_app.prepare(database_url, stations, users)
        timings["reference"] = _step(
            conn,
            f"reference tables ({ledger:,} ref_checkins)",
            f"""
            UPDATE ref_stations r SET lat = s.lat, lng = s.lng FROM stations s WHERE s.id = r.id;
            UPDATE ref_balances r SET points = a.balance FROM points_accounts a
                WHERE a.user_id = r.user_id;
            INSERT INTO ref_checkins (user_id, station_id, day, points, created_at)
            SELECT user_id, station_id, day, {POINTS_PER_CHECKIN}, day + time '04:00'
            FROM ({history}) h;
            """,
        )
        timings["analyze"] = _step(conn, "vacuum analyze", "VACUUM ANALYZE")
        _checkpoint(conn)
        conn.execute(
            "CREATE TABLE bench_meta (stations int, users int, ledger bigint);"
            f"INSERT INTO bench_meta VALUES ({stations}, {users}, {ledger})"
        )
    return timings


def _accounts(ledger: int, users: int, month_key: int, month_start: dt.date) -> str:
    """Consistent `points_accounts` rows for the generated ledger."""
    return f"""
        INSERT INTO points_accounts (user_id, balance, lifetime_earned, month_key,
            month_earned, entries_count, version, earned_changed_at, updated_at)
        SELECT user_id, sum(delta), sum(delta), {month_key},
               coalesce(sum(delta) FILTER (WHERE day >= '{month_start}'), 0), count(*), 0,
               max(created_at), max(created_at)
        FROM ledger_entries GROUP BY user_id;
        -- what the app writes on the account row with every award: the day's sums per
        -- rule and the last check-in (the last {users:,} rows are every rider's latest)
        UPDATE points_accounts a SET day = c.day,
               day_earned = json_build_object('checkin', c.points_awarded),
               last_checkin_lat = c.lat, last_checkin_lng = c.lng,
               last_checkin_at = c.created_at
        FROM checkins c WHERE c.id > {ledger} - {users} AND c.user_id = a.user_id;
    """


def rewind(
    database_url: str, *, stations: int, users: int, ledger: int, today: dt.date
) -> dict[str, float] | None:
    """A kept database of the same size, back to what `generate` made: what earlier runs
    added (check-ins, ledger entries, reference check-ins: every id above the generated
    ones) is deleted and the accounts are recomputed. None when there is none to reuse."""
    per_user = max(1, ledger // users)
    ledger = per_user * users
    try:
        conn = psycopg.connect(database_url, autocommit=True)
    except psycopg.OperationalError:
        return None
    with conn:
        try:
            meta = conn.execute("SELECT stations, users, ledger FROM bench_meta").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        if meta != (stations, users, ledger):
            return None
        month_start, month_key = today.replace(day=1), today.year * 100 + today.month
        timings = {
            "rewind": _step(
                conn,
                "rewind to the generated state",
                f"""
                DELETE FROM ledger_entries WHERE id > {ledger};
                DELETE FROM checkins WHERE id > {ledger};
                DELETE FROM ref_checkins WHERE id > {ledger};
                SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'), {ledger});
                SELECT setval(pg_get_serial_sequence('checkins', 'id'), {ledger});
                SELECT setval(pg_get_serial_sequence('ref_checkins', 'id'), {ledger});
                TRUNCATE points_accounts;
                {_accounts(ledger, users, month_key, month_start)}
                UPDATE ref_balances r SET points = a.balance FROM points_accounts a
                    WHERE a.user_id = r.user_id;
                ANALYZE points_accounts;
                """,
            )
        }
        # As `generate` ends: the deleted and rewritten rows vacuumed, and their writes
        # checkpointed now rather than inside the first measured window (a run's first
        # check-in round measured 127 req/s, p99 1 s, the CPU mostly idle, then 458–491).
        timings["settle"] = _step(conn, "vacuum analyze", "VACUUM ANALYZE")
        _checkpoint(conn)
        return timings


def station_coordinates(database_url: str) -> dict[int, tuple[float, float, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, lat, lng, qr_secret FROM stations").fetchall()
    return {sid: (lat, lng, secret) for sid, lat, lng, secret in rows}


def admin_url(base: str) -> str:
    """The maintenance database on the same server (to create/drop the bench database)."""
    return base.rsplit("/", 1)[0] + "/postgres"


def pg_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def default_server() -> str:
    return os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
