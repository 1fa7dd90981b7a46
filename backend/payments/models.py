"""Payment details (seller), the public terms documents ads commit to, and proofs (buyer).

Sealed columns hold AES-GCM ciphertext (see crypto.py) with the id of the key that sealed
them. Details are never edited in place: an ad's terms hash commits to a record, so a
change is a new record and the old one is retired, still there for the ads that use it.
"""

from sqlalchemy import JSON, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel


class PaymentDetail(SQLModel, table=True):
    __tablename__ = "payment_detail"
    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=42, index=True)
    method: int = Field(ge=0, le=63)  # the payment-methods bit it serves
    label: str = Field(max_length=64)  # the seller's own name for it, shown to the seller only
    key_id: str = Field(max_length=32)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # fields + salt, as JSON
    # keccak256(salt ‖ canonical JSON of the fields): what a terms document commits to.
    commitment: str = Field(max_length=66, index=True)
    retired: bool = False
    created_at: int


class TermsDocument(SQLModel, table=True):
    """What an ad's on-chain terms_hash is the keccak256 of: public, canonical JSON."""

    __tablename__ = "terms_document"
    terms_hash: str = Field(primary_key=True, max_length=66)
    owner: str = Field(max_length=42, index=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    detail_ids: list = Field(sa_column=Column(JSON, nullable=False))
    created_at: int


class PaymentProof(SQLModel, table=True):
    __tablename__ = "payment_proof"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(index=True)
    buyer: str = Field(max_length=42)
    key_id: str = Field(max_length=32)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # bank reference + salt, as JSON
    sealed_file: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    mime: str | None = Field(default=None, max_length=32)
    size: int = 0
    file_sha256: str | None = Field(default=None, max_length=64)
    # keccak256 of the canonical record: the order's payment_ref on chain.
    record_hash: str = Field(max_length=66, index=True)
    created_at: int
