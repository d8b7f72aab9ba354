"""Encryption at rest for phone numbers and session keys (Fernet, key from the environment)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    fernet = current_app.extensions.get("fernet")
    if fernet is None:
        secret = current_app.config["PHONE_ENCRYPTION_KEY"].encode()
        fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))
        current_app.extensions["fernet"] = fernet
    return fernet


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str | None:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        return None


def mask_phone(phone: str) -> str:
    """138****1234: the only form a phone number is ever shown in. At least four digits are
    hidden whatever the length (a Hong Kong 5123****... would show seven of eight): the last
    four at most, then the first three only of what is left beyond four hidden ones."""
    digits = phone.strip()
    tail = min(4, max(len(digits) - 4, 0))
    head = min(3, max(len(digits) - tail - 4, 0))
    return digits[:head] + "****" + (digits[-tail:] if tail else "")
