"""`make bench`: the real endpoints against the reference ceilings, in one run.

    python -m bench [--ledger-multiplier 10] [--reps 3] [--duration 10s]

Creates the `fengchao_bench` database (dropped at the end, also on failure), generates
the dataset, starts both apps under gunicorn with deploy/gunicorn.conf.py on loopback,
drives each endpoint with wrk and prints req/s, p50/p99, non-2xx and the ratio to the
matching ceiling. Results go to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench import dataset, machine
from bench.servers import ROOT, Server

HERE = Path(__file__).resolve().parent
LUA = HERE / "lines.lua"
DB_NAME = "fengchao_bench"
REDIS_URL = "redis://127.0.0.1:6379/9"
REAL_PORT, REF_PORT = 8611, 8612

# endpoint, server, wrk mode, line file, ceiling it is compared with, target ratio
ENDPOINTS = [
    ("ref hello", "ref", "hello", None, None, None),
    ("ref one Redis round trip", "ref", "redis", None, "ref hello", None),
    ("app /healthz (its floor)", "real", "healthz", None, "ref hello", None),
    ("ref check-in (raw SQL)", "ref", "ref_checkin", "ref", "ref hello", None),
    ("check-in", "real", "checkin", "checkin", "ref check-in (raw SQL)", 0.7),
    ("nearby stations", "real", "nearby", "read", "ref one Redis round trip", 0.6),
    ("rankings (top 15 + me)", "real", "rankings", "read", "ref one Redis round trip", 0.6),
    ("my points", "real", "points", "read", "ref one Redis round trip", 0.6),
]
CHECKIN_P99_MS = 150


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, default=10_000)
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--ledger", type=int, default=1_000_000, help="ledger entries at ×1")
    p.add_argument("--ledger-multiplier", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", default="10s")
    p.add_argument("--warmup", default="3s")
    p.add_argument("--reps", type=int, default=1, help="rounds over all endpoints (median)")
    p.add_argument("--only", help="comma-separated wrk modes to run (default: all)")
    p.add_argument("--pg", default=dataset.default_server(), help="any database URL on the server")
    p.add_argument("--keep", action="store_true", help="keep the database and servers' logs")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a kept database of the same size, rewound to its generated state "
        "(implies --keep)",
    )
    return p.parse_args(argv)


def server_env(sqlalchemy_url: str, psycopg_url: str, run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_"))}
    env.update(
        FENGCHAO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        PHONE_ENCRYPTION_KEY=secrets.token_urlsafe(48),
        WECHAT_APPID="wxbench000000000001",
        WECHAT_SECRET=secrets.token_hex(16),
        WECHAT_TOKEN=secrets.token_hex(8),
        # Nothing listens there: none of the measured endpoints calls WeChat.
        WECHAT_API_BASE_URL="http://127.0.0.1:5999/",
        ALLOW_SANDBOX_IN_PRODUCTION="1",
        DATABASE_URL=sqlalchemy_url,
        REDIS_URL=REDIS_URL,
        CHECKIN_RATE_PER_MINUTE="100000",
        FENGCHAO_INSTANCE_DIR=str(run_dir / "instance"),
        BENCH_DATABASE_URL=psycopg_url,
        BENCH_REDIS_URL=REDIS_URL,
        PYTHONPATH=str(ROOT),
    )
    return env


def write_lines(env: dict[str, str], psycopg_url: str, users: int, run_dir: Path) -> dict:
    """Token/scene files for the Lua script: every user once per file, in random order."""
    from server import create_app
    from server.auth import principal as principals
    from server.auth.tokens import issue_token
    from server.points import rankings
    from server.stations.scenes import make_scene

    started = time.monotonic()
    stations = dataset.station_coordinates(psycopg_url)
    ids = sorted(stations)
    app = create_app({"ENV": env})
    rng = random.Random(7)
    order = list(range(1, users + 1))
    rng.shuffle(order)
    files = {name: run_dir / f"{name}.tsv" for name in ("checkin", "read", "ref")}
    with (
        app.app_context(),
        open(files["checkin"], "w") as checkin,
        open(files["read"], "w") as read,
        open(files["ref"], "w") as ref,
    ):
        scenes = {sid: make_scene("s", sid, stations[sid][2]) for sid in ids}
        for user_id in order:
            token, _ = issue_token(user_id, 1)
            sid = rng.choice(ids)
            lat, lng, _ = stations[sid]
            # ≈ 20 m from the station (radius 200 m), reported accuracy 20 m
            lat, lng = lat + 0.00018 * rng.uniform(-1, 1), lng + 0.00018 * rng.uniform(-1, 1)
            checkin.write(f"{token}\t{scenes[sid]}\t{lat:.6f}\t{lng:.6f}\n")
            read.write(f"{token}\t-\t{lat:.6f}\t{lng:.6f}\n")
            ref.write(f"{user_id}\t{rng.choice(ids)}\n")
        # Logged-in riders: login writes each rider's principal (server/auth/principal.py)
        # to Redis; the bench mints its tokens directly, so it records them as login would.
        for first in range(1, users + 1, 5000):
            principals.warm(list(range(first, min(first + 5000, users + 1))))
        print(
            f"  tokens, scenes and sessions for {users:,} riders: {time.monotonic() - started:.1f}s"
        )
        # As an operator does after loading data or flushing Redis, before traffic
        # (deploy/README.md): `fengchao rankings rebuild`. Otherwise the first readers of
        # each ranking build it from the ledger inside the measured window.
        started = time.monotonic()
        built = rankings.rebuild_all()
        print(f"  rankings rebuilt ({len(built)} keys): {time.monotonic() - started:.1f}s")
    return files


def run_wrk(url, mode, lines, offset, args, duration) -> dict:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        url,
        "--",
        mode,
        str(lines or "-"),
        str(offset),
        str(args.threads),
    ]
    seconds = float(duration.rstrip("s"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON ") :])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk gave no result for {mode}:\n{done.stdout}\n{done.stderr}")


def measure(servers, files, args, database) -> list[dict]:
    offsets = {name: 0 for name in ("checkin", "read", "ref")}
    wanted = set(args.only.split(",")) if args.only else None
    rows = []
    for rep in range(1, args.reps + 1):
        for name, which, mode, lines_key, ceiling, target in ENDPOINTS:
            if wanted and mode not in wanted:
                continue
            server = servers[which]
            lines = files[lines_key] if lines_key else None
            for phase, duration in (("warmup", args.warmup), ("run", args.duration)):
                offset = offsets.get(lines_key, 0)
                ours = server.pids()
                before, load_before, t0 = machine.snapshot(), os.getloadavg(), time.monotonic()
                result = run_wrk(server.url, mode, lines, offset, args, duration)
                after, elapsed = machine.snapshot(), time.monotonic() - t0
                if lines_key:
                    offsets[lines_key] = offset + args.threads * (
                        result["max_lines_per_thread"] + 1
                    )
                if phase == "warmup":
                    continue
                ours |= server.pids()
                result.update(
                    endpoint=name,
                    mode=mode,
                    rep=rep,
                    ceiling=ceiling,
                    target=target,
                    loadavg_before=load_before,
                    loadavg_after=os.getloadavg(),
                    cpu=machine.usage(before, after, elapsed, ours, database),
                )
                rows.append(result)
                print(
                    f"  [{rep}] {name:28} {result['rps']:8.0f} req/s  "
                    f"p50 {result['p50_us'] / 1000:6.1f} ms  p99 {result['p99_us'] / 1000:6.1f} ms"
                    f"  non-2xx {result['non2xx']}  foreign CPU {result['cpu']['foreign']}",
                    flush=True,
                )
            if offsets.get(lines_key or "", 0) > args.users:
                print(f"  note: {lines_key} lines wrapped; expect day-dedup 409s")
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    by_name: dict[str, list[dict]] = {}
    for row in rows:
        by_name.setdefault(row["endpoint"], []).append(row)
    summary = []
    for name, _, mode, _, ceiling, target in ENDPOINTS:
        if name not in by_name:
            continue
        runs = by_name[name]
        entry = {
            "endpoint": name,
            "mode": mode,
            "reps": len(runs),
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
            "non2xx": sum(r["non2xx"] for r in runs),
            "requests": sum(r["requests"] for r in runs),
            "errors": sum(
                r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
                for r in runs
            ),
            "sample": next((r["sample"] for r in runs if r["sample"]), ""),
            "foreign_cpu": max(r["cpu"]["foreign"] for r in runs),
            # CPU per request (ms): less sensitive to other load on the box than req/s.
            "app_cpu_ms": statistics.median(r["cpu"]["app"] / r["rps"] * 1000 for r in runs),
            "pg_cpu_ms": statistics.median(
                r["cpu"]["postgres_bench"] / r["rps"] * 1000 for r in runs
            ),
            "ceiling": ceiling,
            "target": target,
        }
        # Ratio per rep against the ceiling measured in the same rep, then the median.
        ratios = []
        for run in runs:
            match = [r for r in by_name.get(ceiling or "", []) if r["rep"] == run["rep"]]
            if match:
                ratios.append(run["rps"] / match[0]["rps"])
        entry["ratio"] = statistics.median(ratios) if ratios else None
        if target is not None and entry["ratio"] is not None:
            met = entry["ratio"] >= target
            if mode == "checkin":
                met = met and entry["p99_ms"] < CHECKIN_P99_MS
            entry["met"] = met
        summary.append(entry)
    return summary


def print_table(summary: list[dict]) -> str:
    head = (
        f"| {'endpoint':28} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'non-2xx':>7} "
        f"| {'ratio':>5} | vs ceiling | target | | app CPU ms/req | PG CPU ms/req "
        f"| other load (cores) |"
    )
    out = [head, "|" + "|".join("---" for _ in range(12)) + "|"]
    for e in summary:
        ratio = "" if e["ratio"] is None else f"{e['ratio']:.2f}"
        target = ""
        if e["target"] is not None:
            target = f"≥ {e['target']}" + (
                f", p99 < {CHECKIN_P99_MS} ms" if e["mode"] == "checkin" else ""
            )
        verdict = {True: "met", False: "NOT met"}.get(e.get("met"), "")
        out.append(
            f"| {e['endpoint']:28} | {e['rps']:7.0f} | {e['p50_ms']:7.1f} | {e['p99_ms']:7.1f} "
            f"| {e['non2xx']:7d} | {ratio:>5} | {e['ceiling'] or '':24} | {target} | {verdict} "
            f"| {e['app_cpu_ms']:.2f} | {e['pg_cpu_ms']:.2f} | {e['foreign_cpu']:.2f} |"
        )
    text = "\n".join(out)
    print(text)
    return text


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # runs the clean-up in main()'s finally


def main(argv=None) -> int:
    args = parse_args(argv)
    args.keep = args.keep or args.reuse
    signal.signal(signal.SIGTERM, _terminated)
    ledger = args.ledger * args.ledger_multiplier
    admin = dataset.admin_url(args.pg)
    psycopg_url = dataset.pg_url(args.pg, DB_NAME)
    sqlalchemy_url = psycopg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path(tempfile.mkdtemp(prefix="fc-bench-"))
    env = server_env(sqlalchemy_url, psycopg_url, run_dir)
    servers = {
        "real": Server("real", "server:create_app()", REAL_PORT, env, run_dir),
        "ref": Server("ref", "bench.reference_app:create_app()", REF_PORT, env, run_dir),
    }
    report: dict = {"started": stamp, "machine": machine.describe(), "args": vars(args)}
    print(f"machine: {report['machine']}")
    try:
        from server.clock import local_today

        print(f"dataset: database {DB_NAME}, ledger {ledger:,} entries")
        size = {"stations": args.stations, "users": args.users, "ledger": ledger}
        reused = args.reuse and dataset.rewind(psycopg_url, **size, today=local_today())
        if reused:
            dataset.migrate(sqlalchemy_url, env)  # the code may have moved on
            report["generation_s"] = reused
        else:
            dataset.create_database(admin, DB_NAME)
            started = time.monotonic()
            dataset.migrate(sqlalchemy_url, env)
            print(f"  migrations: {time.monotonic() - started:.1f}s")
            report["generation_s"] = dataset.generate(psycopg_url, **size, today=local_today())
        redis.Redis.from_url(REDIS_URL).flushdb()
        files = write_lines(env, psycopg_url, args.users, run_dir)
        for server in servers.values():
            server.start()
        servers["real"].wait_ready("/readyz")
        servers["ref"].wait_ready("/hello")
        print(f"servers: real {servers['real'].url}, reference {servers['ref'].url}")
        rows = measure(servers, files, args, DB_NAME)
        summary = summarise(rows)
        report.update(rows=rows, summary=summary, loadavg_end=os.getloadavg())
        report["table"] = print_table(summary)
        path = results_dir / f"{stamp}-x{args.ledger_multiplier}.json"
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        print(f"results: {path.relative_to(ROOT)}")
        return 0
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            dataset.drop_database(admin, DB_NAME)
            redis.Redis.from_url(REDIS_URL).flushdb()
            for tsv in run_dir.glob("*.tsv"):
                tsv.unlink()
        print(f"logs: {run_dir}")


if __name__ == "__main__":
    sys.exit(main())
