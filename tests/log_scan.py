"""What must never be in a log, in one place: the in-process scan (tests/hardening/test_logs.py)
and the real server's (tests/e2e_server.py) both use `find_leaks`.

Found by shape: login tokens (JWTs: `eyJ….eyJ….`), the word `session_key` (only
`session_key=***` is allowed), full mainland mobile numbers (masked 138****1234 is fine), and
unmasked `access_token=` / `secret=` query values. Found by value: any named secret the caller
passes (SECRET_KEY, PHONE_ENCRYPTION_KEY, WeChat's secret and push token, issued tokens…).
Leaks are reported with the offending text replaced, so the report itself leaks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Not inside a longer run of letters or digits (request ids are hex: 32 characters that may
# hold 11 digits in a row).
FULL_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
SESSION_KEY = re.compile(r"session_key(?!=\*\*\*)")
_SESSION_KEY_VALUE = re.compile(r"(session_key[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)[^\s\"',}&]+")
SECRET_QUERY = re.compile(r"\b(?:access_token|secret|appsecret)=(?!\*\*\*)[^&\s\"']+")
PATTERNS: dict[str, re.Pattern[str]] = {
    "token": JWT,
    "session_key": SESSION_KEY,
    "phone": FULL_PHONE,
    "secret in a URL": SECRET_QUERY,
}


@dataclass(frozen=True)
class Leak:
    line_no: int  # 1-based, in the scanned text
    what: str  # a pattern's name or the secret's name
    line: str  # the line, redacted


def _mask_phone(match: re.Match[str]) -> str:
    number = match.group(0)
    return f"{number[:3]}****{number[-4:]}"


def redact(line: str, secrets: Mapping[str, str] | None = None) -> str:
    """The line with every secret value and leaking pattern replaced."""
    for name, value in sorted((secrets or {}).items(), key=lambda item: -len(item[1] or "")):
        if value:
            line = line.replace(value, f"<{name}>")
    line = JWT.sub("<JWT>", line)
    line = _SESSION_KEY_VALUE.sub(r"\1<redacted>", line)
    line = FULL_PHONE.sub(_mask_phone, line)
    line = SECRET_QUERY.sub(lambda m: m.group(0).split("=", 1)[0] + "=<redacted>", line)
    return line


def find_leaks(text: str, secrets: Mapping[str, str] | None = None) -> list[Leak]:
    """Every (line, kind) of leak in `text`; `secrets` maps a name to a value never to log."""
    named = {name: value for name, value in (secrets or {}).items() if value}
    leaks: list[Leak] = []
    for number, line in enumerate(text.splitlines(), start=1):
        found = [name for name, value in named.items() if value in line]
        found += [name for name, pattern in PATTERNS.items() if pattern.search(line)]
        leaks += [Leak(number, what, redact(line, named)) for what in found]
    return leaks


def describe(leaks: list[Leak]) -> str:
    """One line per offending log line: its number, what leaked, the redacted line."""
    by_line: dict[int, tuple[list[str], str]] = {}
    for leak in leaks:
        by_line.setdefault(leak.line_no, ([], leak.line))[0].append(leak.what)
    return "\n".join(
        f"  line {number} ({', '.join(whats)}): {line}"
        for number, (whats, line) in sorted(by_line.items())
    )
