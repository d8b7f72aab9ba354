"""deploy/: nginx -t, the compose file, gunicorn's settings, the entrypoint and systemd units."""

from __future__ import annotations

import os
import re
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


def _self_signed_pair(folder) -> None:
    """privkey.pem and fullchain.pem in `folder`, standing in for the real certificate."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=api.example.gov.cn", "-keyout", str(folder / "privkey.pem"),
         "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def test_nginx_accepts_the_config(tmp_path):
    """`nginx -t` on deploy/nginx.conf with a self-signed pair in place of the placeholders."""
    nginx = _nginx()
    _self_signed_pair(tmp_path)
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


def _blocks(conf: str) -> dict[str, str]:
    """`location NAME {` -> its body, up to its closing brace (braces in quotes and comments
    skipped)."""
    blocks = {}
    for match in re.finditer(r"^\s*location ([^{]+)\{", conf, re.M):
        depth, quote, at = 1, None, match.end()
        while depth:
            char = conf[at]
            if quote:
                quote = None if char == quote else quote
            elif char == "#":  # a comment, to the end of its line
                at = conf.index("\n", at)
            elif char in "'\"":
                quote = char
            else:
                depth += {"{": 1, "}": -1}.get(char, 0)
            at += 1
        blocks[match.group(1).strip()] = conf[match.end() : at - 1]
    return blocks


def test_nginx_answers_its_own_api_errors_in_the_apps_envelope():
    """nginx's HTML 413 (a photo over client_max_body_size) and 502/503/504 (a restart) made
    the mini-program say 请求失败，请稍后重试 for a photo simply too large."""
    import json

    from server.errors import HTTP_ERRORS

    conf = (DEPLOY / "nginx.conf").read_text()
    blocks = _blocks(conf)
    api = [name for name in blocks if re.search(r"^(=\s*)?/api/", name)]
    assert "/api/" in api and "= /api/v1/uploads" in api
    for name in api:
        assert "error_page 413 @api_413;" in blocks[name], name
        assert "error_page 502 503 504 @api_unavailable;" in blocks[name], name
    # what the app answers passes through (its own 413 upload.too_large, its 503s)
    assert not re.search(r"^\s*proxy_intercept_errors", conf, re.M)
    bodies = {}
    for name in ("@api_413", "@api_unavailable"):
        block = blocks[name]
        assert "types { }" in block and "default_type application/json;" in block, name
        (body,) = re.findall(r"return \d{3} '(.*)';", block)
        bodies[name] = json.loads(body.replace("$status", "503"))
    assert bodies["@api_413"] == {
        "code": HTTP_ERRORS[413][0], "message": HTTP_ERRORS[413][1], "status": 413, "details": {}
    }  # fmt: skip
    assert bodies["@api_unavailable"] == {
        "code": "service_unavailable", "message": HTTP_ERRORS[503][1], "status": 503,
        "details": {},
    }  # fmt: skip
    unavailable = blocks["@api_unavailable"]
    assert "add_header Retry-After 1 always;" in unavailable
    # add_header in a location drops the server's (HSTS, nosniff): they are repeated
    headers = set(re.findall(r"^\s*(add_header [^;]+;)", conf, re.M))
    assert len(headers) > 1
    for header in headers:
        assert header in unavailable, header


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _app_standin():
    """A stand-in for gunicorn: a request for /api/v1/slow is never answered (nginx's 504),
    any other connection is closed at once (nginx's 502). Returns (port, stop)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    held, stopping = [], threading.Event()

    def serve():
        while not stopping.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                head = conn.recv(65536)
            except OSError:
                head = b""
            if b" /api/v1/slow " in head:
                held.append(conn)  # answered never
            else:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def stop():
        stopping.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()

    return server.getsockname()[1], stop


def test_nginx_answers_json_for_its_own_api_errors(tmp_path):
    """A real nginx with deploy/nginx.conf in front of a dead (502) and a hung (504) app: the
    API's envelope with the status, application/json and Retry-After; other paths as before."""
    import http.client
    import json
    import ssl
    import time

    from server.errors import HTTP_ERRORS

    nginx = _nginx()
    _self_signed_pair(tmp_path)
    http_port, https_port = _free_port(), _free_port()
    conf = (DEPLOY / "nginx.conf").read_text()
    for old, new in (
        ("/etc/fengchao/tls/", f"{tmp_path}/"),
        ("/var/log/nginx/", f"{tmp_path}/"),
        ("/run/nginx.pid", f"{tmp_path}/nginx.pid"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("proxy_read_timeout 35s;", "proxy_read_timeout 1s;"),  # a hung app: 504 at once
        (
            "http {\n",
            f"http {{\n    client_body_temp_path {tmp_path}/body;\n"
            f"    proxy_temp_path {tmp_path}/proxy;\n",
        ),
    ):
        assert old in conf, old
        conf = conf.replace(old, new)
    conf = re.sub(r"^\s*listen \[::\].*\n", "", conf, flags=re.M)
    (tmp_path / "nginx.conf").write_text(conf)
    mime = Path(nginx).resolve().parents[1] / "etc/nginx/mime.types"
    shutil.copy(mime if mime.exists() else "/etc/nginx/mime.types", tmp_path)
    app_port, stop_app = _app_standin()
    (tmp_path / "fengchao-upstream.conf").write_text(f"server 127.0.0.1:{app_port};\n")
    server = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

    def ask(method, path, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", https_port, context=context, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True)
            for name, value in {"Host": "api.example.gov.cn", **(headers or {})}.items():
                conn.putheader(name, value)
            conn.endheaders()  # a body announced is never sent: nginx answers 413 first
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                ask("GET", "/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        too_large = str(13 * 1024 * 1024)
        for path in ("/api/v1/uploads", "/api/v1/reports"):
            status, headers, body = ask("POST", path, {"Content-Length": too_large})
            assert status == 413, (path, body)
            assert headers["Content-Type"] == "application/json", path
            assert json.loads(body) == {
                "code": HTTP_ERRORS[413][0], "message": HTTP_ERRORS[413][1], "status": 413,
                "details": {},
            }  # fmt: skip
        for path, expected in (
            ("/api/v1/me", 502),
            ("/api/v1/media/x.jpg", 502),  # not image/jpeg from the path's extension
            ("/api/v1/slow", 504),
        ):
            status, headers, body = ask("GET", path)
            assert status == expected, (path, body)
            assert headers["Content-Type"] == "application/json", path
            assert headers["Retry-After"] == "1", path
            assert headers["Strict-Transport-Security"] == "max-age=31536000", path
            assert json.loads(body) == {
                "code": "service_unavailable", "message": HTTP_ERRORS[503][1],
                "status": expected, "details": {},
            }  # fmt: skip
        status, headers, _ = ask("GET", "/not-the-api")
        assert status == 502 and headers["Content-Type"].startswith("text/html")
    finally:
        server.terminate()
        server.wait(10)
        server.stderr.close()
        stop_app()


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
    for name in ("worker", "scheduler"):  # tests/notifications/test_alive_file.py
        assert services[name]["command"] == [name, "--alive-file", "/tmp/fengchao-alive"]
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


def _unit(name: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit file: section -> [(key, value), ...] in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, (name, line)
        current.append((key.strip(), value.strip()))
    return sections


UNITS = ("fengchao-web.service", "fengchao-worker@.service", "fengchao-scheduler.service")


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
    commands = ("gunicorn -c", "fengchao worker", "fengchao scheduler")
    for unit, command in zip(UNITS, commands, strict=True):
        sections = _unit(unit)
        assert set(sections) == {"Unit", "Service", "Install"}, unit
        service = sections["Service"]
        values = {key: [v for k, v in service if k == key] for key, _ in service}
        for key, value in values.items():
            if key not in ("Environment", "ExecStartPre"):
                assert len(value) == 1, (unit, key)  # set once: no silent override
        assert command in values["ExecStart"][0], unit
        assert values["User"] == ["fengchao"], unit
        assert values["EnvironmentFile"] == ["/etc/fengchao/fengchao.env"], unit
        # /var/lib/fengchao made and owned by the service user; the instance folder and the
        # uploads there, in production mode; the env file (read after these) may override
        assert values["StateDirectory"] == ["fengchao"], unit
        assert values["WorkingDirectory"] == ["/var/lib/fengchao"], unit
        environment = values["Environment"]
        for setting in (
            "FENGCHAO_ENV=production",
            "FENGCHAO_INSTANCE_DIR=/var/lib/fengchao",
            "UPLOAD_DIR=/var/lib/fengchao/uploads",
        ):
            assert setting in environment, (unit, setting)
        keys = [key for key, _ in service]
        last_environment = len(keys) - 1 - keys[::-1].index("Environment")
        assert last_environment < keys.index("EnvironmentFile"), unit


def _run_entrypoint(tmp_path, *args: str, **environment: str) -> list[str]:
    """deploy/entrypoint.sh with stand-ins for fengchao and gunicorn that log their argv
    (`environment`: variables the container would have)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    log.write_text("")
    for program in ("fengchao", "gunicorn"):
        stub = bin_dir / program
        stub.write_text(f'#!/bin/sh\necho "{program} $*" >> "{log}"\n')
        stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), **environment}
    subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), *args],
        check=True, timeout=30, env=env, capture_output=True,
    )  # fmt: skip
    return log.read_text().splitlines()


def test_entrypoint_roles_and_any_fengchao_subcommand(tmp_path):
    web = "gunicorn -c /etc/fengchao/gunicorn.conf.py server:create_app()"
    assert _run_entrypoint(tmp_path) == ["fengchao db upgrade heads", web]
    assert _run_entrypoint(tmp_path, "web", "--workers", "3") == [
        "fengchao db upgrade heads",
        f"{web} --workers 3",
    ]
    for args in (
        ["worker"],
        ["scheduler"],
        ["doctor", "--skip-wechat"],
        ["rankings", "rebuild"],
        ["outbox", "status"],
        ["export-community", "C-X", "--out", "/tmp/x.zip"],
        ["org-unit", "add", "D-X", "区", "--level", "district"],
    ):
        assert _run_entrypoint(tmp_path, *args) == [f"fengchao {' '.join(args)}"], args
    # a program on PATH runs as given (never migrates)
    assert _run_entrypoint(tmp_path, "fengchao", "points", "verify") == ["fengchao points verify"]
    assert _run_entrypoint(tmp_path, "sh", "-c", "true") == []


def _preload_by_default(monkeypatch, tmp_path) -> bool:
    import importlib.util

    monkeypatch.delenv("GUNICORN_PRELOAD", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # not this process's
    spec = importlib.util.spec_from_file_location("gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return bool(conf.preload_app)


# What the docs once said: reload (HUP) brings new code. Not with a preloaded app.
RELOAD_LOADS_CODE = re.compile(
    r"code[- ]only changes[^.]*reload|reload[^.]*replaces workers|new workers with the new code"
    r"|reload[^.]*(?:loads?|picks? up|deploys?) (?:the )?new code",
    re.IGNORECASE | re.DOTALL,
)


def test_docs_never_say_reload_loads_new_code_while_preloading(monkeypatch, tmp_path):
    if not _preload_by_default(monkeypatch, tmp_path):
        return  # without preload, HUP does rebuild the app in new workers
    readme = (DEPLOY / "README.md").read_text()
    paragraphs = [p for p in re.split(r"\n\s*\n", readme) if "reload fengchao-web" in p]
    assert paragraphs, "deploy/README.md should say what reload does and does not do"
    for paragraph in paragraphs:
        assert not RELOAD_LOADS_CODE.search(paragraph), paragraph
        assert "systemctl restart fengchao-web" in paragraph, paragraph
    unit = (DEPLOY / "systemd" / "fengchao-web.service").read_text()
    before_reload = unit.split("ExecReload=", 1)[0].splitlines()
    comment = []
    for line in reversed(before_reload):
        if not line.startswith("#"):
            break
        comment.insert(0, line)
    comment = "\n".join(comment)
    assert not RELOAD_LOADS_CODE.search(comment), comment
    assert "systemctl restart fengchao-web" in comment, comment


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


def _conf_settings(text: str) -> dict[str, str]:
    """name = value lines of a postgresql.conf (comments dropped)."""
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, value = (part.strip() for part in line.split("=", 1))
            found[name] = value
    return found


def test_postgres_settings_shipped_alike_and_accepted(db):
    """deploy/postgresql/fengchao.conf (Debian's conf.d) and the compose file's postgres set
    the same settings (memory per host, the rest alike); on the PostgreSQL pass, the server
    knows each name and accepts each value."""
    conf = _conf_settings((DEPLOY / "postgresql" / "fengchao.conf").read_text(encoding="utf-8"))
    assert set(conf) == {
        "shared_buffers",
        "effective_cache_size",
        "wal_compression",
        "max_wal_size",
    }
    compose = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    block = compose.split("\n  postgres:\n", 1)[1].split("\n  redis:\n", 1)[0]
    passed = dict(re.findall(r"^\s+- ([a-z_]+)=(\S+)$", block, re.MULTILINE))
    assert set(passed) == set(conf)
    for name in ("wal_compression", "max_wal_size"):
        assert passed[name] == conf[name], name
    for name in ("shared_buffers", "effective_cache_size"):  # the host's: a variable
        assert re.fullmatch(r"\$\{POSTGRES_[A-Z_]+:-\d+[GM]B\}", passed[name]), passed[name]
    assert "postgresql/fengchao.conf" in (DEPLOY / "README.md").read_text(encoding="utf-8")
    if db.engine.dialect.name != "postgresql":
        return  # the server's side: on make test's PostgreSQL pass
    from sqlalchemy import text

    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, vartype, enumvals FROM pg_settings WHERE name = ANY(:names)"),
            {"names": list(conf)},
        ).all()
    known = {name: (vartype, enumvals) for name, vartype, enumvals in rows}
    assert set(known) == set(conf)
    assert conf["wal_compression"] in known["wal_compression"][1]  # built with lz4
    for name in ("shared_buffers", "effective_cache_size", "max_wal_size"):
        assert known[name][0] == "integer" and re.fullmatch(r"\d+[GM]B", conf[name])
