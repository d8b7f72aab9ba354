"""The reference ceilings the real endpoints are measured against, in the same run.

A minimal Flask app with no ORM and no Fengchao code: `/hello` (bare JSON), `/redis`
(one Redis round trip) and `/checkin` — the same database and Redis work as a check-in
in raw SQL: select the station, SET NX the day key, insert the check-in, update the
balance, in one transaction. Run under gunicorn with the deploy settings:

    gunicorn -c deploy/gunicorn.conf.py 'bench.reference_app:create_app()'
"""

from __future__ import annotations

import datetime as dt
import os
import random
from zoneinfo import ZoneInfo

import psycopg
import redis
from flask import Flask, jsonify, request
from psycopg_pool import ConnectionPool

SHANGHAI = ZoneInfo("Asia/Shanghai")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ref_stations (id bigint PRIMARY KEY, lat double precision NOT NULL,
    lng double precision NOT NULL, is_active boolean NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS ref_balances (user_id bigint PRIMARY KEY, points integer NOT NULL);
CREATE TABLE IF NOT EXISTS ref_checkins (id bigserial PRIMARY KEY, user_id bigint NOT NULL,
    station_id bigint NOT NULL, day date NOT NULL, points integer NOT NULL,
    created_at timestamp NOT NULL DEFAULT now(), UNIQUE (user_id, station_id, day));
"""


def prepare(database_url: str, stations: int, users: int) -> None:
    """Create and fill the reference tables (idempotent)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        if conn.execute("SELECT count(*) FROM ref_stations").fetchone()[0] < stations:
            conn.execute("TRUNCATE ref_stations, ref_balances, ref_checkins")
            conn.execute(
                "INSERT INTO ref_stations (id, lat, lng) SELECT g, 34.7 + random() / 10, "
                "113.6 + random() / 10 FROM generate_series(1, %s) g",
                (stations,),
            )
            conn.execute(
                "INSERT INTO ref_balances SELECT g, 0 FROM generate_series(1, %s) g", (users,)
            )


def create_app() -> Flask:
    app = Flask(__name__)
    database_url = os.environ["BENCH_DATABASE_URL"]
    # Opened on first use, in the worker (the deploy settings preload the app in the master:
    # a pool opened there would hand its connections and threads to forks).
    pools: list[ConnectionPool] = []

    def connection():
        if not pools:
            pools.append(ConnectionPool(database_url, min_size=1, max_size=10, open=True))
        return pools[0].connection()

    rds = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"], decode_responses=True)

    @app.get("/hello")
    def hello():
        return jsonify(ok=True)

    @app.get("/redis")
    def one_round_trip():
        return jsonify(value=rds.get(f"ref:{random.randint(1, 1000)}"))

    @app.post("/checkin")
    def checkin():
        body = request.get_json()
        user_id, station_id = int(body["user_id"]), int(body["station_id"])
        day = dt.datetime.now(SHANGHAI).date()  # the rider's day, as the real app counts it
        key = f"ref:ci:{user_id}:{station_id}:{day}"
        with connection() as conn:
            station = conn.execute(
                "SELECT id, lat, lng FROM ref_stations WHERE id = %s AND is_active", (station_id,)
            ).fetchone()
            if station is None:
                return jsonify(code="not_found"), 404
            if not rds.set(key, 1, nx=True, ex=90_000):
                return jsonify(code="already"), 409
            try:
                conn.execute(
                    "INSERT INTO ref_checkins (user_id, station_id, day, points) "
                    "VALUES (%s, %s, %s, 1)",
                    (user_id, station_id, day),
                )
                balance = conn.execute(
                    "UPDATE ref_balances SET points = points + 1 WHERE user_id = %s "
                    "RETURNING points",
                    (user_id,),
                ).fetchone()[0]
            except Exception:
                rds.delete(key)
                raise
        return jsonify(points_awarded=1, balance=balance)

    return app
