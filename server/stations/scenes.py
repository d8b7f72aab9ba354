"""Signed QR scenes shared by stations and activities.

A scene is what a mini-program code carries (wxacode.getUnlimited `scene`): at most 32
characters from WeChat's allowed set. Ours is `<kind><id base36>.<signature>`, e.g.
`s1z.4fQk9WcP2hXbT7aZ`: the kind letter ("s" station, "a" activity), the object id in
base36, and a truncated HMAC-SHA256 in base62. The HMAC key combines the app's
SECRET_KEY with the object's own secret, so neither a leaked database nor a leaked
SECRET_KEY alone can forge a code, and rotating the object's secret invalidates every
code printed before.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import unquote

from flask import current_app

from server.errors import DomainError

KINDS = ("s", "a")
SIGNATURE_LENGTH = 16  # base62 characters ≈ 95 bits
MAX_SCENE_LENGTH = 32
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE36 = _BASE62[:36].lower()
_SCENE_RE = re.compile(r"^([a-z])([0-9a-z]{1,12})\.([0-9A-Za-z]{8,24})$")
# What WeChat accepts in a scene (for validating anything we hand to wxacode).
WECHAT_SCENE_RE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


class SceneInvalid(DomainError):
    code = "scene.invalid"
    message = "二维码无法识别，请扫描驿站或活动现场张贴的二维码"
    status = 400


def new_secret() -> str:
    """A fresh per-object secret (store it on the station or activity)."""
    return secrets.token_urlsafe(24)


def _base36(number: int) -> str:
    if number <= 0:
        raise ValueError("object ids are positive")
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_BASE36[rest])
    return "".join(reversed(digits))


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(SIGNATURE_LENGTH, "0")


def _signature(kind: str, object_id: int, secret: str) -> str:
    key = f"{current_app.config['SECRET_KEY']}\x00{secret}".encode()
    digest = hmac.new(key, f"fc-scene:{kind}:{object_id}".encode(), hashlib.sha256).digest()
    return _base62(digest[:12])[-SIGNATURE_LENGTH:]


def make_scene(kind: str, object_id: int, secret: str) -> str:
    """The signed scene for an object, e.g. `s1z.4fQk9WcP2hXbT7aZ` (≤ 32 characters)."""
    if kind not in KINDS:
        raise ValueError(f"unknown scene kind {kind!r}")
    scene = f"{kind}{_base36(int(object_id))}.{_signature(kind, int(object_id), secret)}"
    assert len(scene) <= MAX_SCENE_LENGTH and WECHAT_SCENE_RE.match(scene)
    return scene


def parse_scene(scene: str) -> tuple[str, int, str]:
    """(kind, object id, signature) of a scene, URL-encoded or not; `scene.invalid` otherwise."""
    if not isinstance(scene, str):
        raise SceneInvalid()
    text = scene.strip()
    if "%" in text:
        text = unquote(text)
    # A scanned code may arrive as the whole page query ("scene=s1z.…").
    if text.startswith("scene="):
        text = unquote(text[len("scene=") :])
    match = _SCENE_RE.match(text) if len(text) <= MAX_SCENE_LENGTH else None
    if match is None or match.group(1) not in KINDS:
        raise SceneInvalid()
    object_id = int(match.group(2), 36)
    if object_id <= 0:
        raise SceneInvalid()
    return match.group(1), object_id, match.group(3)


def verify_scene(scene: str, secret: str) -> bool:
    """True when the scene was signed with this object's secret (constant-time compare)."""
    try:
        kind, object_id, signature = parse_scene(scene)
    except SceneInvalid:
        return False
    expected = _signature(kind, object_id, secret)
    return hmac.compare_digest(expected.encode(), signature.encode())
