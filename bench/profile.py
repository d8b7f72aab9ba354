"""Profile one endpoint in-process (cProfile, Flask test client) on a kept bench database.

    python -m bench --keep --only hello      # leaves fengchao_bench in place
    python -m bench.profile checkin [-n 300] [--top 40] [--cpu | --cpu-timer] [--callers PAT]

Uses its own SECRET_KEY to mint tokens and scenes, the bench Redis database, and the
same environment as the benchmark's servers (production settings).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import tempfile
import time
import uuid
from pathlib import Path

from bench import dataset
from bench.__main__ import DB_NAME, server_env


def environ_for(method, url, headers, body) -> dict:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=url, method=method.upper(), headers=headers, json=body)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call_wsgi(app, environ) -> None:
    status = []
    chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
    try:
        for _ in chunks:
            pass
    finally:
        getattr(chunks, "close", lambda: None)()
    if not status[0].startswith("2"):
        print(status[0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("endpoint", choices=["checkin", "nearby", "rankings", "points", "healthz"])
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--sort", default="cumulative")
    p.add_argument("--pg", default=dataset.default_server())
    p.add_argument("--cpu", action="store_true", help="no profiler: CPU and wall ms/request")
    p.add_argument("--callers", metavar="PATTERN", help="also print who calls the matches")
    p.add_argument(
        "--cpu-timer",
        action="store_true",
        help="profile CPU time (time.process_time), not wall time: waits on PostgreSQL and "
        "Redis drop out, what remains is what the worker itself spends",
    )
    args = p.parse_args(argv)

    psycopg_url = dataset.pg_url(args.pg, DB_NAME)
    sqlalchemy_url = psycopg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    env = server_env(sqlalchemy_url, psycopg_url, Path(tempfile.mkdtemp(prefix="fc-prof-")))

    from sqlalchemy import text

    from server import create_app
    from server.auth import principal as principals
    from server.auth.tokens import issue_token
    from server.extensions import db
    from server.stations.scenes import make_scene

    app = create_app({"ENV": env})
    stations = dataset.station_coordinates(psycopg_url)
    ids = sorted(stations)
    with app.app_context():
        users = db.session.execute(text("SELECT max(id) FROM users")).scalar_one()
        # riders who checked in since the data was generated (a bench run, an earlier
        # profile) would be refused for impossible travel: a refusal is another path
        recent = set(
            db.session.execute(
                text(
                    "SELECT DISTINCT user_id FROM checkins "
                    "WHERE id > (SELECT ledger FROM bench_meta)"
                )
            ).scalars()
        )
    rng = random.Random()
    requests = []
    with app.app_context():
        fresh = [u for u in range(1, users + 1) if u not in recent]
        sample = rng.sample(fresh, args.n + 20)
        principals.warm(sample)  # logged in: login records each rider's principal
        for user_id in sample:
            token, _ = issue_token(user_id, 1)
            sid = rng.choice(ids)
            lat, lng, secret = stations[sid]
            headers = {"Authorization": f"Bearer {token}"}
            if args.endpoint == "checkin":
                body = {"scene": make_scene("s", sid, secret), "lat": lat, "lng": lng}
                # with a fresh Idempotency-Key, as the mini-program sends every check-in
                keyed = {**headers, "Idempotency-Key": f"profile-{uuid.uuid4().hex}"}
                requests.append(("post", "/api/v1/checkins", keyed, {**body, "accuracy": 20}))
            elif args.endpoint == "nearby":
                url = f"/api/v1/stations/nearby?lat={lat}&lng={lng}&radius_m=1000"
                requests.append(("get", url, headers, None))
            elif args.endpoint == "rankings":
                url = "/api/v1/rankings?scope=community&period=month&top=15"
                requests.append(("get", url, headers, None))
            elif args.endpoint == "healthz":  # the app's floor: hooks, no work
                requests.append(("get", "/healthz", {}, None))
            else:
                requests.append(("get", "/api/v1/me/points", headers, None))
    client = app.test_client()

    def send(method, url, headers, body):
        response = getattr(client, method)(url, headers=headers, json=body)
        if response.status_code >= 300:
            print(response.status_code, response.get_data(as_text=True)[:200])

    for request in requests[:20]:  # warm-up: connections, caches, rankings build
        send(*request)
    if args.cpu:
        # WSGI environs built beforehand and handed to the app as gunicorn would: the
        # figure is the app's own CPU, without the test client's request building
        environs = [environ_for(*request) for request in requests[20:]]
        cpu, wall = time.process_time(), time.perf_counter()
        for environ in environs:
            call_wsgi(app, environ)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{args.n} requests: {cpu / args.n * 1000:.2f} ms CPU, "
            f"{wall / args.n * 1000:.2f} ms wall"
        )
        return 0
    environs = [environ_for(*request) for request in requests[20:]]
    profiler = cProfile.Profile(time.process_time) if args.cpu_timer else cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for environ in environs:
        call_wsgi(app, environ)
    profiler.disable()
    took = time.perf_counter() - started
    print(f"{args.n} requests, {took / args.n * 1000:.2f} ms each (wall, profiled)")
    stats = pstats.Stats(profiler).sort_stats(args.sort)
    stats.print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
