"""Shared pieces of the HTTP contract: pagination and the Idempotency-Key header."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from copy import deepcopy
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from flask import Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, func, select

from server.clock import SHANGHAI, isoformat
from server.errors import DomainError
from server.extensions import db

MAX_PAGE_SIZE = 100
F = TypeVar("F", bound=Callable[..., Any])


def error_responses(*statuses: int) -> Callable[[F], F]:
    """Document the error statuses a view answers, each as the error envelope:
    `@error_responses(404, 409)` on a view that raises NotFound and Conflict.

    The same document as a stack of `@blp.alt_response(status, response="NOT_FOUND")` (the
    response flask-smorest registers under each status's name), with no wrapper around the
    view: nothing runs per request. The guards add 401/403 themselves, `@blp.arguments` adds
    422, and every operation gets 400, 413 when it takes a body and 503 under /api/v1
    (`AppWideResponses`, server/extensions.py); list here what the view's own code (its
    service) refuses with. The test suite fails on an error status an operation answers
    without documenting it (tests/openapi_contract.py).
    """

    def decorator(func: F) -> F:
        doc = deepcopy(getattr(func, "_apidoc", {}))  # shared with the function it wraps
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        for status in statuses:
            responses.setdefault(status, []).append(HTTPStatus(status).name)
        func._apidoc = doc  # type: ignore[attr-defined]
        return func

    return decorator


class LocalDateTime(fields.DateTime):
    """A stored naive-UTC datetime, shown as ISO 8601 in Asia/Shanghai (+08:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value)

    def _deserialize(self, value, attr, data, **kwargs):
        # Anything outside 2000–2099 is a typo or a probe (and year-0363 times would come back
        # with a local-mean-time offset like +08:05:43): refuse it as a validation error.
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= parsed.year <= 2099:
            raise ValidationError("时间超出有效范围（2000–2099 年），请检查后重试")
        return parsed


class Text(fields.String):
    """Text a person typed (a name, a reason, a comment): the whitespace around it, the
    full-width space too, is dropped before it is validated, so "   " is no name and no
    reason (a `Length(min=…)` then refuses it) and nothing is stored with stray blanks."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class DisplayName(Text):
    """A name others see (reports' public view, rankings, needs): blanks and invisible
    format characters (zero-width space, BOM) around it dropped; refused if what is left
    holds a control, format or separator character (a newline, BEL, a right-to-left
    override that turns the text around) or a private-use one."""

    REFUSED = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.strip("".join(c for c in set(text) if unicodedata.category(c) == "Cf"))
        text = text.strip()
        if any(unicodedata.category(c) in self.REFUSED for c in text):
            raise ValidationError("名称不能包含换行、控制字符或不可见字符，请只用文字、字母和数字")
        return text


class InDateTime(LocalDateTime):
    """ISO 8601 in; with an offset it is converted, without one it means Shanghai time;
    loaded as naive UTC, as every datetime is stored."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=SHANGHAI)
        return parsed.astimezone(dt.UTC).replace(tzinfo=None)


class LocalDate(fields.Date):
    """A calendar day (YYYY-MM-DD, Asia/Shanghai) given as a filter or period bound, held to
    2000–2099 like `LocalDateTime`: its callers take Shanghai midnight to UTC and add a day,
    which overflows at 0001-01-01 and 9999-12-31 (a 500), and nothing real lies outside."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= parsed.year <= 2099:
            raise ValidationError("日期超出有效范围（2000–2099 年），请检查后重试")
        return parsed


class AwareInDateTime(fields.AwareDateTime):
    """ISO 8601 with a required offset (one without is refused, as `fields.AwareDateTime`
    with no default timezone does), held to 2000–2099 like `LocalDateTime`: year-1 or
    year-9999 times overflow when taken to UTC. Loaded still aware, as given."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= parsed.year <= 2099:
            raise ValidationError("时间超出有效范围（2000–2099 年），请检查后重试")
        return parsed


class FastJSONProvider(DefaultJSONProvider):
    """Answers encoded by orjson: a list of 20 stations took ≈0.1 ms of CPU with the standard
    library, a tenth of that here (bench/README.md). What orjson does not encode the same
    way is handed to Flask's own `default` (dates as HTTP dates, Decimal, dataclasses), and
    int keys become strings, so an answer reads exactly as before. Chinese is sent as UTF-8
    (no \\uXXXX escapes), keys in the order built. Requests are still decoded by the standard
    library (its errors and big integers are what the validation layer expects), and a
    caller asking `dumps` for json.dumps' own options gets json.dumps."""

    ensure_ascii = False
    sort_keys = False
    OPTIONS = (
        orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def _encode(self, obj: Any, extra: int = 0) -> bytes | None:
        if self.ensure_ascii:
            return None  # orjson always writes UTF-8
        option = self.OPTIONS | extra | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        try:
            return orjson.dumps(obj, default=self.default, option=option)
        except orjson.JSONEncodeError:
            # what orjson cannot write and the standard library can (an integer beyond 64
            # bits in a stored JSON column, say) goes the slow way rather than a 500
            return None

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        encoded = None if kwargs else self._encode(obj)
        return super().dumps(obj, **kwargs) if encoded is None else encoded.decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        pretty = (self.compact is None and self._app.debug) or self.compact is False
        obj = self._prepare_response_obj(args, kwargs)
        extra = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if pretty else 0)
        encoded = self._encode(obj, extra)
        if encoded is None:
            return super().response(obj)
        return self._app.response_class(encoded, mimetype=self.mimetype)


IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_\-:.]{8,64}$")


