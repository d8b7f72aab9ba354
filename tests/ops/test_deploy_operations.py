"""deploy/ as operated: the compose file's logs, stop timeouts, migrations and nginx in front
of a recreated app; gunicorn's metrics folders; the systemd units' file modes; the runbook's
backup, upgrade and restore commands (deploy/README.md)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.ops.test_deploy import _run_entrypoint

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
README = DEPLOY / "README.md"
UNITS = ("fengchao-web.service", "fengchao-worker@.service", "fengchao-scheduler.service")


def _compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML (the test extra) reads the compose file")
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def _long_running(services: dict) -> dict:
    """Services Docker keeps up (a one-shot service has restart "no")."""
    return {name: svc for name, svc in services.items() if svc.get("restart") != "no"}


def _seconds(duration: str) -> float:
    """A compose duration ("40s", "1m30s", "2m") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(duration))
    assert parts and "".join(n + u for n, u in parts) == str(duration), duration
    unit = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(number) * unit[u] for number, u in parts)


def _unit_values(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def _gunicorn_conf(monkeypatch, metrics_dir: Path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))  # not this process's
    spec = importlib.util.spec_from_file_location("gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


# --- docker-compose.yml -------------------------------------------------------------------


def test_every_container_log_is_rotated():
    """json-file without options never rotates: a busy nginx or app fills the disk."""
    services = _compose()["services"]
    for name, service in services.items():
        logging = service.get("logging")
        assert logging, f"{name}: no logging (Docker's json-file grows without bound)"
        options = logging.get("options") or {}
        if logging["driver"] == "json-file":
            assert _size(options["max-size"]) <= 100 * 2**20, name
            assert 1 <= int(options["max-file"]) <= 10, name
        else:
            assert logging["driver"] == "local", name  # rotates by default (5 x 20 MB)


def _size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", str(text).lower()).groups()
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def test_nginx_logs_go_to_docker_not_into_a_volume():
    services = _compose()["services"]
    nginx = services["nginx"]
    assert not any(":/var/log/nginx" in mount for mount in nginx.get("volumes", []))
    conf = (DEPLOY / "nginx.conf").read_text()
    # the two names the official image links to /dev/stdout and /dev/stderr (and Debian's
    # logrotate rotates as /var/log/nginx/*.log)
    assert re.search(r"^\s*access_log /var/log/nginx/access\.log ", conf, re.MULTILINE)
    assert re.search(r"^\s*error_log /var/log/nginx/error\.log ", conf, re.MULTILINE)
    assert len(re.findall(r"^\s*(?:access|error)_log /", conf, re.MULTILINE)) == 2


def test_every_long_running_container_gets_time_to_stop(monkeypatch, tmp_path):
    """Docker's default is SIGKILL after 10 s: requests, jobs and checkpoints cut short."""
    services = _long_running(_compose()["services"])
    assert set(services) >= {"app", "worker", "scheduler", "postgres", "redis", "nginx"}
    grace = {}
    for name, service in services.items():
        assert "stop_grace_period" in service, f"{name}: stopped with SIGKILL after 10 s"
        grace[name] = _seconds(service["stop_grace_period"])
    conf = _gunicorn_conf(monkeypatch, tmp_path / "metrics")
    assert grace["app"] >= conf.graceful_timeout + 5  # gunicorn finishes what it holds
    worker_unit = _unit_values("fengchao-worker@.service")
    assert grace["worker"] == float(worker_unit["TimeoutStopSec"][0])  # RQ's warm shutdown
    scheduler_unit = _unit_values("fengchao-scheduler.service")
    assert grace["scheduler"] >= float(scheduler_unit["TimeoutStopSec"][0])
    assert grace["postgres"] >= 60  # its shutdown checkpoint
    assert grace["redis"] >= 30  # AOF fsync and the RDB snapshot
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", (DEPLOY / "nginx.conf").read_text())
    assert grace["nginx"] > int(read_timeout.group(1))  # SIGQUIT: requests in flight finish


# --- nginx in front of a recreated app ----------------------------------------------------


def test_nginx_follows_a_recreated_or_scaled_app():
    """nginx resolved `app` once, at start: after `up -d --build` recreated app (a new
    address) it answered 502 until restarted. Now it re-resolves at run time (nginx ≥ 1.27.3
    `resolve`, in shared memory) and compose restarts it after recreating app."""
    services = _compose()["services"]
    nginx = services["nginx"]
    image, _, tag = nginx["image"].partition(":")
    assert image == "nginx"
    version = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", tag).groups("0"))
    assert version >= (1, 27, 3), f"{tag}: the upstream `resolve` parameter needs 1.27.3"
    depends = nginx["depends_on"]["app"]
    assert depends["condition"] == "service_healthy"
    assert depends["restart"] is True
    assert "2.17" in README.read_text()  # depends_on `restart` needs Compose 2.17
    upstream = (DEPLOY / "fengchao-upstream.docker.conf").read_text()
    lines = [line.split("#", 1)[0].strip() for line in upstream.splitlines()]
    lines = [line for line in lines if line]
    assert any(re.fullmatch(r"zone \S+ \d+k;", line) for line in lines)
    assert any(re.match(r"resolver 127\.0\.0\.11 .*valid=\d+s", line) for line in lines)
    servers = [line for line in lines if line.startswith("server ")]
    assert servers and all(" resolve" in line and "app:8000" in line for line in servers)
    # the upstream block these lines go into (the systemd variant shares it: no resolver there)
    conf = (DEPLOY / "nginx.conf").read_text()
    block = re.search(r"upstream fengchao_app \{(.*?)\}", conf, re.DOTALL).group(1)
    assert "include fengchao-upstream.conf;" in block
    assert "resolver" not in (DEPLOY / "fengchao-upstream.conf").read_text()
    # its health check is nginx's own answer, with a program the Debian-based image has
    test = nginx["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and "curl" in " ".join(test)
    assert "/healthz" not in " ".join(test)  # not the app's health: nginx's


# --- migrations, once ---------------------------------------------------------------------


def test_migrations_run_once_before_any_app_container(tmp_path):
    """server/migrations/env.py takes no lock: app containers started together
    (--scale app=N) must not each migrate. A one-shot `migrate` service does, and `app`
    waits for it to have succeeded."""
    services = _compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] in (
        ["fengchao", "db", "upgrade", "heads"],
        ["db", "upgrade", "heads"],
    )
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    app = services["app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["environment"]["FENGCHAO_MIGRATE_ON_START"] == "0"
    for name, service in _long_running(services).items():
        command = " ".join(service.get("command") or [])
        assert "upgrade" not in command, name
    entrypoint = (DEPLOY / "entrypoint.sh").read_text()
    assert "Alembic's own lock" not in entrypoint  # there is none
    assert "no lock" in entrypoint
    # the entrypoint honours the setting compose gives app
    calls = _run_entrypoint(
        tmp_path, "web", FENGCHAO_MIGRATE_ON_START=app["environment"]["FENGCHAO_MIGRATE_ON_START"]
    )
    assert calls == ["gunicorn -c /etc/fengchao/gunicorn.conf.py server:create_app()"]
    assert _run_entrypoint(tmp_path, *migrate["command"]) == ["fengchao db upgrade heads"]


# --- gunicorn's metrics folders -----------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    return child.pid


def test_gunicorn_removes_the_metrics_folders_of_masters_that_are_gone(monkeypatch, tmp_path):
    """Under systemd each restart of fengchao-web left a fengchao-metrics-<pid> folder in
    /run/fengchao (kept across restarts), with every file its workers wrote."""
    run = tmp_path / "run"
    current = run / f"fengchao-metrics-{os.getpid()}"
    current.mkdir(parents=True)
    (current / "counter_1.db").write_bytes(b"old counts")
    dead, other_dead, third_dead = _dead_pid(), _dead_pid(), _dead_pid()
    stale = run / f"fengchao-metrics-{dead}"
    stale.mkdir()
    (stale / "counter_123.db").write_bytes(b"x")
    (stale / "histogram_123.db").write_bytes(b"x")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        kept = [
            run / f"fengchao-metrics-{sleeper.pid}",  # its master still runs
            run / "fengchao-metrics-1",  # init: alive
            run / "fengchao-metrics-abc",  # not a master's folder
            run / f"other-metrics-{other_dead}",  # not ours
            run / f"fengchao-metrics-{third_dead}x",
        ]
        for folder in kept:
            folder.mkdir()
            (folder / "counter_9.db").write_bytes(b"keep")
        a_file = run / f"fengchao-metrics-{other_dead}"  # a file, not a folder
        a_file.write_text("keep")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "keep").write_text("keep")
        link = run / f"fengchao-metrics-{third_dead}"  # a symlink is never followed
        link.symlink_to(elsewhere, target_is_directory=True)
        foreign = None
        if os.geteuid() == 0:  # another user's folder stays, whatever its pid
            foreign = run / f"fengchao-metrics-{_dead_pid()}"
            foreign.mkdir()
            os.chown(foreign, 65534, 65534)
        conf = _gunicorn_conf(monkeypatch, current)
        assert str(current) == conf.PROMETHEUS_DIR
        logged: list[str] = []
        server = SimpleNamespace(log=SimpleNamespace(info=lambda msg, *a: logged.append(msg % a)))
        conf.on_starting(server)
    finally:
        sleeper.kill()
        sleeper.wait(timeout=60)
    assert not stale.exists()
    assert current.is_dir() and list(current.iterdir()) == []  # its own: emptied
    for folder in kept:
        assert (folder / "counter_9.db").read_bytes() == b"keep", folder
    assert a_file.read_text() == "keep"
    assert link.is_symlink() and (elsewhere / "keep").exists()
    if foreign is not None:
        assert foreign.is_dir()
    assert logged == [f"removed the metrics folder of a gunicorn that is gone: {stale}"]


def test_gunicorn_without_stale_folders_or_with_a_custom_folder(monkeypatch, tmp_path):
    custom = tmp_path / "metrics"  # PROMETHEUS_MULTIPROC_DIR set by the operator
    conf = _gunicorn_conf(monkeypatch, custom)
    server = SimpleNamespace(log=SimpleNamespace(info=lambda *a: pytest.fail("nothing stale")))
    conf.on_starting(server)
    assert custom.is_dir()
    assert conf.stale_metrics_folders(str(tmp_path / "missing" / "fengchao-metrics-1")) == []


# --- systemd units ------------------------------------------------------------------------


def test_units_keep_photos_and_instance_folder_private():
    """StateDirectory's default is 0755 and the default umask 022: every resident's photo
    was world-readable on the host."""
    for unit in UNITS:
        values = _unit_values(unit)
        assert values["UMask"] == ["0027"], unit
        assert values["StateDirectoryMode"] == ["0750"], unit
    # nginx (another user) never reads the state folder: the app sends photos itself
    lines = (DEPLOY / "nginx.conf").read_text().splitlines()
    conf = "\n".join(line.split("#", 1)[0] for line in lines)  # the directives
    assert "/var/lib/fengchao" not in conf
    assert not re.search(r"^\s*(?:root|alias|internal)\b", conf, re.MULTILINE)
    assert "chmod -R o-rwx /var/lib/fengchao" in README.read_text()  # older installs


# --- the runbook --------------------------------------------------------------------------


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_backups_are_made_readable_by_root_alone():
    for block in _shell_blocks(README.read_text()):
        for line in block.splitlines():
            if "pg_dump" in line or re.search(r"\btar\b.* -c", line):
                assert "umask 077" in line, line  # in the same (sub)shell as the file it makes
            assert not re.fullmatch(r"\s*umask 077\s*", line), "scope it: (umask 077 && …)"


def test_the_environment_file_is_kept_apart_with_the_backups_and_put_back_first():
    section = _section("Backup and restore")
    blocks = _shell_blocks(section)
    kept = [line for b in blocks for line in b.splitlines() if line.startswith("install -m 600")]
    assert any("/etc/fengchao/fengchao.env" in line for line in kept)  # systemd
    assert any("deploy/.env" in line for line in kept)  # Docker (POSTGRES_PASSWORD too)
    assert sum("scp -p" in line for b in blocks for line in b.splitlines()) >= 2
    new_host = section[section.index("### Restore on a new host") :]
    systemd, docker = _shell_blocks(new_host)[:2]
    assert "/etc/fengchao/fengchao.env" in systemd.split("pip install", 1)[0]
    assert "deploy/.env" in docker.splitlines()[0]


def test_restores_move_the_sequences_and_log_everybody_out_before_starting():
    """After a restore the users' id sequence stood where the dump left it: the next new
    user got the id of an account created after the dump, whose 7-day token (user id and
    token version only) then opened the new account."""
    section = _section("Backup and restore")
    restores = [b for b in _shell_blocks(section) if "pg_restore" in b]
    assert len(restores) == 2  # systemd and Docker
    for block in restores:
        lines = block.splitlines()
        at = {
            "restore": next(i for i, x in enumerate(lines) if "pg_restore" in x),
            "migrate": next(i for i, x in enumerate(lines) if "db upgrade heads" in x),
            "setval": next(i for i, x in enumerate(lines) if "setval(" in x),
            "records": next(i for i, x in enumerate(lines) if '"auth:p:*"' in x),
            "start": next(i for i, x in enumerate(lines) if re.search(r"\b(start|up)\b", x)
                          and "upgrade" not in x),
        }  # fmt: skip
        assert at["restore"] < at["migrate"] < at["setval"] < at["records"] < at["start"]
        sql = lines[at["setval"]]
        assert "FROM pg_sequences" in sql and "coalesce(last_value, 0) + " in sql
        assert "UPDATE users SET token_version = token_version + " in sql
        assert "ON_ERROR_STOP=1" in sql
    # the keys stay: a new SECRET_KEY would void every printed station code
    assert not re.search(r"sed [^\n]*SECRET_KEY", section)
    from server.auth import principal

    assert principal.key(7) == "auth:p:7"  # the records the restore deletes


def test_upgrades_never_install_a_stale_build_folder():
    """pip builds in /opt/fengchao/app; setuptools packs whatever its build/ holds, so a
    deleted or renamed module or migration stayed installed."""
    installs = [
        line
        for block in _shell_blocks(README.read_text())
        for line in block.splitlines()
        if "pip install" in line and "/opt/fengchao/app" in line
    ]
    assert len(installs) >= 3  # first install, upgrade, new host
    for line in installs:
        assert line.startswith("rm -rf /opt/fengchao/app/build && "), line
