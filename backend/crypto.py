"""Sealing personal data at rest with AES-256-GCM, under a keyring of named keys.

Each sealed value keeps the id of the key that sealed it, so keys can be rotated: new
rows use the current key, old rows still open with theirs. The blob is the 12-byte
random nonce followed by the ciphertext and its tag. `aad` binds a blob to its row (an
id, a column name): a blob copied into another row does not open there.
"""

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class SealError(ValueError):
    """A key is missing or malformed, or a blob does not open (tampered, wrong key or aad)."""


def _key(keyring: Mapping[str, str], key_id: str) -> bytes:
    encoded = keyring.get(key_id)
    if encoded is None:
        raise SealError(f"no key {key_id!r} in the keyring")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"key {key_id!r} is not valid base64") from None
    if len(key) != 32:
        raise SealError(f"key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
    return key


def seal(plaintext: bytes, keyring: Mapping[str, str], key_id: str, *, aad: bytes = b"") -> tuple[str, bytes]:
    """Encrypt `plaintext` with the key `key_id`; returns (key_id, nonce + ciphertext + tag)."""
    nonce = os.urandom(NONCE_BYTES)
    return key_id, nonce + AESGCM(_key(keyring, key_id)).encrypt(nonce, plaintext, aad or None)


def open_sealed(blob: bytes, keyring: Mapping[str, str], key_id: str, *, aad: bytes = b"") -> bytes:
    """The plaintext of a blob from `seal`; SealError when it does not open."""
    if len(blob) < NONCE_BYTES + 16:
        raise SealError("sealed blob is too short")
    try:
        return AESGCM(_key(keyring, key_id)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad or None)
    except InvalidTag:
        raise SealError("sealed blob does not open: tampered, or sealed with another key") from None


def new_key() -> str:
    """A fresh random AES-256 key, base64, for a keyring entry."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
