"""Apps other than the session's (a dead database, a dead Redis, a throwaway SQLite file).

Flask-Limiter's `limiter` is one object bound to the last app initialised, so every helper
app is followed by re-binding it to the session app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask

from server import create_app
from server.extensions import db, limiter


def session_env(app: Flask, tmp_path) -> dict[str, str]:
    """Environment equivalent to the session app's, with its own instance folder."""
    config = app.config
    redis_url = config["REDIS_URL"]
    if not redis_url:
        socket = app.extensions["redis"].connection_pool.connection_kwargs["path"]
        redis_url = f"unix://{socket}"
    return {
        "FENGCHAO_ENV": "test",
        "FENGCHAO_INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": config["SECRET_KEY"],
        "PHONE_ENCRYPTION_KEY": config["PHONE_ENCRYPTION_KEY"],
        "WECHAT_API_BASE_URL": config["WECHAT_API_BASE_URL"],
        "WECHAT_TIMEOUT": "2",
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }


def release(other: Flask) -> None:
    with other.app_context():
        db.session.remove()
        for engine in db.engines.values():  # a replica's too
            engine.dispose()
        client = other.extensions.pop("wechat_client", None)
        if client is not None:
            client.close()
    for name in ("redis", "redis_raw"):
        other.extensions[name].connection_pool.disconnect()


@contextlib.contextmanager
def other_app(session_app: Flask, env: dict[str, str]) -> Iterator[Flask]:
    """A second app from `env`; its connections closed and the limiter restored after."""
    application = create_app({"ENV": env, "TESTING": True})
    try:
        yield application
    finally:
        release(application)
        restore_limiter(session_app)


def restore_limiter(session_app: Flask) -> None:
    # Flask-Limiter merges each init_app's RATELIMIT_STORAGE_OPTIONS into the one object's
    # options: a helper app's (a Sentinel's `use_replicas`) would reach the session app's
    # plain Redis storage. One app per process in production; here, start from none.
    limiter._storage_options.clear()
    limiter.init_app(session_app)
