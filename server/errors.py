"""DomainError and the one error envelope every failure is answered with.

`{"code": "checkin.out_of_range", "message": "…", "status": 400, "details": {...}}`:
codes are stable snake_case (the client switches on them), messages are Chinese and
tell a person what to do.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from marshmallow import Schema, fields
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the client can act on. Subclass or raise with a stable code."""

    status = 400
    code = "bad_request"
    message = "请求无法处理"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        self.code = code or self.code
        self.message = message or self.message
        self.status = status or self.status
        self.details = details or {}
        super().__init__(f"{self.code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "details": self.details,
        }


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "找不到您要的内容，可能已被删除或您无权查看"


class Unauthorized(DomainError):
    status = 401
    code = "auth.required"
    message = "请先登录"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "您没有权限进行此操作"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "操作与当前状态冲突，请刷新后重试"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    message = "服务暂时不可用，请稍后重试"


class ErrorSchema(Schema):
    """The error envelope (documented on every operation)."""

    code = fields.String(required=True, metadata={"example": "checkin.out_of_range"})
    message = fields.String(
        required=True, metadata={"example": "您距离驿站约 850 米，请到站后再扫码"}
    )
    status = fields.Integer(required=True, metadata={"example": 400})
    details = fields.Dict(required=True)


# Werkzeug's HTTP errors mapped to stable codes and Chinese messages.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误，请检查后重试"),
    401: ("auth.required", "请先登录"),
    403: ("forbidden", "您没有权限进行此操作"),
    404: ("not_found", "找不到您要的内容，请检查地址"),
    405: ("method_not_allowed", "不支持该请求方式"),
    409: ("conflict", "操作与当前状态冲突，请刷新后重试"),
    413: ("request_too_large", "提交的内容过大，请压缩图片或减少内容后重试"),
    415: ("unsupported_media_type", "请求内容类型不受支持，请以 JSON 提交"),
    422: ("validation_error", "提交的内容有误，请按提示修改"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
    500: ("internal_error", "服务器开小差了，请稍后重试；如持续出现请联系管理员"),
    503: ("service_unavailable", "服务暂时不可用，请稍后重试"),
}


def envelope(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify(
        {"code": code, "message": message, "status": status, "details": details or {}}
    )
    response.status_code = status
    return response


def http_error_response(error: HTTPException):
    status = error.code or 500
    code, message = HTTP_ERRORS.get(status, (f"http_{status}", error.name))
    details: dict[str, Any] = {}
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        # marshmallow errors from flask-smorest: {"json": {"field": ["msg"]}}
        details["errors"] = data["messages"]
    if status == 400 and "Invalid JSON body" in str(data.get("messages", "")):
        code, message = "malformed_json", "请求内容不是有效的 JSON，请检查后重试"
    response = envelope(status, code, message, details)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    retry_after = getattr(error, "retry_after", None)
    if status == 429 and retry_after:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        if error.status >= 500:
            log.warning("domain error %s on %s %s", error.code, request.method, request.path)
        response = envelope(error.status, error.code, error.message, error.details)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_ERRORS[500]
        return envelope(500, code, message)

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_unavailable(error: Exception):
        # Redis unreachable or not answering in time (restart, failover, network): the
        # request stopped where it needed Redis; what it did commit before that is
        # idempotent (the writes that follow a commit are logged, not raised). A retry is
        # safe, and a client that waits a second will likely succeed.
        log.warning("Redis unavailable on %s %s: %s", request.method, request.path, error)
        return _unavailable()

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError):
        # Lost connection, server restarting, deadlock, lock timeout: the transaction was
        # rolled back and nothing was written; a retry is safe and will likely succeed.
        if isinstance(error, OperationalError) or error.connection_invalidated:
            log.warning(
                "database unavailable on %s %s: %s",
                request.method,
                request.path,
                type(error.orig).__name__,
            )
            return _unavailable()
        return _unexpected(error)

    def _unavailable():
        code, message = HTTP_ERRORS[503]
        response = envelope(503, code, message)
        response.headers["Retry-After"] = "1"
        return response
