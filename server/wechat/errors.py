"""What a call to WeChat can raise. Messages never carry secrets, tokens or session keys."""

from __future__ import annotations

RATE_LIMITED = frozenset({45009, 45011})
SYSTEM_BUSY = -1


class WeChatError(Exception):
    """WeChat refused the call: `errcode` is WeChat's (None when only an HTTP status came back)."""

    def __init__(self, errcode: int | None, errmsg: str = "", *, path: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        where = f"{path}: " if path else ""
        said = f"WeChat errcode {errcode}: {errmsg}" if errcode is not None else errmsg
        # nothing came back from WeChat (network, timeout, HTTP status): say only what failed
        super().__init__(f"{where}{said or 'no answer from WeChat'}".strip())


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached or is busy (network error, timeout, HTTP 5xx, errcode -1).

    Safe to retry later; the caller decides when.
    """


class WeChatRateLimited(WeChatError):
    """WeChat's rate limit or daily quota (45009, 45011): retry later, more slowly."""


def error_for(errcode: int | None, errmsg: str, path: str = "") -> WeChatError:
    """The exception class that fits a WeChat errcode."""
    if errcode == SYSTEM_BUSY:
        return WeChatUnavailable(errcode, errmsg, path=path)
    if errcode in RATE_LIMITED:
        return WeChatRateLimited(errcode, errmsg, path=path)
    return WeChatError(errcode, errmsg, path=path)
