"""KycRegistry: officer attestations, revocations and the `is_verified` view."""

import ape
import pytest
from conftest import DAY, OFFICER_ROLE
from eth_utils import keccak

ZERO_ADDRESS = "0x" + "00" * 20
RECORD = keccak(text="kyc record #1")
RECORD_2 = keccak(text="kyc record #2")
MISSING_ROLE = "access_control: account is missing role"


@pytest.fixture
def now(chain):
    """Timestamp of the latest block (what view calls see)."""
    return chain.blocks.head.timestamp


def attest(registry, officer, account, level, expires_at, record=RECORD):
    return registry.attest(account, level, expires_at, record, sender=officer)


# ----------------------------------------------------------- deployment


def test_constructor__roles(kyc_registry, admin, officer, other):
    default_admin = kyc_registry.DEFAULT_ADMIN_ROLE()
    assert kyc_registry.OFFICER_ROLE() == OFFICER_ROLE
    assert kyc_registry.MAX_LEVEL() == 3
    assert kyc_registry.hasRole(default_admin, admin)
    assert kyc_registry.hasRole(OFFICER_ROLE, officer)
    assert not kyc_registry.hasRole(OFFICER_ROLE, admin)
    assert not kyc_registry.hasRole(OFFICER_ROLE, other)


def test_constructor__zero_officer_grants_nothing(project, admin):
    registry = admin.deploy(project.KycRegistry, ZERO_ADDRESS)
    assert not registry.hasRole(OFFICER_ROLE, ZERO_ADDRESS)
    assert not registry.hasRole(OFFICER_ROLE, admin)
    assert registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin)


def test_constructor__deployer_may_be_officer(project, admin, other, now):
    registry = admin.deploy(project.KycRegistry, admin)
    assert registry.hasRole(OFFICER_ROLE, admin)
    attest(registry, admin, other, 1, now + DAY)
    assert registry.is_verified(other, 1)


# --------------------------------------------------------------- attest


@pytest.mark.parametrize("level", [1, 2, 3])
def test_attest__records_and_logs(kyc_registry, officer, buyer, now, level):
    expires_at = now + 30 * DAY
    tx = attest(kyc_registry, officer, buyer, level, expires_at)

    assert tx.events == [
        kyc_registry.Attested(account=buyer, officer=officer, level=level, expires_at=expires_at, record_hash=RECORD)
    ]
    record = kyc_registry.attestations(buyer)
    assert record.level == level
    assert record.expires_at == expires_at
    assert record.record_hash == RECORD
    assert record.officer == officer
    assert record.attested_at == tx.timestamp
    assert record.revoked is False


def test_attest__levels(kyc_registry, officer, buyer, now):
    attest(kyc_registry, officer, buyer, 2, now + DAY)
    assert kyc_registry.is_verified(buyer, 0)
    assert kyc_registry.is_verified(buyer, 1)
    assert kyc_registry.is_verified(buyer, 2)
    assert not kyc_registry.is_verified(buyer, 3)


def test_attest__only_officer(kyc_registry, admin, buyer, other, now):
    # Not even the admin may attest without the officer role.
    for caller in (admin, other, buyer):
        with ape.reverts(MISSING_ROLE):
            attest(kyc_registry, caller, buyer, 1, now + DAY)
    assert kyc_registry.attestations(buyer).level == 0


def test_attest__granted_officer_may_attest(kyc_registry, admin, other, buyer, now):
    tx = kyc_registry.grantRole(OFFICER_ROLE, other, sender=admin)
    assert kyc_registry.RoleGranted(role=OFFICER_ROLE, account=other, sender=admin) in tx.events
    attest(kyc_registry, other, buyer, 1, now + DAY)
    assert kyc_registry.attestations(buyer).officer == other


