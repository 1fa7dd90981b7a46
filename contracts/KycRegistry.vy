# pragma version ~=0.4.3
"""
@title KycRegistry
@notice On-chain attestations that an address passed KYC with the desk.
        Officers attest `(account, level, expires_at, record_hash)`;
        `record_hash` is the hash of the off-chain KYC record, so no
        personal data ever reaches the chain.
"""

from ethereum.ercs import IERC165
implements: IERC165

from snekmate.auth.interfaces import IAccessControl
implements: IAccessControl

from snekmate.auth import access_control
initializes: access_control

exports: access_control.__interface__


# @dev Role of the KYC officers who may attest and revoke.
OFFICER_ROLE: public(constant(bytes32)) = keccak256("OFFICER_ROLE")
# @dev The highest KYC level (1 basic, 2 full, 3 enhanced).
MAX_LEVEL: public(constant(uint8)) = 3


struct Attestation:
    level: uint8
    expires_at: uint64
    record_hash: bytes32
    officer: address
    attested_at: uint64
    revoked: bool


# @dev The current attestation of each account (one per account;
# a new attestation replaces the old one).
attestations: public(HashMap[address, Attestation])


# @dev Emitted when an officer attests an account.
event Attested:
    account: indexed(address)
    officer: indexed(address)
    level: uint8
    expires_at: uint64
    record_hash: bytes32


# @dev Emitted when an officer revokes an account's attestation.
event Revoked:
    account: indexed(address)
    officer: indexed(address)
    reason: String[128]


@deploy
def __init__(officer: address):
    """
    @notice The deployer becomes admin; `officer` (may be the
            deployer) receives the officer role.
    """
    access_control.__init__()
    if officer != empty(address):
        access_control._grant_role(OFFICER_ROLE, officer)


@external
def attest(account: address, level: uint8, expires_at: uint64, record_hash: bytes32):
    """
    @notice Records that `account` passed KYC at `level` until `expires_at`.
    """
    access_control._check_role(OFFICER_ROLE, msg.sender)
    assert account != empty(address), "kyc_registry: zero address"
    assert level >= 1 and level <= MAX_LEVEL, "kyc_registry: level out of range"
    assert convert(expires_at, uint256) > block.timestamp, "kyc_registry: expiry in the past"
    assert record_hash != empty(bytes32), "kyc_registry: empty record hash"
    self.attestations[account] = Attestation(
        level=level,
        expires_at=expires_at,
        record_hash=record_hash,
        officer=msg.sender,
        attested_at=convert(block.timestamp, uint64),
        revoked=False,
    )
    log Attested(account=account, officer=msg.sender, level=level, expires_at=expires_at, record_hash=record_hash)


@external
def revoke(account: address, reason: String[128]):
    """
    @notice Revokes the attestation of `account`, stating why.
    """
    access_control._check_role(OFFICER_ROLE, msg.sender)
    record: Attestation = self.attestations[account]
    assert record.level != 0, "kyc_registry: account not attested"
    assert not record.revoked, "kyc_registry: already revoked"
    assert len(reason) != 0, "kyc_registry: reason required"
    self.attestations[account].revoked = True
    log Revoked(account=account, officer=msg.sender, reason=reason)


@external
@view
def is_verified(account: address, min_level: uint8) -> bool:
    """
    @notice True when `account` holds an unrevoked, unexpired
            attestation of at least `min_level`.
    """
    record: Attestation = self.attestations[account]
    return (
        record.level != 0
        and record.level >= min_level
        and not record.revoked
        and convert(record.expires_at, uint256) > block.timestamp
    )
