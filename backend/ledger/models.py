"""Ledger accounts and transfers, after TigerBeetle's data model.

An account holds four running totals (debits and credits, each pending and posted) and
flags; a transfer is immutable once written. A pending transfer is resolved by a later
transfer that names it in `pending_id` (post, void, or the expiry's void); a unique index
on `pending_id` makes "resolved at most once" the database's promise, not the code's.
"""

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# Account flags (TigerBeetle's names).
DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 0  # a user's account: no spending more than it holds
CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 1

# Transfer flags.
PENDING = 1 << 0
POST_PENDING = 1 << 1
VOID_PENDING = 1 << 2
EXPIRED = 1 << 3  # a VOID_PENDING written by the expiry sweep, not by anyone's request


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_account"
    __table_args__ = (UniqueConstraint("owner", "currency", name="uq_ledger_account_owner_currency"),)
    id: int | None = Field(default=None, primary_key=True)
    # A wallet address, or "system:bank" / "system:fees".
    owner: str = Field(max_length=64, index=True)
    currency: str = Field(max_length=3, index=True)
    flags: int = 0
    debits_pending: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    debits_posted: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    credits_pending: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    credits_posted: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    created_at: int


class LedgerTransfer(SQLModel, table=True):
    __tablename__ = "ledger_transfer"
    __table_args__ = (
        # One resolution per pending transfer, whoever races to write it.
        Index("uq_ledger_transfer_pending_id", "pending_id", unique=True),
        Index("ix_ledger_transfer_debit", "debit_account_id", "seq"),
        Index("ix_ledger_transfer_credit", "credit_account_id", "seq"),
    )
    # Commit order: the history's running balance follows it.
    seq: int | None = Field(default=None, primary_key=True)
    # Chosen by the client: the same id again is the same transfer.
    id: str = Field(max_length=128, unique=True)
    debit_account_id: int = Field(foreign_key="ledger_account.id")
    credit_account_id: int = Field(foreign_key="ledger_account.id")
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    flags: int = 0
    pending_id: str | None = Field(default=None, max_length=128)
    # Pending transfers only: unix seconds after which it is voided if still pending.
    expires_at: int | None = Field(default=None, index=True)
    # What it is for: "topup", "withdrawal", "order", "settlement", "adjustment".
    code: str = Field(max_length=16)
    order_id: int | None = Field(default=None, index=True)
    # For an order's payment: keccak256 of the transfer id, the order's payment_ref on chain.
    reference: str | None = Field(default=None, max_length=66, index=True)
    # Settlement transfers: the chain event that caused them (the reorg check reads these).
    event_tx: str | None = Field(default=None, max_length=66)
    event_log: int | None = None
    created_at: int
