"""The one factory for the WeChat client: base URL from settings, token in Redis, bounded retry.

Differences from a plain wechatpy 2.0.0a26 `WeChatClient` (see /work/shared/WECHAT.md):
- every URL, including the token fetch and hard-coded ones, goes to `WECHAT_API_BASE_URL`;
- tokens come from `/cgi-bin/stable_token` (idempotent, so concurrent workers do no harm) and
  live in Redis, shared by every worker;
- wechatpy's unbounded auto-retry is off; on 40001/40014/42001 the token is fetched again once
  and the call retried once;
- failures raise `WeChatError` / `WeChatUnavailable`, whose messages carry no secrets.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from wechatpy.client import WeChatClient
from wechatpy.client.api import WeChatMedia
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.session.redisstorage import RedisStorage

from server.wechat.errors import WeChatError, WeChatUnavailable, error_for

logger = logging.getLogger(__name__)

OFFICIAL_BASE_URL = "https://api.weixin.qq.com/"
DEFAULT_TIMEOUT = 5.0
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
_SECRET_QUERY = re.compile(r"((?:access_token|secret|appsecret|session_key)=)[^&\s\"']*")


def redact_url(text: str) -> str:
    """`text` with access_token / secret query values replaced by ***."""
    return _SECRET_QUERY.sub(r"\1***", text)


class _RedactingFilter(logging.Filter):
    """urllib3 logs request lines (with ?access_token=…) at DEBUG; keep tokens out of logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        return True


def _install_log_redaction() -> None:
    target = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactingFilter) for f in target.filters):
        target.addFilter(_RedactingFilter())


_install_log_redaction()


class _RebasingSession(requests.Session):
    """Sends anything addressed to api.weixin.qq.com to the configured base URL instead."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if isinstance(url, str) and url.startswith(OFFICIAL_BASE_URL):
            url = self.base_url + url[len(OFFICIAL_BASE_URL) :]
        return super().request(method, url, *args, **kwargs)


class _Media(WeChatMedia):
    def get_url(self, media_id: str) -> str:
        base = self._client.api_base_url
        return f"{base}cgi-bin/media/get?access_token={self.access_token}&media_id={media_id}"


def _counting_errors(func):
    """Count each WeChatError leaving the client once in WECHAT_API_ERRORS (/metrics).

    On the two ways out of the client (`_request`, which every API call goes through, and
    `fetch_access_token`); an error already counted on its way through the inner one is not
    counted again, and a rejected token that the retry recovers from never leaves.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WeChatError as exc:
            if not getattr(exc, "_fc_counted", False):
                exc._fc_counted = True
                from server.ops.metrics import record_wechat_error

                record_wechat_error(exc)
            raise

    return wrapper