# A list page counts at most COUNT_CAP + 1 rows of its filtered set (`total` is exact below
# the cap; above it `total` = COUNT_CAP and `total_capped` is true), and page numbers reach at
# most the first MAX_OFFSET rows: counting or skipping more walks an index as long as the
# history (a street's 1M check-ins: 170 ms a page). Past that a staff list ordered by id goes
# on with `before_id` (keyset paging), every list with narrower filters.
COUNT_CAP = 10_000
MAX_OFFSET = 10_000


class PageQuerySchema(Schema):
    """`page` (from 1) and `page_size` (at most 100); pages reach the first 10,000 rows."""

    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=100_000),
        metadata={
            "description": f"From 1; (page − 1) × page_size must stay below {MAX_OFFSET}, "
            "deeper is refused with 422 `paging.too_deep`"
        },
    )
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class KeysetPageQuerySchema(PageQuerySchema):
    """PageQuerySchema plus `before_id`, for staff lists ordered by id (newest first) that grow
    without bound: only rows with a smaller id are listed, `page` counts from there."""

    before_id = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={
            "description": "List only rows with a smaller id (newest first): pass the previous "
            "answer's `next_before_id` with page=1 to go on past the first 10,000 rows"
        },
    )


_page_schemas: dict[str, type[Schema]] = {}