def test_attest__revoked_officer_refused(kyc_registry, admin, officer, buyer, now):
    kyc_registry.revokeRole(OFFICER_ROLE, officer, sender=admin)
    with ape.reverts(MISSING_ROLE):
        attest(kyc_registry, officer, buyer, 1, now + DAY)


def test_attest__zero_address(kyc_registry, officer, now):
    with ape.reverts("kyc_registry: zero address"):
        attest(kyc_registry, officer, ZERO_ADDRESS, 1, now + DAY)


@pytest.mark.parametrize("level", [0, 4, 255])
def test_attest__level_out_of_range(kyc_registry, officer, buyer, now, level):
    with ape.reverts("kyc_registry: level out of range"):
        attest(kyc_registry, officer, buyer, level, now + DAY)


def test_attest__expiry_in_the_past(kyc_registry, officer, buyer, chain):
    # The expiry must be strictly after the block that records it.
    pending = chain.pending_timestamp
    chain.pending_timestamp = pending
    with ape.reverts("kyc_registry: expiry in the past"):
        attest(kyc_registry, officer, buyer, 1, pending)
    with ape.reverts("kyc_registry: expiry in the past"):
        attest(kyc_registry, officer, buyer, 1, 1)


def test_attest__expiry_one_second_ahead(kyc_registry, officer, buyer, chain):
    when = chain.pending_timestamp + 10
    chain.pending_timestamp = when
    attest(kyc_registry, officer, buyer, 1, when + 1)
    assert kyc_registry.is_verified(buyer, 1)


def test_attest__empty_record_hash(kyc_registry, officer, buyer, now):
    with ape.reverts("kyc_registry: empty record hash"):
        attest(kyc_registry, officer, buyer, 1, now + DAY, b"\x00" * 32)


def test_attest__replaces_previous(kyc_registry, officer, admin, other, buyer, now):
    kyc_registry.grantRole(OFFICER_ROLE, other, sender=admin)
    attest(kyc_registry, officer, buyer, 3, now + 10 * DAY)
    tx = attest(kyc_registry, other, buyer, 1, now + DAY, RECORD_2)
    assert tx.events == [
        kyc_registry.Attested(account=buyer, officer=other, level=1, expires_at=now + DAY, record_hash=RECORD_2)
    ]
    record = kyc_registry.attestations(buyer)
    assert (record.level, record.expires_at, record.record_hash, record.officer) == (1, now + DAY, RECORD_2, other)
    assert kyc_registry.is_verified(buyer, 1)
    assert not kyc_registry.is_verified(buyer, 2)


# --------------------------------------------------------------- revoke


def test_revoke__records_and_logs(kyc_registry, officer, buyer, now):
    attest(kyc_registry, officer, buyer, 2, now + DAY)
    tx = kyc_registry.revoke(buyer, "document forged", sender=officer)
    assert tx.events == [kyc_registry.Revoked(account=buyer, officer=officer, reason="document forged")]
    record = kyc_registry.attestations(buyer)
    assert record.revoked is True
    # The rest of the record stays for the audit trail.
    assert record.level == 2
    assert record.record_hash == RECORD
    assert not kyc_registry.is_verified(buyer, 1)
    assert not kyc_registry.is_verified(buyer, 0)


def test_revoke__only_officer(kyc_registry, officer, admin, other, buyer, now):
    attest(kyc_registry, officer, buyer, 1, now + DAY)
    for caller in (admin, other, buyer):
        with ape.reverts(MISSING_ROLE):
            kyc_registry.revoke(buyer, "no reason", sender=caller)
    assert kyc_registry.is_verified(buyer, 1)


def test_revoke__account_not_attested(kyc_registry, officer, other):
    with ape.reverts("kyc_registry: account not attested"):
        kyc_registry.revoke(other, "never attested", sender=officer)


def test_revoke__already_revoked(kyc_registry, officer, buyer, now):
    attest(kyc_registry, officer, buyer, 1, now + DAY)
    kyc_registry.revoke(buyer, "first", sender=officer)
    with ape.reverts("kyc_registry: already revoked"):
        kyc_registry.revoke(buyer, "second", sender=officer)


