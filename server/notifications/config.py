"""Settings of the notifications domain, read from the app config or the environment.

Every key is documented in `.env.example` (section "Notifications"). Template ids and the
subscribe-message field mapping per notification kind come from `WECHAT_TEMPLATES_JSON`
and/or `WECHAT_TEMPLATE_<KIND>` (template id only); outside production the sandbox demo
templates below apply to every kind not configured otherwise.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context

log = logging.getLogger(__name__)

# Subscribe-message templates for the sandbox demo: kind -> (template id, {field: source}).
# A source is a key of the notification's `data`, or `title` / `body` / `created_at`, or a
# list of them (the first with a usable value wins).
DEMO_TEMPLATES: dict[str, dict[str, Any]] = {
    "work_order_new": {
        "template_id": "TPL_WORK_ORDER_NEW",
        "fields": {
            "character_string1": ["order_no", "report_no"],
            "thing2": "category",
            "thing3": "address",
            "time4": "time",
        },
    },
    "work_order_assigned": {
        "template_id": "TPL_WORK_ORDER_ASSIGNED",
        "fields": {
            "character_string1": ["order_no", "report_no"],
            "thing2": "category",
            "time3": "time",
        },
    },
    "work_order_overdue": {
        "template_id": "TPL_WORK_ORDER_OVERDUE",
        "fields": {
            "character_string1": ["order_no", "report_no"],
            "thing2": "category",
            "time3": "deadline",
        },
    },
    "work_order_escalated": {
        "template_id": "TPL_WORK_ORDER_ESCALATED",
        "fields": {
            "character_string1": ["order_no", "report_no"],
            "thing2": "category",
            "thing3": "reason",
        },
    },
    "report_status": {
        "template_id": "TPL_REPORT_STATUS",
        "fields": {
            "character_string1": "report_no",
            "phrase2": "status",
            "thing3": "category",
            "time4": "time",
        },
    },
    "report_feedback_request": {
        "template_id": "TPL_REPORT_FEEDBACK",
        "fields": {"character_string1": "report_no", "thing2": "title", "time3": "time"},
    },
    "redemption_created": {
        "template_id": "TPL_REDEMPTION",
        "fields": {"thing1": "item", "phrase2": "status", "thing3": "station", "time4": "time"},
    },
    "redemption_fulfilled": {
        "template_id": "TPL_REDEMPTION",
        "fields": {"thing1": "item", "phrase2": "status", "thing3": "station", "time4": "time"},
    },
    "redemption_refunded": {
        "template_id": "TPL_REDEMPTION",
        "fields": {"thing1": "item", "phrase2": "status", "thing3": "station", "time4": "time"},
    },
    "redemption_expiring": {
        "template_id": "TPL_REDEMPTION_EXPIRING",
        "fields": {"thing1": "item", "thing2": "station", "time3": "expires_at"},
    },
    "need_answered": {
        "template_id": "TPL_NEED_ANSWERED",
        "fields": {"thing1": "kind", "phrase2": "status", "thing3": "answer", "time4": "time"},
    },
    "points_adjusted": {
        "template_id": "TPL_POINTS",
        "fields": {"number1": "delta", "number2": "balance", "thing3": "reason", "time4": "time"},
    },
    "activity_reminder": {
        "template_id": "TPL_ACTIVITY_REMINDER",
        "fields": {"thing1": "activity", "time2": "starts_at", "thing3": "place"},
    },
    "activity_cancelled": {
        "template_id": "TPL_ACTIVITY_CHANGED",
        "fields": {"thing1": "activity", "phrase2": "status", "thing3": "reason"},
    },
    "activity_waitlist_promoted": {
        "template_id": "TPL_ACTIVITY_CHANGED",
        "fields": {"thing1": "activity", "phrase2": "status", "thing3": "reason"},
    },
    "activity_rescheduled": {
        "template_id": "TPL_ACTIVITY_CHANGED",
        "fields": {"thing1": "activity", "phrase2": "status", "thing3": "reason"},
    },
}
# Kinds sent with another kind's template (the same WeChat message — 活动变更, 兑换 — and so
# the same subscription credits): configured with their own id they use it, else the
# other's. An install that set only WECHAT_TEMPLATE_ACTIVITY_CANCELLED tells riders of a new
# time and of a place freed for them too.
SHARED_TEMPLATES: dict[str, str] = {
    "activity_rescheduled": "activity_cancelled",
    "activity_waitlist_promoted": "activity_cancelled",
    "redemption_fulfilled": "redemption_created",
    "redemption_refunded": "redemption_created",
}

DEFAULTS: dict[str, Any] = {
    "NOTIFY_MAX_ATTEMPTS": 5,
    "NOTIFY_RETRY_BASE_SECONDS": 30,
    "NOTIFY_SENDING_LEASE_SECONDS": 300,
    "NOTIFY_LANG": "zh_CN",
    "NOTIFY_ESCALATE_TO": "street",
}


@dataclass(frozen=True)
class Template:
    kind: str
    template_id: str
    fields: dict[str, Any] = field(default_factory=dict)


def setting(name: str) -> Any:
    """A notifications setting: app config first, then the environment, then the default."""
    value = None
    if has_app_context():
        value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    if value in (None, ""):
        return DEFAULTS.get(name)
    default = DEFAULTS.get(name)
    if isinstance(default, int) and not isinstance(value, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            log.error(
                "notifications setting %s=%r is not a whole number; using %s", name, value, default
            )
            return default
    return value


def _is_production() -> bool:
    env = current_app.config.get("FENGCHAO_ENV") if has_app_context() else None
    return (env or os.environ.get("FENGCHAO_ENV") or "development") == "production"


def templates(production: bool | None = None) -> dict[str, Template]:
    """kind -> Template: demo defaults (not in production), then JSON, then per-kind ids.
    `production`: read the configuration as production would (default: FENGCHAO_ENV)."""
    merged: dict[str, dict[str, Any]] = {}
    if not (_is_production() if production is None else production):
        merged.update({k: dict(v) for k, v in DEMO_TEMPLATES.items()})
    raw = setting("WECHAT_TEMPLATES_JSON")
    if raw:
        try:
            configured = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            log.error("WECHAT_TEMPLATES_JSON is not valid JSON; configuration problem")
            configured = {}
        for kind, spec in (configured or {}).items():
            if isinstance(spec, dict):
                merged[kind] = {**merged.get(kind, {}), **spec}
    env = dict(os.environ)
    if has_app_context():
        env.update({k: v for k, v in current_app.config.items() if isinstance(v, str)})
    for key, value in env.items():
        if key.startswith("WECHAT_TEMPLATE_") and key != "WECHAT_TEMPLATES_JSON" and value:
            kind = key.removeprefix("WECHAT_TEMPLATE_").lower()
            merged.setdefault(kind, {})["template_id"] = value
    result = {}
    for kind, spec in merged.items():
        template_id = spec.get("template_id")
        if template_id:
            # an id given without its fields keeps the default field mapping (.env.example),
            # in production too: WeChat refuses a subscribe message with no data
            fields = spec.get("fields") or DEMO_TEMPLATES.get(kind, {}).get("fields") or {}
            result[kind] = Template(kind, str(template_id), dict(fields))
    for kind, like in SHARED_TEMPLATES.items():
        if kind not in result and like in result:
            fields = DEMO_TEMPLATES.get(kind, {}).get("fields") or result[like].fields
            result[kind] = Template(kind, result[like].template_id, dict(fields))
    return result


def template_for(kind: str) -> Template | None:
    return templates().get(kind)


def kinds_for_template(template_id: str) -> list[str]:
    return [t.kind for t in templates().values() if t.template_id == template_id]


def oa_settings() -> dict[str, Any] | None:
    """Official-account template messages for staff: appid, secret, {kind: template spec}."""
    appid, secret = setting("WECHAT_OA_APPID"), setting("WECHAT_OA_SECRET")
    raw = setting("WECHAT_OA_TEMPLATES_JSON")
    if not (appid and secret and raw):
        return None
    try:
        specs = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        log.error("WECHAT_OA_TEMPLATES_JSON is not valid JSON; configuration problem")
        return None
    return {"appid": appid, "secret": secret, "templates": specs}
