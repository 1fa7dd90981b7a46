"""Request and response shapes of the KYC domain."""

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["processing", "retake", "submitted", "approved", "rejected", "withdrawn", "revoked"]


class ApplicationPublic(BaseModel):
    """What the applicant sees of their own application."""

    id: int
    account: str
    status: Status
    reason_code: str | None = Field(description="Why a retake or a rejection, as a code the page translates")
    reason: str | None
    created_at: int
    updated_at: int
    decided_at: int | None
    level: int | None
    expires_at: int | None
    attest_tx: str | None


class MyKyc(BaseModel):
    application: ApplicationPublic | None
    verified: bool = Field(description="KycRegistry.is_verified(account, required level or 1) now")
    required_level: int = Field(description="The escrow's KYC switch: 0 when trading needs no KYC")


class Eligibility(BaseModel):
    address: str
    required_level: int
    verified: bool
    can_trade: bool


class AttestationPublic(BaseModel):
    level: int
    expires_at: int
    record_hash: str
    officer: str
    attested_at: int
    revoked: bool
    revoke_reason: str | None


class ApplicationSummary(BaseModel):
    """A row of the officer's queue."""

    id: int
    account: str
    status: Status
    created_at: int
    distance: float | None
    match: str | None
    liveness_passed: bool | None
    reason: str | None


class ApplicationDetail(ApplicationSummary):
    """All an officer needs to decide (images come from their own URLs)."""

    reason_code: str | None
    updated_at: int
    decided_at: int | None
    document_type: str
    document_number: str | None = Field(description="Decrypted for the officer; null once erased")
    frame_count: int
    frame_distances: list[float] | None
    liveness: dict | None
    timings_ms: dict | None
    accept_distance: float
    reject_distance: float
    record_hash: str | None
    level: int | None
    expires_at: int | None
    attest_tx: str | None
    revoke_tx: str | None
    erased: bool
    history: list[ApplicationSummary] = Field(description="The same account's other applications, newest first")
    attestation: AttestationPublic | None = Field(description="What KycRegistry holds for the account (indexed)")


class QueuePage(BaseModel):
    items: list[ApplicationSummary]
    total: int


class ApproveRequest(BaseModel):
    level: int = Field(ge=1, le=3, description="1 basic, 2 full, 3 enhanced")
    expires_at: int | None = Field(default=None, gt=0, lt=2**63, description="Unix time; default: now + validity days")
    valid_days: int | None = Field(default=None, ge=1, le=3650)


class ReasonRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=128)


class AuditEntryPublic(BaseModel):
    seq: int
    at: int
    actor: str
    action: str
    application_id: int | None
    account: str | None
    record_hash: str | None
    detail: str
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    total: int


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    head: str | None
    first_bad_seq: int | None
    problem: str | None


class RetentionResult(BaseModel):
    erased: list[int]
