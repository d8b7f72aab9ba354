"""marshmallow's validation messages in Chinese, for the `details.errors` of every 422.

Every refusal carries a Chinese `message` a person understands (errors.py); the per-field
hints beside it came from marshmallow's English defaults ("Missing data for required
field."). marshmallow has no locales: a field's messages are its class's
`default_error_messages` (merged along the class hierarchy when a field is made) and a
validator's are class attributes read when it is made, so they are set here once, before
any schema is defined (`server/__init__.py` imports this module first). A message a schema
sets itself (`error=`, `error_messages=`, our own ValidationErrors) is left as it is.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

FIELD_MESSAGES: dict[type, dict[str, str]] = {
    fields.Field: {
        "required": "此项必填",
        "null": "此项不能为空",
        "validator_failed": "取值无效",
    },
    fields.String: {"invalid": "应为文本", "invalid_utf8": "文本编码无效，应为 UTF-8"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Decimal: {"special": "不接受 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为 true 或 false"},
    fields.DateTime: {
        "invalid": "时间格式不正确，请使用 ISO 8601，如 2026-12-06T09:00:00+08:00",
        "invalid_awareness": "时间格式不正确，请使用 ISO 8601，如 2026-12-06T09:00:00+08:00",
        "format": "无法按时间格式处理：{input}",
    },
    fields.Date: {
        "invalid": "日期格式不正确，如 2026-12-06",
        "format": "无法按日期格式处理：{input}",
    },
    fields.Dict: {"invalid": "应为对象"},
    fields.List: {"invalid": "应为列表"},
    fields.Tuple: {"invalid": "应为数组"},
    fields.Nested: {"type": "类型不正确，应为对象"},
    fields.Email: {"invalid": "邮箱地址无效"},
    fields.URL: {"invalid": "网址无效"},
    fields.UUID: {"invalid_uuid": "UUID 无效"},
    fields.Enum: {"unknown": "应为以下之一：{choices}"},
}

VALIDATOR_MESSAGES: dict[type, dict[str, str]] = {
    validate.Length: {
        "message_min": "长度至少为 {min}",
        "message_max": "长度最多为 {max}",
        "message_all": "长度应在 {min} 到 {max} 之间",
        "message_equal": "长度应为 {equal}",
    },
    validate.Range: {
        "message_min": "应{min_op} {{min}}",
        "message_max": "应{max_op} {{max}}",
        "message_all": "应{min_op} {{min}}，且{max_op} {{max}}",
        "message_gte": "不小于",
        "message_gt": "大于",
        "message_lte": "不大于",
        "message_lt": "小于",
    },
    validate.OneOf: {"default_message": "应为以下之一：{choices}"},
    validate.NoneOf: {"default_message": "取值无效"},
    validate.Regexp: {"default_message": "格式不正确"},
    validate.Equal: {"default_message": "应等于 {other}"},
    validate.ContainsOnly: {"default_message": "所选的值不全在可选范围内：{choices}"},
    validate.ContainsNoneOf: {"default_message": "所选的值不能包含：{values}"},
    validate.Predicate: {"default_message": "取值无效"},
    validate.Email: {"default_message": "邮箱地址无效"},
    validate.URL: {"default_message": "网址无效"},
}

SCHEMA_MESSAGES = {"type": "请求内容应为 JSON 对象", "unknown": "不认识的字段"}


def install() -> None:
    """Set the Chinese messages (idempotent). Only keys marshmallow itself defines there
    are replaced, so a message a newer marshmallow adds stays readable in English."""
    for cls, messages in FIELD_MESSAGES.items():
        own = cls.__dict__.get("default_error_messages", {})
        own.update({key: text for key, text in messages.items() if key in own})
    for cls, attributes in VALIDATOR_MESSAGES.items():
        for name, text in attributes.items():
            if isinstance(getattr(cls, name, None), str):
                setattr(cls, name, text)
    Schema._default_error_messages.update(
        {
            key: text
            for key, text in SCHEMA_MESSAGES.items()
            if key in Schema._default_error_messages
        }
    )


install()
