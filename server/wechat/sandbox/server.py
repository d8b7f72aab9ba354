"""Running the sandbox: in a background thread for tests, or in the foreground for `make run`."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from server.wechat.sandbox.app import create_sandbox_app

logger = logging.getLogger("server.wechat.sandbox")
_SECRET_QUERY = re.compile(r"((?:access_token|secret|appsecret)=)[^&\s]*")


class _RedactingHandler(WSGIRequestHandler):
    """Logs request lines without access tokens or secrets."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        line = _SECRET_QUERY.sub(r"\1***", self.requestline)
        logger.info('%s "%s" %s', self.address_string(), line, code)


class SandboxServer:
    """The sandbox on a free local port in a daemon thread; `url` ends with a slash.

    with SandboxServer() as sandbox:
        config["WECHAT_API_BASE_URL"] = sandbox.url
        sandbox.control.grant_subscription(openid, template_id)
    """

    def __init__(
        self, app: Flask | None = None, host: str = "127.0.0.1", port: int = 0, **app_kwargs: Any
    ):
        self.app = app or create_sandbox_app(**app_kwargs)
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._control: SandboxControl | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("sandbox server is not running")
        return f"http://{self.host}:{self._server.server_port}/"

    @property
    def state(self):
        """The in-process state, for assertions that the control API does not cover."""
        return self.app.extensions["wechat_sandbox"]

    @property
    def control(self) -> SandboxControl:
        if self._control is None:
            self._control = SandboxControl(self.url)
        return self._control

    def start(self) -> SandboxServer:
        if self._server is not None:
            return self
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_RedactingHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wechat-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SandboxControl:
    """A small client for the sandbox's /sandbox/ control endpoints."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/") + "/sandbox/"
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response.json()

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "calls", params={"path": path} if path else None)

    def clear_calls(self) -> None:
        self._call("DELETE", "calls")

    def reset(self) -> None:
        self._call("POST", "reset")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def fault(
        self,
        path: str,
        errcode: int | None = None,
        http_status: int | None = None,
        times: int = 1,
        delay_seconds: float | None = None,
    ) -> None:
        body = {
            "path": path,
            "errcode": errcode,
            "http_status": http_status,
            "times": times,
            "delay_seconds": delay_seconds,
        }
        self._call("POST", "faults", json=body)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def grant_subscription(self, openid: str, template_id: str, count: int = 1) -> int:
        body = {"openid": openid, "template_id": template_id, "count": count}
        return self._call("POST", "subscriptions", json=body)["count"]

    def subscriptions(self, openid: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "subscriptions", params={"openid": openid} if openid else None)

    def add_user(self, openid: str) -> None:
        self._call("POST", "users", json={"openid": openid})

    def expire_tokens(self) -> None:
        self._call("POST", "tokens/expire")

    def invalidate_tokens(self) -> None:
        self._call("POST", "tokens/invalidate")

    def media_checks(self) -> list[dict[str, Any]]:
        return self._call("GET", "media-checks")

    def messages(self) -> list[dict[str, Any]]:
        return self._call("GET", "messages")

    def upload_media(self, data: bytes, content_type: str = "image/jpeg") -> str:
        files = {"media": ("upload.jpg", data, content_type)}
        return self._call("POST", "media", files=files)["media_id"]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_sandbox(host: str = "127.0.0.1", port: int = 5001, **app_kwargs: Any) -> None:
    """Serve the sandbox in the foreground until interrupted (for `fengchao wechat-sandbox`)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logger.setLevel(logging.INFO)
    app = create_sandbox_app(**app_kwargs)
    server = make_server(host, port, app, threaded=True, request_handler=_RedactingHandler)
    logger.info("WeChat sandbox on http://%s:%s/ (calls: /sandbox/)", host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
