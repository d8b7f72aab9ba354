"""Start gunicorn (deploy settings) for the real app and the reference app; stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


class Server:
    def __init__(self, name: str, app: str, port: int, env: dict[str, str], run_dir: Path):
        self.name, self.app, self.port = name, app, port
        self.url = f"http://127.0.0.1:{port}"
        metrics = run_dir / f"metrics-{name}"
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "FENGCHAO_RUN_DIR": str(run_dir),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        self.log_path = run_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            # no control socket: the default path is shared by every gunicorn on the box
            [str(gunicorn), "-c", str(GUNICORN_CONF), "--no-control-socket", self.app],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, ours alone
        )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def pids(self) -> set[int]:
        """The master and its workers."""
        if self.process is None:
            return set()
        found = {self.process.pid}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.add(int(entry.name))
        return found

    def tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
