"""Public shapes of explorer results: one model per `kind`, in one discriminated union.

uint256 values (balances, wei) go out as decimal strings. Decoded call and event arguments
follow `backend.chain.contracts.jsonable`: addresses checksummed, bytes as 0x hex, integers
as numbers below 2**53 and as decimal text from there on.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.columns import Amount
from backend.market.schemas import AdPublic, OrderPublic


class DecodedCall(BaseModel):
    contract: str | None = Field(description="the ABI that decoded the call: a contract name or a token symbol")
    function: str | None = Field(description="null when the selector matches no known function")
    selector: str | None
    args: dict[str, Any]


class DecodedEvent(BaseModel):
    log_index: int
    address: str
    contract: str | None = Field(description="contract name or token symbol; null for a log of another contract")
    name: str | None = Field(description="event name; null when the log could not be decoded")
    args: dict[str, Any]


class ChainEventPublic(BaseModel):
    """An event as the indexer stored it."""

    model_config = ConfigDict(from_attributes=True)
    tx_hash: str
    log_index: int
    block_number: int
    timestamp: int
    contract: str
    name: str
    args: dict[str, Any]


class TxResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    kind: Literal["tx"] = "tx"
    hash: str
    block_number: int | None = Field(description="null while the transaction is pending")
    block_hash: str | None
    timestamp: int | None
    from_: str = Field(alias="from")
    to: str | None = Field(description="null for a contract creation")
    to_name: str | None = Field(description="OtcEscrow, KycRegistry, NodeRegistry or a token symbol")
    contract_address: str | None = Field(description="the contract a creation deployed")
    status: Literal["success", "reverted", "pending"]
    nonce: int
    gas_used: int | None
    value: Amount = Field(description="wei")
    call: DecodedCall | None = Field(description="null for a plain transfer or a contract creation")
    events: list[DecodedEvent]


class BlockResult(BaseModel):
    kind: Literal["block"] = "block"
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    producer: str = Field(description="the block's coinbase (miner)")
    tx_count: int
    transactions: list[str] = Field(description="transaction hashes, at most the first 100")
    gas_used: int
    indexed: bool = Field(description="the indexer has looked at this block")
    accepted: bool | None = Field(description="the indexer trusted the producer; null when not indexed yet")
    refused_reason: str | None


class TokenBalance(BaseModel):
    token: str
    symbol: str | None
    decimals: int | None
    balance: Amount


class KycPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    level: int
    expires_at: int
    record_hash: str
    officer: str
    attested_at: int
    attested_block: int
    revoked: bool
    revoke_reason: str | None


class NodePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    endpoint: str
    hardware_hash: str
    challenge_digest: str
    active: bool
    admitted_block: int
    revoked_reason: str | None


class AddressResult(BaseModel):
    kind: Literal["address"] = "address"
    address: str
    is_contract: bool
    contract_name: str | None = Field(description="set when this is one of the deployment's contracts or tokens")
    balance: Amount = Field(description="native balance in wei")
    tx_count: int = Field(description="transactions sent (the account nonce)")
    token_balances: list[TokenBalance]
    kyc: KycPublic | None
    kyc_verified: bool = Field(description="attested, not revoked and not expired at the chain's time")
    is_authority: bool
    node: NodePublic | None
    authorized: bool = Field(description="NodeRegistry.is_authorized now (authority or admitted node)")
    ads_count: int = Field(description="ads posted (sell or buy)")
    orders_count: int = Field(description="orders as buyer or seller")
    events: list[ChainEventPublic] = Field(description="latest indexed events naming this address, newest first")


class AdResult(AdPublic):
    kind: Literal["ad"] = "ad"
    events: list[ChainEventPublic]


class OrderResult(OrderPublic):
    kind: Literal["order"] = "order"
    events: list[ChainEventPublic]


SearchResult = Annotated[TxResult | BlockResult | AddressResult | AdResult | OrderResult, Field(discriminator="kind")]


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    message: str | None = Field(default=None, description="why nothing was found")
