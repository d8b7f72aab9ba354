"""Health, readiness and metrics endpoints (no auth, no rate limits; nginx keeps /metrics
and /readyz to internal addresses)."""

from __future__ import annotations

import os

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.errors import ServiceUnavailable
from server.extensions import limiter
from server.http import error_responses
from server.logging_setup import quiet
from server.ops import metrics
from server.ops.checks import readiness

blp = Blueprint(
    "ops",
    __name__,
    description="运维：存活与就绪探针、Prometheus 指标（无需登录，不限流）",
)
limiter.exempt(blp)

NOT_READY_MESSAGE = (
    "服务尚未就绪（数据库、Redis 或数据库迁移有问题），请运维人员运行 fengchao doctor 查看"
)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"example": {"database": "ok", "redis": "ok", "migrations": "ok"}},
    )


@blp.record_once
def _install(state) -> None:
    """Per app: time every request; trust X-Forwarded-For from the proxies in front."""
    app = state.app
    app.before_request(metrics.start_timer)
    app.after_request(metrics.observe)
    proxies = _trusted_proxies(app.config)
    if proxies and not getattr(app.wsgi_app, "_fengchao_proxy_fix", False):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)
        app.wsgi_app._fengchao_proxy_fix = True


def _trusted_proxies(config) -> int:
    """TRUSTED_PROXIES: how many proxies (nginx) stand in front; default 1 in production."""
    raw = config.get("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES"))
    if raw in (None, ""):
        return 1 if config.get("FENGCHAO_ENV") == "production" else 0
    return int(raw)


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """Liveness: the process answers (checks no dependency)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.response(200, ReadySchema)
    @error_responses(503)
    def get(self):
        """Readiness: database reachable, Redis reachable, migrations at head."""
        # MigrationContext says "Context impl …" and "Will assume … DDL" at INFO on each
        # call: 2 lines per health check (Docker's, every 15 s), nothing of use
        with quiet("alembic.runtime.migration"):
            checks = readiness()
        failed = [check.name for check in checks if not check.ok]
        if failed:
            raise ServiceUnavailable(
                "ops.not_ready",
                NOT_READY_MESSAGE,
                503,
                {
                    "failed": failed,
                    "checks": {
                        c.name: "ok" if c.ok else c.data.get("error") or c.detail for c in checks
                    },
                    "migrations": next(
                        (c.data for c in checks if c.name == "migrations" and c.data), {}
                    ),
                },
            )
        return {"status": "ok", "checks": {check.name: "ok" for check in checks}}


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Prometheus text exposition format 0.0.4",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self):
        """Prometheus metrics (requests by endpoint, domain counters, queue depth)."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.render(), mimetype=None, content_type=CONTENT_TYPE_LATEST)
