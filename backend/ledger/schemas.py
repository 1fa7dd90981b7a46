"""Request and response shapes of the ledger API. Amounts are integers in minor units
(cents); JSON numbers are exact to 2**53, far above the ledger's 15-digit cap."""

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{7,63}$")


class AccountPublic(BaseModel):
    id: int
    owner: str
    currency: str
    flags: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balance: int = Field(description="posted credits minus posted debits")
    held: int = Field(description="pending debits: money on its way out, reserved")
    incoming: int = Field(description="pending credits: money on its way in, not spendable yet")
    available: int = Field(description="balance minus held: what can be spent")


class TransferPublic(BaseModel):
    id: str
    seq: int
    debit_account_id: int
    credit_account_id: int
    debit_owner: str
    credit_owner: str
    amount: int
    currency: str
    flags: int
    kind: Literal["posted", "pending", "post_pending", "void_pending"]
    status: Literal["posted", "pending", "voided", "expired"]
    pending_id: str | None
    expires_at: int | None
    code: str
    order_id: int | None
    reference: str | None
    created_at: int


class HistoryEntryPublic(BaseModel):
    transfer: TransferPublic
    direction: Literal["in", "out"]
    counterparty: str
    posted_delta: int = Field(description="change to the posted balance")
    held_delta: int = Field(description="money put on hold (pending) by this entry")
    balance: int = Field(description="posted balance after this entry")


class History(BaseModel):
    account: AccountPublic | None
    entries: list[HistoryEntryPublic]


class BankRequest(BaseModel):
    """A top-up from, or a withdrawal to, the sandbox bank."""

    id: str = Field(
        description="your idempotency key (8-64 of A-Z a-z 0-9 _ . : -): the same key again is the same transfer"
    )
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])
    amount: int = Field(description="minor units (cents)", examples=[10_000])

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _CLIENT_ID.match(value):
            raise ValueError("id: 8 to 64 characters of letters, digits, _ . : - (a fresh UUID will do)")
        return value


class AdminTransferRequest(BaseModel):
    """A raw ledger transfer between two accounts (staff adjustments), TigerBeetle style."""

    id: str = Field(min_length=1, max_length=100)
    kind: Literal["posted", "pending", "post_pending", "void_pending"] = "posted"
    debit_account_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    credit_account_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    amount: int | None = Field(default=None, description="minor units; a post may leave it out (the full amount)")
    pending_id: str | None = Field(default=None, max_length=128)
    timeout: int | None = Field(default=None, ge=1, le=366 * 24 * 3600, description="seconds; pending only")


class DeskPayment(BaseModel):
    """An order's payment from the buyer's desk balance."""

    order_id: int
    transfer: TransferPublic
    payment_ref: str = Field(description="keccak256 of the transfer id: what mark_paid puts on chain")
    fiat_total_minor: int


class CurrencyCheckPublic(BaseModel):
    currency: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balanced: bool


class CheckPublic(BaseModel):
    ok: bool
    transfers: int
    currencies: list[CurrencyCheckPublic]
    mismatched_accounts: list[int]
    overdrawn_accounts: list[int]
