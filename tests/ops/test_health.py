"""/healthz and /readyz: no auth, no rate limit; 503 with the envelope naming what failed."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from server.extensions import db
from tests.ops.helpers import other_app, session_env

FOUNDATION = "ad3b53b74512"


def test_healthz_answers_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-Id"]


def test_readyz_ok_when_database_redis_and_migrations_are_fine(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "migrations": "ok"},
    }


def test_readyz_503_when_the_database_is_down(app, tmp_path):
    env = session_env(app, tmp_path)
    if env["DATABASE_URL"].startswith("postgresql"):
        env["DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path}/missing-dir/nowhere.db"
    with other_app(app, env) as broken:
        response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "ops.not_ready"
    assert body["status"] == 503
    assert "database" in body["details"]["failed"]
    assert "redis" not in body["details"]["failed"]
    assert body["details"]["checks"]["redis"] == "ok"
    assert body["details"]["checks"]["database"] == "OperationalError"


def test_readyz_503_when_redis_is_down(app, tmp_path):
    env = session_env(app, tmp_path)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    with other_app(app, env) as broken:
        response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "ops.not_ready"
    assert body["details"]["failed"] == ["redis"]
    assert body["details"]["checks"]["database"] == "ok"
    assert body["details"]["checks"]["migrations"] == "ok"


def _migrated_sqlite_app(app, tmp_path):
    env = session_env(app, tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/throwaway.db"
    return other_app(app, env)


def test_readyz_503_when_migrations_are_behind(app, tmp_path):
    with _migrated_sqlite_app(app, tmp_path) as behind:
        with behind.app_context():
            upgrade(revision="heads")
            assert behind.test_client().get("/readyz").status_code == 200
            # an older code's database: stamped at the foundation revision only
            db.session.execute(text("DELETE FROM alembic_version"))
            db.session.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:rev)"), {"rev": FOUNDATION}
            )
            db.session.commit()
            db.session.remove()
        response = behind.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "ops.not_ready"
    assert body["details"]["failed"] == ["migrations"]
    assert body["details"]["migrations"]["database"] == [FOUNDATION]
    assert FOUNDATION not in body["details"]["migrations"]["code"]
    assert "fengchao db upgrade heads" in body["details"]["checks"]["migrations"]


def test_readyz_503_when_the_database_was_never_migrated(app, tmp_path):
    with _migrated_sqlite_app(app, tmp_path) as empty:
        response = empty.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["details"]["failed"] == ["migrations"]


def test_health_endpoints_are_exempt_from_rate_limits(app, client, monkeypatch):
    """Even under an app-wide default limit, probes and scrapes are never refused."""
    from flask_limiter import Limiter

    from server.extensions import limiter

    strict = Limiter(key_func=lambda: "probe", default_limits=["2/minute"])
    monkeypatch.setattr(
        limiter.limit_manager, "_default_limits", strict.limit_manager._default_limits
    )
    # with a default limit configured the limiter's before_request check is in place
    hooks = app.before_request_funcs[None]
    monkeypatch.setitem(app.before_request_funcs, None, [*hooks, limiter._check_request_limit])
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200
    statuses = [client.get("/api/v1/openapi.json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # the default limit is really in force
