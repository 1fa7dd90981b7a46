"""KYC: applications (personal data sealed at rest), the officers' audit log, and the
attestations KycRegistry records."""

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class KycAttestation(SQLModel, table=True):
    __tablename__ = "kyc_attestation"
    account: str = Field(primary_key=True, max_length=42)
    level: int
    expires_at: int
    record_hash: str = Field(max_length=66)
    officer: str = Field(max_length=42)
    attested_at: int
    attested_block: int
    revoked: bool = False
    revoke_reason: str | None = Field(default=None, max_length=128)


class KycApplication(SQLModel, table=True):
    """One application: a document photo and selfie frames, what the face check found,
    and what the officer decided. Images and the document number are AES-GCM sealed
    under `key_id`; erasing drops them and keeps the figures and hashes."""

    __tablename__ = "kyc_application"
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=42, index=True)
    user_id: int = Field(index=True)
    # processing -> retake | rejected | submitted -> approved -> revoked; submitted -> withdrawn
    status: str = Field(max_length=16, index=True)
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=256)
    created_at: int = Field(index=True)
    updated_at: int
    decided_at: int | None = None

    # what the face work found
    document_type: str = Field(max_length=16)
    frame_count: int
    distance: float | None = None  # selfie frames to the document (median)
    frame_distances: list | None = Field(default=None, sa_column=Column(JSON))
    match: str | None = Field(default=None, max_length=16)  # match | review | mismatch
    liveness_passed: bool | None = None
    liveness: dict | None = Field(default=None, sa_column=Column(JSON))
    timings_ms: dict | None = Field(default=None, sa_column=Column(JSON))

    # personal data, sealed; hashes of the plaintexts go into the record hash
    key_id: str | None = Field(default=None, max_length=32)
    document_image: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    document_image_type: str | None = Field(default=None, max_length=16)
    selfie_image: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    selfie_image_type: str | None = Field(default=None, max_length=16)
    document_number: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    document_sha256: str = Field(max_length=64)
    selfie_sha256: str | None = Field(default=None, max_length=64)
    document_number_sha256: str = Field(max_length=64)
    salt: str = Field(max_length=64)  # keeps the record hash from being brute-forced back to a number
    record_hash: str | None = Field(default=None, max_length=66)
    erased_at: int | None = None

    # the officer's decision and the chain
    officer_id: int | None = None
    level: int | None = None
    expires_at: int | None = None
    attest_tx: str | None = Field(default=None, max_length=66)
    revoke_tx: str | None = Field(default=None, max_length=66)


class KycAuditEntry(SQLModel, table=True):
    """Append-only: each entry's hash covers its fields and the previous entry's hash,
    so editing or deleting any entry breaks every hash after it."""

    __tablename__ = "kyc_audit"
    __table_args__ = (UniqueConstraint("seq", name="uq_kyc_audit_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    seq: int
    at: int
    actor: str = Field(max_length=128)
    action: str = Field(max_length=32)
    application_id: int | None = Field(default=None, index=True)
    account: str | None = Field(default=None, max_length=42, index=True)
    record_hash: str | None = Field(default=None, max_length=66)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
