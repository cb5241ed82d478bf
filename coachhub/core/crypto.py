"""Encryption at rest for secrets such as tenants' LLM API keys (Fernet, AES-128-CBC + HMAC).

The key comes from FIELD_ENCRYPTION_KEY (a Fernet key) or is derived from SECRET_KEY, so the demo
needs no extra setup; production should set its own and keep it out of the database.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with another key: ask the admin to enter it again."""


@functools.cache
def _fernet(key_material: str) -> Fernet:
    if getattr(settings, "FIELD_ENCRYPTION_KEY", ""):
        return Fernet(settings.FIELD_ENCRYPTION_KEY.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"coachhub-field-encryption", info=b"v1").derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(plain: str) -> str:
    if not plain:
        return ""
    return _fernet(settings.SECRET_KEY).encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("The stored API key can't be decrypted; enter it again in AI settings.") from exc
