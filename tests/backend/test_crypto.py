"""AES-GCM sealing of personal data, and the keys the app refuses off a local chain."""

import pytest
from pydantic import SecretStr

from backend.config import ANVIL_RELAYER_KEY, Settings, check_keys_for_chain
from backend.crypto import SealError, new_key, open_sealed, seal

RING = {"k1": new_key(), "k2": new_key()}


def test_seal__round_trip_with_a_fresh_nonce_each_time():
    key_id, blob = seal(b"P-1234567", RING, "k1", aad=b"row:1")
    assert key_id == "k1" and b"P-1234567" not in blob
    assert open_sealed(blob, RING, "k1", aad=b"row:1") == b"P-1234567"
    assert seal(b"P-1234567", RING, "k1", aad=b"row:1")[1] != blob  # same plaintext, other ciphertext


def test_seal__rotation_old_rows_open_with_their_key():
    _, old = seal(b"old", RING, "k1")
    _, new = seal(b"new", RING, "k2")
    assert open_sealed(old, RING, "k1") == b"old" and open_sealed(new, RING, "k2") == b"new"
    with pytest.raises(SealError, match="does not open"):
        open_sealed(old, RING, "k2")


@pytest.mark.parametrize("change", ["flip", "aad", "short"])
def test_open_sealed__tampering_detected(change):
    _, blob = seal(b"selfie bytes", RING, "k1", aad=b"row:1:selfie")
    if change == "flip":
        blob = blob[:-1] + bytes([blob[-1] ^ 1])
    aad = b"row:2:selfie" if change == "aad" else b"row:1:selfie"  # copied into another row
    if change == "short":
        blob = blob[:10]
    with pytest.raises(SealError):
        open_sealed(blob, RING, "k1", aad=aad)


def test_seal__bad_keys_refused():
    with pytest.raises(SealError, match="no key 'nope'"):
        seal(b"x", RING, "nope")
    with pytest.raises(SealError, match="must be 32 bytes"):
        seal(b"x", {"short": "c2hvcnQ="}, "short")
    with pytest.raises(SealError, match="not valid base64"):
        seal(b"x", {"bad": "%%%"}, "bad")


def test_check_keys_for_chain__anvil_officer_key_and_local_kyc_key_refused_off_local():
    other_relayer = SecretStr("0x" + "11" * 32)
    check_keys_for_chain(Settings(), 31337)  # local: the well-known keys are fine
    # The relayer key is checked where it is used (the own-key fallback); the authority keys by the nodes' tests.
    remote = dict(authority_keys=[], relay_fallback_to_own_key=True)
    with pytest.raises(RuntimeError, match="relayer key"):
        check_keys_for_chain(Settings(relayer_private_key=SecretStr(ANVIL_RELAYER_KEY), **remote), 1)
    with pytest.raises(RuntimeError, match="deployer key as the KYC officer"):
        check_keys_for_chain(Settings(relayer_private_key=other_relayer, **remote), 1)
    officer = SecretStr("0x" + "22" * 32)
    with pytest.raises(RuntimeError, match="published local KYC key"):
        check_keys_for_chain(Settings(relayer_private_key=other_relayer, kyc_officer_private_key=officer, **remote), 1)
    own = {"prod-1": SecretStr(new_key())}
    check_keys_for_chain(
        Settings(relayer_private_key=other_relayer, kyc_officer_private_key=officer, kyc_keys=own, **remote), 1
    )