def test_revoke__reason_required(kyc_registry, officer, buyer, now):
    attest(kyc_registry, officer, buyer, 1, now + DAY)
    with ape.reverts("kyc_registry: reason required"):
        kyc_registry.revoke(buyer, "", sender=officer)
    assert kyc_registry.is_verified(buyer, 1)


def test_revoke__expired_attestation_can_be_revoked(kyc_registry, officer, buyer, chain, now):
    attest(kyc_registry, officer, buyer, 1, now + 100)
    chain.mine(timestamp=now + 1000)
    tx = kyc_registry.revoke(buyer, "expired anyway", sender=officer)
    assert kyc_registry.Revoked(account=buyer, officer=officer, reason="expired anyway") in tx.events
    assert kyc_registry.attestations(buyer).revoked is True


def test_reattest__after_revoke(kyc_registry, officer, buyer, now):
    attest(kyc_registry, officer, buyer, 1, now + DAY)
    kyc_registry.revoke(buyer, "re-check", sender=officer)
    assert not kyc_registry.is_verified(buyer, 1)

    tx = attest(kyc_registry, officer, buyer, 3, now + 2 * DAY, RECORD_2)
    assert (
        kyc_registry.Attested(account=buyer, officer=officer, level=3, expires_at=now + 2 * DAY, record_hash=RECORD_2)
        in tx.events
    )
    record = kyc_registry.attestations(buyer)
    assert record.revoked is False
    assert record.level == 3
    assert kyc_registry.is_verified(buyer, 3)


# ---------------------------------------------------------- is_verified


def test_is_verified__never_attested(kyc_registry, other):
    for level in (0, 1, 2, 3):
        assert not kyc_registry.is_verified(other, level)
    assert not kyc_registry.is_verified(ZERO_ADDRESS, 0)


def test_is_verified__above_max_level(kyc_registry, officer, buyer, now):
    attest(kyc_registry, officer, buyer, 3, now + DAY)
    assert kyc_registry.is_verified(buyer, 3)
    assert not kyc_registry.is_verified(buyer, 4)


def test_is_verified__expiry_honoured(kyc_registry, officer, buyer, chain, now):
    expires_at = now + 1000
    attest(kyc_registry, officer, buyer, 2, expires_at)
    chain.mine(timestamp=expires_at - 1)
    assert chain.blocks.head.timestamp == expires_at - 1
    assert kyc_registry.is_verified(buyer, 2)
    # Expired at exactly `expires_at`.
    chain.mine(timestamp=expires_at)
    assert chain.blocks.head.timestamp == expires_at
    assert not kyc_registry.is_verified(buyer, 1)
    chain.mine(timestamp=expires_at + DAY)
    assert not kyc_registry.is_verified(buyer, 1)
    # The record itself is untouched.
    assert kyc_registry.attestations(buyer).level == 2
    assert kyc_registry.attestations(buyer).revoked is False


def test_is_verified__reattest_after_expiry(kyc_registry, officer, buyer, chain, now):
    attest(kyc_registry, officer, buyer, 1, now + 100)
    chain.mine(timestamp=now + 200)
    assert not kyc_registry.is_verified(buyer, 1)
    later = chain.blocks.head.timestamp
    attest(kyc_registry, officer, buyer, 1, later + DAY)
    assert kyc_registry.is_verified(buyer, 1)


def test_is_verified__per_account(kyc_registry, officer, buyer, seller, now):
    attest(kyc_registry, officer, buyer, 3, now + DAY)
    attest(kyc_registry, officer, seller, 1, now + DAY)
    kyc_registry.revoke(seller, "sanctions hit", sender=officer)
    assert kyc_registry.is_verified(buyer, 3)
    assert not kyc_registry.is_verified(seller, 1)
