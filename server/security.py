"""App-wide protections: response security headers, no CORS, bounded integer ids in URLs.

Registered once in `create_app` (before the blueprints, so the documented path parameters
carry the bound too).
"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from server.errors import DomainError

# The largest value a BIGINT column holds: no id, count or amount beyond it can exist.
MAX_ID = 2**63 - 1
MAX_INT = MAX_ID

DOCS_PREFIX = "/api/v1/docs"
# The docs page loads only its own assets (served locally) and the document itself;
# swagger-ui's inline bootstrap script needs 'unsafe-inline' for scripts.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


class IdConverter(IntegerConverter):
    """`<int:x>` bounded to what a BIGINT holds: a larger id simply matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone UTF-16 surrogate (no database encodes it)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_bad_text(value) -> bool:
    if isinstance(value, str):
        return not _storable(value)
    if isinstance(value, dict):
        return any(_has_bad_text(k) or _has_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_bad_text(v) for v in value)
    return False


# In a JSON body, text no database can store arrives only as an escape: NUL as \u0000, a
# lone surrogate as \uD800–\uDFFF (a valid pair, an emoji escaped, is decoded to one
# character and passes). A raw NUL byte is looked for too.
_SUSPECT_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00")


def refuse_unstorable_text() -> None:
    """No text we store may hold NUL or a lone surrogate: refuse it at the door, 400.

    The raw request is looked at first, on every request: a NUL can reach the query's keys
    and values only as `%00` or a raw byte (percent-encoded surrogates are not valid UTF-8
    and are decoded as U+FFFD), and a JSON body's strings only as an escape; only then are
    the parsed values walked.
    """
    wsgi = request.environ  # the request's, not the process's
    suspects: list = [request.path]
    query = wsgi.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        suspects += [*request.args.keys(), *request.args.values()]
    if wsgi.get("CONTENT_LENGTH") or wsgi.get("HTTP_TRANSFER_ENCODING"):  # a body
        if request.is_json:  # application/json and application/*+json, as the parser takes
            if _SUSPECT_JSON.search(request.get_data(cache=True)):
                suspects.append(request.get_json(silent=True))
        elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            suspects += [*request.form.keys(), *request.form.values()]
            suspects += [f.filename or "" for f in request.files.values()]
    if any(_has_bad_text(value) for value in suspects):
        raise DomainError(
            "invalid_characters",
            "提交的内容包含无法保存的字符（如 NUL 或不成对的 Unicode 代理字符），请删除后重试",
            400,
        )


def init_app(app: Flask, api) -> None:
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unstorable_text)
    from flask_smorest.spec.plugins import integerconverter2paramschema

    api.register_converter(IdConverter, integerconverter2paramschema)

    @app.after_request
    def _security_headers(response):
        # One pass over the few headers a response has (setdefault scanned them per name).
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        csp = DOCS_CSP if request.path.startswith(DOCS_PREFIX) else API_CSP
        headers.extend(
            [
                (name, value)
                for name, value in (*SECURITY_HEADERS, ("Content-Security-Policy", csp))
                if name.lower() not in present
            ]
        )
        # We need no CORS (the mini-program is not a browser origin): never grant it.
        if any(name.startswith("access-control-allow-") for name in present):
            for name in {n for n, _ in headers.items() if n.lower().startswith("access-control-")}:
                if name.lower().startswith("access-control-allow-"):
                    del headers[name]
        return response
