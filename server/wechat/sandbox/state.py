"""The sandbox's in-memory state: tokens, users, codes, credits, media, faults, recorded calls.

Every public method takes the one lock, because the sandbox server is threaded.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TOKEN_TTL = 7200
STABLE_RENEW_BEFORE = 300  # WeChat renews a stable token 5 minutes before it expires
BASIC_OVERLAP = 300  # a new /cgi-bin/token leaves the previous one valid for 5 minutes
MAX_CALLS = 5000
REDACTED = "***"
SECRET_KEYS = frozenset({"access_token", "secret", "appsecret", "session_key"})


def redact(mapping: dict[str, Any] | None) -> dict[str, Any] | None:
    """Copy of `mapping` with credentials replaced by "***" (one level deep is all WeChat uses)."""
    if not isinstance(mapping, dict):
        return mapping
    return {k: (REDACTED if k in SECRET_KEYS else v) for k, v in mapping.items()}


def unionid_for(openid: str) -> str:
    """The deterministic unionid the sandbox reports for an openid."""
    return "u_" + hashlib.sha256(openid.encode()).hexdigest()[:26]


def new_rid() -> str:
    """A request id shaped like the `rid:` WeChat appends to error messages."""
    return "-".join(secrets.token_hex(4) for _ in range(3))


@dataclass
class Token:
    value: str
    kind: str  # "basic" (/cgi-bin/token) or "stable" (/cgi-bin/stable_token)
    expires_at: float
    status: str = "valid"  # valid | expired | invalid


@dataclass
class Fault:
    errcode: int | None = None
    http_status: int | None = None
    delay_seconds: float | None = None
    times: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "errcode": self.errcode,
            "http_status": self.http_status,
            "delay_seconds": self.delay_seconds,
            "times": self.times,
        }


@dataclass
class MediaItem:
    data: bytes
    content_type: str
    created_at: int


@dataclass
class SandboxState:
    appid: str
    secret: str
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.tokens: dict[str, Token] = {}
            self.stable_token: str | None = None
            self.used_codes: set[str] = set()
            self.users: dict[str, dict[str, Any]] = {}
            self.credits: dict[tuple[str, str], int] = {}
            self.media: dict[str, MediaItem] = {}
            self.media_checks: list[dict[str, Any]] = []
            self.faults: dict[str, list[Fault]] = {}
            self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS)
            self.sent_messages: list[dict[str, Any]] = []
            self._seq = 0
            self._msgid = 1_000_000_000

    # tokens -----------------------------------------------------------------

    def _new_token(self, kind: str) -> Token:
        token = Token(secrets.token_urlsafe(48), kind, time.time() + TOKEN_TTL)
        self.tokens[token.value] = token
        return token

    def issue_basic_token(self) -> Token:
        """What /cgi-bin/token does: a new token; the previous ones live 5 more minutes."""
        with self._lock:
            grace = time.time() + BASIC_OVERLAP
            for token in self.tokens.values():
                if token.kind == "basic":
                    token.expires_at = min(token.expires_at, grace)
            return self._new_token("basic")

    def issue_stable_token(self, force_refresh: bool) -> Token:
        """What /cgi-bin/stable_token does: the current one unless forced, expired or due."""
        with self._lock:
            current = self.tokens.get(self.stable_token or "")
            now = time.time()
            if (
                current is not None
                and not force_refresh
                and current.status == "valid"
                and current.expires_at - now > STABLE_RENEW_BEFORE
            ):
                return current
            if current is not None and force_refresh:
                current.status = "invalid"
            token = self._new_token("stable")
            self.stable_token = token.value
            return token

    def token_status(self, value: str) -> str:
        """valid | expired | invalid | unknown."""
        with self._lock:
            token = self.tokens.get(value)
            if token is None:
                return "unknown"
            if token.status == "valid" and token.expires_at <= time.time():
                return "expired"
            return token.status

    def mark_tokens(self, status: str) -> int:
        with self._lock:
            for token in self.tokens.values():
                token.status = status
            self.stable_token = None
            return len(self.tokens)

    # users and one-time codes -----------------------------------------------

    def use_code(self, code: str) -> bool:
        """True the first time a code is seen, False on reuse."""
        with self._lock:
            if code in self.used_codes:
                return False
            self.used_codes.add(code)
            return True

    def login(self, openid: str) -> dict[str, Any]:
        with self._lock:
            session_key = base64.b64encode(secrets.token_bytes(16)).decode()
            user = self.users.setdefault(openid, {"openid": openid, "logins": 0})
            user["logins"] += 1
            user["last_login_at"] = int(time.time())
            return {"openid": openid, "session_key": session_key, "unionid": unionid_for(openid)}

    def add_user(self, openid: str) -> None:
        with self._lock:
            self.users.setdefault(openid, {"openid": openid, "logins": 0})

    def knows(self, openid: str) -> bool:
        with self._lock:
            return openid in self.users

    # subscription credits -----------------------------------------------------

    def grant(self, openid: str, template_id: str, count: int) -> int:
        with self._lock:
            key = (openid, template_id)
            self.credits[key] = self.credits.get(key, 0) + count
            return self.credits[key]

    def spend(self, openid: str, template_id: str) -> bool:
        with self._lock:
            key = (openid, template_id)
            if self.credits.get(key, 0) <= 0:
                return False
            self.credits[key] -= 1
            return True

    def subscriptions(self, openid: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"openid": o, "template_id": t, "count": n}
                for (o, t), n in sorted(self.credits.items())
                if openid is None or o == openid
            ]

    def next_msgid(self) -> int:
        with self._lock:
            self._msgid += 1
            return self._msgid

    def record_message(self, kind: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.sent_messages.append({"kind": kind, "at": int(time.time()), "body": body})

    def list_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.sent_messages)

    # media -----------------------------------------------------------------

    def add_media(self, data: bytes, content_type: str) -> tuple[str, int]:
        with self._lock:
            media_id = "sbx_" + secrets.token_urlsafe(24)
            created_at = int(time.time())
            self.media[media_id] = MediaItem(data, content_type, created_at)
            return media_id, created_at

    def get_media(self, media_id: str) -> MediaItem | None:
        with self._lock:
            return self.media.get(media_id)

    def add_media_check(self, check: dict[str, Any]) -> None:
        with self._lock:
            self.media_checks.append(check)

    def list_media_checks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.media_checks)

    # faults ------------------------------------------------------------------

    def add_fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self.faults.setdefault(path, []).append(fault)

    def take_fault(self, path: str) -> Fault | None:
        """The fault to apply to this call to `path`, if any (consumes one of its `times`)."""
        with self._lock:
            queue = self.faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            if not queue:
                del self.faults[path]
            return Fault(fault.errcode, fault.http_status, fault.delay_seconds, 1)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def list_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"path": p, **f.as_dict()} for p, q in self.faults.items() for f in q]

    # recorded calls ----------------------------------------------------------

    def record_call(self, call: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            call = {"seq": self._seq, "time": datetime.now(UTC).isoformat(), **call}
            self.calls.append(call)

    def list_calls(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.calls if path is None or c["path"] == path]

    def clear_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "appid": self.appid,
                "users": sorted(self.users),
                "subscriptions": self.subscriptions(),
                "tokens": len(self.tokens),
                "faults": self.list_faults(),
                "media": len(self.media),
                "media_checks": len(self.media_checks),
                "calls": len(self.calls),
            }
