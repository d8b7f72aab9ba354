"""deploy/: nginx -t, the compose file, gunicorn's settings, the entrypoint and systemd units."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VENV_BIN = Path(sys.executable).parent


def _nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("nginx is not installed: apt-get install -y nginx-light (the Makefile does)")


def test_nginx_accepts_the_config(tmp_path):
    """`nginx -t` on deploy/nginx.conf with a self-signed pair in place of the placeholders."""
    nginx = _nginx()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=api.example.gov.cn", "-keyout", str(tmp_path / "privkey.pem"),
         "-out", str(tmp_path / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    conf = (DEPLOY / "nginx.conf").read_text()
    for placeholder in ("/etc/fengchao/tls/", "/var/log/nginx/", "/run/nginx.pid"):
        assert placeholder in conf
    conf = (
        conf.replace("/etc/fengchao/tls/", f"{tmp_path}/")
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("/run/nginx.pid", f"{tmp_path}/nginx.pid")
    )
    (tmp_path / "nginx.conf").write_text(conf)
    shutil.copy(DEPLOY / "fengchao-upstream.conf", tmp_path)
    mime = Path(nginx).resolve().parents[1] / "etc/nginx/mime.types"
    shutil.copy(mime if mime.exists() else "/etc/nginx/mime.types", tmp_path)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_config_matches_the_app():
    conf = (DEPLOY / "nginx.conf").read_text()
    from server.config import load_settings

    max_bytes = load_settings("/tmp", {})["MAX_CONTENT_LENGTH"]
    assert f"client_max_body_size {max_bytes // (1024 * 1024)}m;" in conf
    for needle in (
        "location = /wechat/callback",
        "location = /metrics",
        "proxy_set_header X-Request-Id",
        "proxy_set_header X-Forwarded-For",
        "proxy_set_header X-Forwarded-Proto",
        "ssl_certificate ",
    ):
        assert needle in conf


def _compose_with_docker() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60
    )
    return probe.returncode == 0


def test_compose_file_is_valid(tmp_path):
    """`docker compose config` when the compose plugin exists; else a structural check."""
    compose = DEPLOY / "docker-compose.yml"
    env = {**os.environ, "POSTGRES_PASSWORD": "test-password"}
    if _compose_with_docker():
        (DEPLOY / ".env").exists() or (tmp_path / ".env").write_text("")
        result = subprocess.run(
            ["docker", "compose", "-f", str(compose), "--env-file", "/dev/null", "config", "-q"],
            capture_output=True, text=True, timeout=120, env=env, cwd=DEPLOY,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return
    yaml = pytest.importorskip(
        "yaml", reason="neither `docker compose` nor PyYAML: add pyyaml to the test extra"
    )
    data = yaml.safe_load(compose.read_text())
    services = data["services"]
    assert set(services) >= {"app", "worker", "scheduler", "postgres", "redis", "nginx"}
    for name in ("app", "postgres", "redis", "nginx", "worker", "scheduler"):
        assert "healthcheck" in services[name], name
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["app"]["healthcheck"]["test"])
    assert services["app"]["command"] == ["web"]
    assert services["worker"]["command"] == ["worker"]
    assert services["scheduler"]["command"] == ["scheduler"]
    assert "--appendonly" in services["redis"]["command"]
    assert (
        services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
        == "yes"
    )
    # every named volume used is declared, and data lives in volumes
    declared = set(data["volumes"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, (name, source)
    assert any(m.startswith("pgdata:") for m in services["postgres"]["volumes"])
    assert any(m.startswith("redisdata:") for m in services["redis"]["volumes"])
    assert any(m.startswith("uploads:") for m in services["app"]["volumes"])
    for name in ("app", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert services[name]["environment"]["FENGCHAO_ENV"] == "production"
    for mounted in ("./nginx.conf", "./fengchao-upstream.docker.conf"):
        assert (DEPLOY / mounted).exists()


def _print_config(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"), "--print-config",
         "server:create_app()"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "FENGCHAO_ENV": "test", **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            settings[key.strip()] = value.strip()
    return settings


def test_gunicorn_settings(tmp_path):
    cores = len(os.sched_getaffinity(0))
    settings = _print_config(
        {"FENGCHAO_RUN_DIR": str(tmp_path), "FENGCHAO_INSTANCE_DIR": str(tmp_path)}
    )
    assert settings["worker_class"] == "sync"
    assert settings["workers"] == str(2 * cores)
    assert settings["timeout"] == "30"
    # recycled workers staggered widely: those started together must not all go at once
    assert int(settings["max_requests"]) > 0
    assert int(settings["max_requests_jitter"]) == int(settings["max_requests"]) // 2
    assert "%({x-request-id}o)s" in settings["access_log_format"]
    assert settings["preload_app"] == "True"  # workers are forks of a built app
    overridden = _print_config(
        {"GUNICORN_WORKERS": "3", "GUNICORN_TIMEOUT": "45", "LOG_FORMAT": "json",
         "FENGCHAO_RUN_DIR": str(tmp_path), "FENGCHAO_INSTANCE_DIR": str(tmp_path)}
    )  # fmt: skip
    assert overridden["workers"] == "3"
    assert overridden["timeout"] == "45"
    assert "JsonAccessLogger" in overridden["logger_class"]


def test_entrypoint_and_systemd_units():
    entrypoint = DEPLOY / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    subprocess.run(["sh", "-n", str(entrypoint)], check=True, timeout=30)
    text = entrypoint.read_text()
    assert "fengchao db upgrade" in text
    assert 'exec gunicorn -c /etc/fengchao/gunicorn.conf.py "server:create_app()"' in text
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "USER fengchao" in dockerfile
    for unit, command in (
        ("fengchao-web.service", "gunicorn -c"),
        ("fengchao-worker@.service", "fengchao worker"),
        ("fengchao-scheduler.service", "fengchao scheduler"),
    ):
        parser = configparser.ConfigParser(strict=True, interpolation=None)
        parser.optionxform = str
        parser.read(DEPLOY / "systemd" / unit)
        assert set(parser.sections()) == {"Unit", "Service", "Install"}, unit
        assert command in parser["Service"]["ExecStart"], unit
        assert parser["Service"]["User"] == "fengchao"
        assert parser["Service"]["EnvironmentFile"] == "/etc/fengchao/fengchao.env"


def test_gunicorn_master_warms_the_caches_before_each_fork(app, units, monkeypatch, tmp_path):
    import importlib.util

    from server.extensions import db
    from server.stations import catalog
    from tests.factories import make_station

    # the settings file points the metrics at a folder of its own: not this process's
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    sid = make_station(units["A"], name="预热驿站").id
    db.session.close()  # the master holds no connection while it warms

    from types import SimpleNamespace

    errors: list[str] = []
    server = SimpleNamespace(
        app=SimpleNamespace(wsgi=lambda: app),
        log=SimpleNamespace(exception=lambda message, *args: errors.append(message)),
    )
    import gc

    monkeypatch.setattr(gc, "collect", lambda: errors.append("collected"))
    monkeypatch.setattr(gc, "freeze", lambda: errors.append("frozen"))  # not this process
    conf.pre_fork(server, worker=None)
    assert catalog.CACHE._data and catalog.station(sid)["name"] == "预热驿站"
    assert errors == ["collected", "frozen"]  # the master's live objects frozen for the fork
    errors.clear()
    from flask import Flask

    other = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: Flask("other")), log=server.log)
    conf.pre_fork(other, worker=None)  # another app with these settings: nothing to warm
    assert errors == ["collected", "frozen"]
    errors.clear()
    monkeypatch.setattr("server.cache.warm", lambda app: 1 / 0)
    conf.pre_fork(server, worker=None)  # a failure is logged, the fork goes on
    assert errors == ["could not warm the caches before a fork", "collected", "frozen"]
