"""AES-GCM sealing with a keyring: each row keeps the id of the key that sealed it, so a
new key (payment_key_id) seals new rows while old rows still open with theirs."""

import base64
import json
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.config import Settings
from backend.errors import DomainError

NONCE_BYTES = 12


class Keyring:
    def __init__(self, keys: dict[str, bytes], current: str):
        if current not in keys:
            raise RuntimeError(f"payment_key_id {current!r} is not in the payment_keys keyring")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise RuntimeError(f"payment key {key_id!r} must be 32 bytes (base64 of 32 random bytes)")
        self.keys = keys
        self.current = current

    def seal(self, plaintext: bytes, *, context: str) -> tuple[str, bytes]:
        """(key id, nonce + ciphertext). `context` is bound as associated data: a sealed
        value moved to another row (another owner, another order) no longer opens."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, context.encode())
        return self.current, nonce + sealed

    def open(self, key_id: str, blob: bytes, *, context: str) -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise DomainError(503, f"the payment key {key_id!r} that sealed this record is not configured")
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())


def keyring_from(settings: Settings) -> Keyring:
    if settings.payment_keys:
        keys = {k: base64.b64decode(v.get_secret_value()) for k, v in settings.payment_keys.items()}
        return Keyring(keys, settings.payment_key_id)
    return _local_keyring(settings.payment_key_file, settings.payment_key_id)


@lru_cache
def _local_keyring(path: Path, key_id: str) -> Keyring:
    """A random key made once for a local run (mode 0600); production sets the keyring."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({key_id: base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}, handle)
        try:
            os.link(draft, path)  # atomic: of two processes starting at once, one key wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    keys = {k: base64.b64decode(v) for k, v in json.loads(path.read_text()).items()}
    if key_id not in keys:
        raise RuntimeError(f"payment_key_id {key_id!r} is not in {path}")
    return Keyring(keys, key_id)
