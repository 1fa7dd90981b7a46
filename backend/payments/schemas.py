"""Request and response shapes of payment details, terms documents and proofs."""

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

_Text = Field(default="", max_length=128)


class DetailFields(BaseModel):
    bank_name: str = _Text
    holder: str = _Text
    account: str = Field(default="", max_length=64, description="account number or IBAN")
    card_or_wallet: str = Field(default="", max_length=128, description="card number, or the Alipay/WeChat/... id")
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _something_to_pay_to(self):
        if not (self.account.strip() or self.card_or_wallet.strip()):
            raise ValueError("give an account number / IBAN or a card or wallet id: a buyer needs somewhere to pay")
        return self


class DetailCreate(BaseModel):
    method: int = Field(ge=0, le=63, description="the payment-methods bit these details serve (0 bank, 1 Alipay, ...)")
    label: str = Field(default="", max_length=64)
    fields: DetailFields


class DetailPublic(BaseModel):
    id: int
    method: int
    label: str
    fields: DetailFields
    commitment: str
    retired: bool
    created_at: int
    salt: str | None = None


class TermsCreate(BaseModel):
    text: str = Field(default="", max_length=2_000, description="the terms text shown to buyers")
    detail_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default=[], max_length=64)


class TermsPublic(BaseModel):
    terms_hash: str = Field(description="put this on chain as the ad's terms hash")
    document: str = Field(description="canonical JSON: terms_hash = keccak256(document)")
    detail_ids: list[int]


class Commitment(BaseModel):
    ad_id: int
    terms_hash: str
    document: str | None
    computed_hash: str | None
    matches: bool
    how: str


class OrderDetails(BaseModel):
    order_id: int
    fiat: str
    fiat_total_minor: int
    reference: str = Field(description="what to write on the bank transfer")
    terms_hash: str
    committed: bool = Field(
        description="the ad's terms hash commits to these details (see /payments/ads/{id}/commitment)"
    )
    methods: list[DetailPublic]


class ProofPublic(BaseModel):
    id: int
    order_id: int
    record: dict = Field(description="payment_ref = keccak256(canonical JSON of this record)")
    record_hash: str
    is_payment_ref: bool = Field(description="the order was marked paid with this record's hash")
    mime: str | None
    size: int
    created_at: int
