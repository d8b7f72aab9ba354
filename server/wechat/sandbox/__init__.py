"""A local implementation of the WeChat server API (api.weixin.qq.com) for tests and development.

Login codes are `sandbox:<openid>[:<nonce>]`, phone codes `sandbox-phone:<11 digits>[:<nonce>]`;
each works once. Everything it receives is listed at /sandbox/calls (secrets redacted).
"""

from server.wechat.sandbox.app import DEFAULT_APPID, DEFAULT_SECRET, create_sandbox_app
from server.wechat.sandbox.server import SandboxControl, SandboxServer, run_sandbox

__all__ = [
    "DEFAULT_APPID",
    "DEFAULT_SECRET",
    "SandboxControl",
    "SandboxServer",
    "create_sandbox_app",
    "run_sandbox",
]
