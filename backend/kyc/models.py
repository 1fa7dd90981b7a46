"""KYC attestations as KycRegistry records them."""

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
