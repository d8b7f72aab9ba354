"""Mini-program codes (wxacode.getUnlimited) for printed QR scenes, cached in Redis.

Shared by every domain that prints a signed scene (stations, activities): the code comes from
WeChat (the sandbox in development) and is cached per (scene, page, width, build), so printing
a batch of posters does not spend WeChat's quota; rotating a secret changes the scene and so
the key.
"""

from __future__ import annotations

import hashlib
import io

from flask import current_app
from PIL import Image

from server.errors import DomainError, ServiceUnavailable
from server.extensions import get_raw_redis

CACHE_TTL_S = 7 * 24 * 3600


def wxacode_jpeg(scene: str, page: str, width: int, cache_prefix: str, domain: str) -> bytes:
    """The code for `scene` opening `page`, as WeChat returns it (JPEG), cached.

    `cache_prefix` names the object (e.g. "st:qr:12"); `domain` prefixes the refusal codes
    (`<domain>.qrcode_unavailable` 503, `<domain>.qrcode_failed` 502).
    """
    from server.wechat import get_client
    from server.wechat.api import get_wxacode_unlimited
    from server.wechat.errors import WeChatError, WeChatUnavailable

    # the build the code opens is part of the key: after WXACODE_ENV_VERSION changes (a
    # trial build's posters, then the release's), the next print is of the new build
    env_version = current_app.config.get("WXACODE_ENV_VERSION", "release")
    digest = hashlib.sha256(f"{scene}:{width}:{page}:{env_version}".encode()).hexdigest()[:16]
    key = f"{cache_prefix}:{digest}"
    raw = get_raw_redis()
    cached = raw.get(key)
    if cached:
        return cached
    try:
        image = get_wxacode_unlimited(
            get_client(), scene, page=page, width=width, env_version=env_version
        )
    except WeChatUnavailable:
        raise ServiceUnavailable(
            f"{domain}.qrcode_unavailable", "微信服务暂时不可用，请稍后再生成二维码"
        ) from None
    except WeChatError as exc:
        raise DomainError(
            f"{domain}.qrcode_failed",
            f"微信未能生成小程序码（错误码 {exc.errcode}），请联系管理员",
            502,
            {"errcode": exc.errcode},
        ) from None
    raw.set(key, image, ex=CACHE_TTL_S)
    return image


def jpeg_to_png(data: bytes) -> bytes:
    """Re-encode WeChat's JPEG as PNG (what the admin pages and printers are given)."""
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()
