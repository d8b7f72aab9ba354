"""The rules WeChat applies to request fields, and its error messages, as pure functions."""

from __future__ import annotations

import re
from typing import Any

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40066: "invalid url",
    40097: "invalid args",
    40125: "invalid appsecret",
    40129: "invalid scene",
    40169: "invalid length for scene, or the data is not json string",
    40004: "invalid media type",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid!",
    87014: "risky content",
}

LOGIN_CODE = re.compile(r"^sandbox:([A-Za-z0-9_\-]{1,64})(?::[A-Za-z0-9_\-]{1,64})?$")
PHONE_CODE = re.compile(r"^sandbox-phone:(1\d{10})(?::[A-Za-z0-9_\-]{1,64})?$")
SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
DATA_KEY = re.compile(r"^([a-z_]+?)(\d+)$")

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_DATE = r"(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}|\d{4}/\d{1,2}/\d{1,2})"
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
_TIME_POINT = rf"(?:{_DATE}\s*)?{_CLOCK}|{_DATE}"
_DATE_POINT = rf"{_DATE}(?:\s*{_CLOCK})?"

VALUE_RULES: dict[str, re.Pattern[str]] = {
    "thing": re.compile(r"^.{1,20}$", re.S),
    "character_string": re.compile(r"^[\x21-\x7e]{1,32}$"),
    "number": re.compile(r"^[+-]?\d+(?:\.\d+)?$"),
    "letter": re.compile(r"^[A-Za-z]{1,32}$"),
    "symbol": re.compile(r"^[^\w\s]{1,5}$"),
    "phrase": re.compile(rf"^[{_HAN}]{{1,5}}$"),
    "name": re.compile(rf"^(?:[{_HAN}·]{{1,10}}|[A-Za-z .'\-]{{1,20}})$"),
    "phone_number": re.compile(r"^[\d+\-() ]{1,17}$"),
    "car_number": re.compile(rf"^[{_HAN}A-Za-z0-9][A-Za-z0-9]{{0,6}}[{_HAN}A-Za-z0-9]?$"),
    "amount": re.compile(r"^[¥￥$]?\d{1,10}(?:\.\d{1,2})?元?$"),
    "time": re.compile(rf"^(?:{_TIME_POINT})(?:\s*~\s*(?:{_TIME_POINT}))?$"),
    "date": re.compile(rf"^(?:{_DATE_POINT})(?:\s*~\s*(?:{_DATE_POINT}))?$"),
    "enum": re.compile(r"^.{1,20}$", re.S),
}
MAX_LEN = {"number": 32, "car_number": 8}

RISKY_WORDS = {"赌博": 20006, "色情": 20002, "诈骗": 20008, "毒品": 20006, "代开发票": 20008}
RISKY_MARKER = "[risky]"
REVIEW_MARKER = "[review]"
LANGS = frozenset({"zh_CN", "en_US", "zh_HK", "zh_TW"})
STATES = frozenset({"developer", "trial", "formal"})
ENV_VERSIONS = frozenset({"release", "trial", "develop"})


class Refusal(Exception):
    """A WeChat error answer: errcode plus (optionally) a more specific errmsg."""

    def __init__(self, errcode: int, errmsg: str | None = None):
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "error")


def check_subscribe_data(data: Any, template_keys: frozenset[str] | None = None) -> None:
    """Raise Refusal(47003, "argument invalid! data.<key>.value invalid") on the first bad value."""
    if not isinstance(data, dict) or not data:
        raise Refusal(47003, "argument invalid! data invalid")
    for key in template_keys or ():
        if key not in data:
            raise Refusal(47003, f"argument invalid! data.{key}.value invalid")
    for key, item in data.items():
        bad = Refusal(47003, f"argument invalid! data.{key}.value invalid")
        match = DATA_KEY.match(str(key))
        if not match or match.group(1) not in VALUE_RULES:
            raise bad
        if template_keys is not None and key not in template_keys:
            raise bad
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise bad
        kind, value = match.group(1), item["value"]
        if not VALUE_RULES[kind].match(value) or len(value) > MAX_LEN.get(kind, 10_000):
            raise bad


def check_subscribe_page(page: Any) -> None:
    """Pages are in-app paths such as `pages/x/index?id=1`; a URL or whitespace is refused."""
    if page is None or page == "":
        return
    if not isinstance(page, str) or "://" in page or any(c.isspace() for c in page):
        raise Refusal(41030)
    if len(page) > 1024:
        raise Refusal(41030)


def check_wxacode_page(page: Any) -> None:
    """getwxacodeunlimit pages: no leading slash, no query string."""
    if page is None or page == "":
        return
    if not isinstance(page, str) or page.startswith("/") or "?" in page or "://" in page:
        raise Refusal(41030)


def check_scene(scene: Any) -> str:
    if not isinstance(scene, str) or not SCENE.match(scene):
        raise Refusal(40169)
    return scene


def classify_text(content: str) -> tuple[str, int, str | None]:
    """(suggest, label, keyword) for msg_sec_check: deterministic markers and a small word list."""
    if RISKY_MARKER in content:
        return "risky", 20001, None
    for word, label in RISKY_WORDS.items():
        if word in content:
            return "risky", label, word
    if REVIEW_MARKER in content:
        return "review", 21000, None
    return "pass", 100, None


def classify_media(media_url: str) -> tuple[str, int]:
    """(suggest, label) for media_check_async: `risky` / `review` anywhere in the URL."""
    lowered = media_url.lower()
    if "risky" in lowered:
        return "risky", 20002
    if "review" in lowered:
        return "review", 21000
    return "pass", 100