def page_of(item_schema: type[Schema], *, keyset: bool = False) -> type[Schema]:
    """The paginated envelope `{"items", "total", "total_capped", "has_more", "page",
    "page_size"}` around a schema (with `next_before_id` where the list takes `before_id`)."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _page_schemas:
        attrs: dict[str, Any] = {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(
                required=True,
                metadata={
                    "description": f"Rows matching the filters, exact up to {COUNT_CAP}; "
                    f"when `total_capped` there are more than {COUNT_CAP} and this is "
                    f"{COUNT_CAP}"
                },
            ),
            "total_capped": fields.Boolean(
                required=True,
                metadata={"description": f"True when more than {COUNT_CAP} rows match"},
            ),
            "has_more": fields.Boolean(
                required=True,
                metadata={
                    "description": "True when page + 1 can be fetched (it holds rows and is "
                    "within the page-number depth)"
                },
            ),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
        }
        if keyset:
            attrs["next_before_id"] = fields.Integer(
                required=True,
                allow_none=True,
                metadata={
                    "description": "The last item's id when rows follow it (null at the "
                    "end): `before_id` for the next stretch"
                },
            )
        _page_schemas[name] = type(name, (Schema,), attrs)
    return _page_schemas[name]


def too_deep(page: int, page_size: int) -> None:
    """422 `paging.too_deep` for a page starting at or beyond MAX_OFFSET rows."""
    if (page - 1) * page_size >= MAX_OFFSET:
        raise DomainError(
            "paging.too_deep",
            f"只能按页查看前 {MAX_OFFSET} 条记录，请缩小筛选条件（如日期范围）后再查看",
            422,
            {"max_offset": MAX_OFFSET},
        )


def paginate(
    stmt: Select,
    page: int,
    page_size: int,
    *,
    scalars: bool = True,
    keyset: Any = None,
    before_id: int | None = None,
) -> dict[str, Any]:
    """Run `stmt` for one page and count its set up to COUNT_CAP; returns the page envelope.

    `keyset`: the id column a staff list is ordered by (descending); with it `before_id`
    lists only smaller ids and the envelope holds `next_before_id`."""
    too_deep(page, page_size)
    if keyset is not None and before_id is not None:
        stmt = stmt.where(keyset < before_id)
    counted = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).limit(COUNT_CAP + 1).subquery())
    ).scalar_one()
    offset = (page - 1) * page_size
    rows = db.session.execute(stmt.limit(page_size).offset(offset))
    items = list(rows.scalars() if scalars else rows.mappings())
    envelope = {
        "items": items,
        "total": min(counted, COUNT_CAP),
        "total_capped": counted > COUNT_CAP,
        "has_more": offset + len(items) < counted and page * page_size < MAX_OFFSET,
        "page": page,
        "page_size": page_size,
    }
    if keyset is not None:
        more = bool(items) and offset + len(items) < counted
        last = items[-1] if more else None
        envelope["next_before_id"] = (
            None if last is None else getattr(last, keyset.key) if scalars else last[keyset.key]
        )
    return envelope


def idempotency_key() -> str | None:
    """The request's `Idempotency-Key`, validated; None when absent.

    Money-like writes store it on the row they create under a unique constraint
    (user, key): a replay finds that row and answers with it, changing nothing.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None or key == "":
        return None
    if not IDEMPOTENCY_KEY_RE.match(key):
        raise DomainError(
            "idempotency.invalid_key",
            "Idempotency-Key 格式有误：应为 8–64 位字母、数字或 -_:.",
            400,
        )
    return key


def key_reused(what: str) -> DomainError:
    """409 for an Idempotency-Key replayed with a different request: not a retry of the first
    (answering with the first's result would tell the client it got what it asked for now)."""
    return DomainError(
        "idempotency.key_reused",
        f"这个请求标识已用于另一次{what}，内容不一致；请返回刷新后重新提交",
        409,
    )


IDEMPOTENCY_HEADER_DOC = {
    "Idempotency-Key": {
        "description": "8–64 characters; a replay with the same key returns the first result "
        "and changes nothing (409 `idempotency.key_reused` where the key was used for a "
        "different request).",
        "schema": {"type": "string"},
        "required": False,
    }
}


def fast_response(schema: Schema, data: dict[str, Any], body: Any = None) -> Response:
    """A hot read's answer sent as JSON without marshmallow walking every field.

    `body` is what `schema.dump(data)` gives (plain values, datetimes as `LocalDateTime`
    shows them); by default `data` itself, when it holds nothing but plain values. Keep
    `@blp.response(200, schema)` on the view for the documentation. Under TESTING every
    such response is compared with `schema.dump(data)`, so the whole suite (and the fuzz
    run) checks that the two never drift apart.
    """
    if body is None:
        body = data
    if current_app.testing:
        expected = schema.dump(data)
        if body != expected:
            raise AssertionError(
                f"fast response differs from {type(schema).__name__}: {body!r} != {expected!r}"
            )
    return current_app.json.response(body)
