"""Request and response shapes of the relay: gasless mark paid, release and cancel."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from backend.validation import Address, Hash32

RelayAction = Literal["mark_paid", "release", "cancel"]

_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
ZERO_HASH = "0x" + "00" * 32


def _signature(value: str) -> str:
    if not _SIGNATURE.match(value):
        raise ValueError("not a signature: expected 0x followed by 130 hex digits (65 bytes: r, s, v)")
    return value.lower()


OrderId = Annotated[int, Field(ge=1, le=2**256 - 1, examples=[1])]
Uint256 = Annotated[int, Field(ge=0, le=2**256 - 1)]
Signature = Annotated[str, Field(examples=["0x" + "ab" * 65]), AfterValidator(_signature)]


class RelayActionBase(BaseModel):
    action: RelayAction
    order_id: OrderId
    payment_ref: Hash32 | None = Field(
        default=None, description="mark_paid only: the hash tying the order to the ledger payment"
    )

    @model_validator(mode="after")
    def _payment_ref_fits_action(self):
        if self.action == "mark_paid":
            if self.payment_ref is None:
                raise ValueError("payment_ref is required for mark_paid: 0x followed by 64 hex digits")
            if self.payment_ref == ZERO_HASH:
                raise ValueError("payment_ref must not be zero: the escrow refuses an empty payment reference")
        elif self.payment_ref is not None:
            raise ValueError(f"payment_ref is only for mark_paid, not {self.action}")
        return self


class RelayPrepareRequest(RelayActionBase):
    pass


class RelaySubmitRequest(RelayActionBase):
    nonce: Uint256 = Field(description="as returned by /relay/prepare")
    deadline: Uint256 = Field(description="unix seconds, as returned by /relay/prepare")
    signature: Signature


class TypedDataField(BaseModel):
    name: str
    type: str


class TypedDataDomain(BaseModel):
    name: str
    version: str
    chainId: int
    verifyingContract: str


class TypedData(BaseModel):
    """EIP-712 typed data for `eth_signTypedData_v4`; uint256 values are decimal strings.

    ethers' `signTypedData(domain, types, message)` wants `types` without `EIP712Domain`.
    """

    types: dict[str, list[TypedDataField]]
    primaryType: str
    domain: TypedDataDomain
    message: dict[str, str]


class RelayPrepared(BaseModel):
    action: RelayAction
    order_id: int
    payment_ref: str | None
    signer: Address = Field(description="who must sign: the buyer for mark_paid and cancel, the seller for release")
    nonce: int = Field(description="the signer's next relay nonce in the escrow")
    deadline: int = Field(description="unix seconds: chain time + 10 minutes")
    typed_data: TypedData


class RelayResult(BaseModel):
    tx_hash: str
    status: Literal["submitted", "mined"] = Field(
        description="mined: included and succeeded; submitted: sent, no receipt yet within the wait"
    )
    block_number: int | None = None
    signer: str
    relayer: str = Field(description="the address that sent the transaction and paid its gas")
    node: str = Field(description="the node that sent it: an admitted node agent, or the desk's own relayer key")
    endpoint: str | None = Field(
        default=None, description="the node agent's endpoint; null when the desk's own key sent it"
    )