class FengchaoWeChatClient(WeChatClient):
    """wechatpy's WeChatClient with a configurable base URL, stable tokens and bounded retry."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base_url: str = OFFICIAL_BASE_URL,
        session: Any = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ):
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        base = api_base_url.rstrip("/") + "/"
        self.api_base_url = base
        self._http.close()
        self._http = _RebasingSession(base)
        self.API_BASE_URL = base + "cgi-bin/"
        for api in list(vars(self).values()):
            if not isinstance(api, BaseWeChatAPI):
                continue
            official = getattr(type(api), "API_BASE_URL", "")
            if official.startswith(OFFICIAL_BASE_URL):
                api.API_BASE_URL = base + official[len(OFFICIAL_BASE_URL) :]
        self.media = _Media(self)

    def __repr__(self) -> str:
        return f"<FengchaoWeChatClient appid={self.appid} base={self.api_base_url}>"

    def close(self) -> None:
        """Close pooled HTTP connections."""
        self._http.close()

    # tokens ------------------------------------------------------------------

    @_counting_errors
    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch a token via /cgi-bin/stable_token (normal mode) and store it in the session."""
        path = "/cgi-bin/stable_token"
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": False,
        }
        logger.info("fetching a WeChat access token (appid %s)", self.appid)
        response = self._send("post", self.api_base_url + "cgi-bin/stable_token", path, json=body)
        result = self._decode_result(response)
        if not isinstance(result, dict) or not result.get("access_token"):
            errcode = result.get("errcode") if isinstance(result, dict) else None
            if errcode:
                raise error_for(int(errcode), self._clean(result.get("errmsg")), path)
            raise WeChatUnavailable(None, "the token answer carried no access_token", path=path)
        expires_in = int(result.get("expires_in") or 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    # requests ----------------------------------------------------------------

    @_counting_errors
    def _request(self, method, url_or_endpoint, **kwargs):
        """One call; on a rejected token, fetch a new one and retry exactly once."""
        try:
            return self._request_once(method, url_or_endpoint, kwargs)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            logger.warning(
                "WeChat rejected the access token (errcode %s on %s); refreshing once",
                exc.errcode,
                exc.path,
            )
        self.fetch_access_token()
        return self._request_once(method, url_or_endpoint, kwargs)

    def _request_once(self, method: str, url_or_endpoint: str, kwargs: dict[str, Any]) -> Any:
        kwargs = dict(kwargs)
        api_base_url = kwargs.pop("api_base_url", self.API_BASE_URL)
        if url_or_endpoint.startswith(("http://", "https://")):
            url = url_or_endpoint
        else:
            url = f"{api_base_url}{url_or_endpoint}"
        with_token = kwargs.pop("with_access_token", True)
        params = kwargs.get("params")
        params = dict(params) if isinstance(params, Mapping) else ({} if params is None else params)
        if with_token and isinstance(params, dict) and "access_token" not in params:
            params["access_token"] = self.access_token
        kwargs["params"] = params
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = json.dumps(kwargs["data"], ensure_ascii=False).encode("utf-8")
        result_processor = kwargs.pop("result_processor", None)
        path = urlsplit(url).path
        response = self._send(method, url, path, **kwargs)
        result = self._decode_result(response)
        if not isinstance(result, dict):
            return result  # binary answers: images, media
        errcode = _as_int(result.get("errcode", 0))
        if errcode:
            raise error_for(errcode, self._clean(result.get("errmsg")), path)
        return result_processor(result) if result_processor else result

    def _send(self, method: str, url: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self._http.request(method=method, url=url, **kwargs)
        except requests.Timeout:
            raise WeChatUnavailable(
                None, f"timed out after {kwargs['timeout']}s", path=path
            ) from None
        except requests.RequestException as exc:
            raise WeChatUnavailable(None, type(exc).__name__, path=path) from None
        if response.status_code >= 500:
            raise WeChatUnavailable(None, f"HTTP {response.status_code}", path=path)
        if response.status_code >= 400:
            result = self._decode_result(response)
            if isinstance(result, dict) and _as_int(result.get("errcode", 0)):
                raise error_for(_as_int(result["errcode"]), self._clean(result.get("errmsg")), path)
            raise WeChatError(None, f"HTTP {response.status_code}", path=path)
        return response

    def _clean(self, errmsg: Any) -> str:
        text = redact_url(str(errmsg or ""))
        return text.replace(self.secret, "***") if self.secret else text


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def build_client(config: Mapping[str, Any], redis: Any) -> FengchaoWeChatClient:
    """The app's mini-program client: WECHAT_APPID, WECHAT_SECRET, WECHAT_TIMEOUT (s),
    WECHAT_API_BASE_URL (default WeChat's own); the token is shared through `redis`."""
    appid, secret = config.get("WECHAT_APPID"), config.get("WECHAT_SECRET")
    if not appid or not secret:
        raise ValueError("WECHAT_APPID and WECHAT_SECRET must be set to build a WeChat client")
    timeout = config.get("WECHAT_TIMEOUT")
    return FengchaoWeChatClient(
        appid,
        secret,
        api_base_url=config.get("WECHAT_API_BASE_URL") or OFFICIAL_BASE_URL,
        session=RedisStorage(redis, prefix="wechatpy"),
        timeout=float(timeout) if timeout else DEFAULT_TIMEOUT,
    )
