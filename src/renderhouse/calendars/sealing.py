"""Secrets at rest (CalDAV passwords, Google refresh tokens): Fernet (AES-128-CBC with
HMAC-SHA256, from ``cryptography``) under a key derived with HKDF-SHA256 (RFC 5869) from the
deployment's secret key, so no second key needs keeping. The connection id is bound in as
associated data by prefixing it to the plaintext, so a sealed secret copied onto another
row does not open there.

Rotating the secret key (``renderhouse secret rotate``) makes stored secrets unreadable:
syncs then fail with ``calendar_secret_unreadable`` and the user connects again."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from renderhouse.errors import JobFailed

INFO = b"renderhouse calendar secrets v1"


class Unreadable(JobFailed):
    """The sealed secret does not open under this deployment's key (rotated or tampered)."""

    code = "calendar_secret_unreadable"
    caller_fault = True  # retrying cannot help: the user must connect again


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, connection_id: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(f"{connection_id}\n{plaintext}".encode()).decode()


def unseal(secret_key: str, connection_id: str, sealed: str) -> str:
    try:
        data = _fernet(secret_key).decrypt(sealed.encode()).decode()
    except (InvalidToken, UnicodeDecodeError) as exc:
        raise Unreadable(
            "the calendar's stored credentials cannot be read (the server's secret key "
            "changed); delete the connection and connect the calendar again"
        ) from exc
    bound, _, plaintext = data.partition("\n")
    if bound != connection_id:
        raise Unreadable("the calendar's stored credentials belong to another connection")
    return plaintext
