"""Chain status and the deployment the frontend needs (chain id, addresses, ABIs, the
escrow's rules and vocabulary)."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import func, select

from backend.chain.deps import ChainDep, IndexerDep
from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.protocol import CancelCode, CancelReason, OrderStatus, StatusCode

router = APIRouter(prefix="/chain", tags=["chain"])


class IncidentPublic(BaseModel):
    id: int
    kind: str
    block_number: int
    tx_hash: str | None
    log_index: int | None
    detail: str
    created_at: datetime


class RefusedBlockPublic(BaseModel):
    number: int
    producer: str
    reason: str | None
    desk_logs: int


class ChainStatus(BaseModel):
    """What an operator needs first: is the desk's view of the chain whole, and if not, why."""

    healthy: bool
    problems: list[str]
    producer_check: bool
    refused_blocks: int
    refused_with_desk_logs: int
    last_refused: list[RefusedBlockPublic]
    incidents: list[IncidentPublic]
    error: str | None = None
    error_since: datetime | None = None
    chain_id: int
    head: int
    indexed: int
    lag_blocks: int


class OrderStatusPublic(BaseModel):
    name: OrderStatus
    code: int  # the contract's STATUS_* value
    ended: bool  # nothing more can happen to the order


class CancelReasonPublic(BaseModel):
    code: int  # `OrderCancelled.reason` as the contract emits it
    reason: CancelReason


class ProtocolPublic(BaseModel):
    """The escrow's rules as the deployed contract states them, and the order vocabulary."""

    seller_dispute_grace: int  # seconds after mark_paid before the seller may dispute
    min_payment_window: int  # seconds
    max_payment_window: int  # seconds; also caps how far an extension may push a deadline
    max_fee_bps: int
    fee_bps: int  # the fee on orders opened now (each order keeps the fee it opened with)
    statuses: list[OrderStatusPublic]
    cancel_reasons: list[CancelReasonPublic]


class TokenPublic(BaseModel):
    address: str
    symbol: str
    decimals: int
    name: str


class DeploymentPublic(BaseModel):
    chain_id: int
    rpc_url: str
    deploy_block: int
    contracts: dict[str, str]
    abis: dict[str, list[dict]]
    tokens: list[TokenPublic]
    token_abi: list[dict]
    relayer: str | None
    protocol: ProtocolPublic


@router.get("/status", response_model=ChainStatus)
def chain_status(session: SessionDep, chain: ChainDep, indexer: IndexerDep) -> ChainStatus:
    """`healthy` is false while the indexer fails or while the desk's events are being
    refused (the latest block that carried any was refused); `problems` says why."""
    head = chain.w3.eth.block_number
    indexed = indexer.checkpoint()
    refused = IndexedBlock.accepted == False  # noqa: E712
    refused_count = session.exec(select(func.count(IndexedBlock.number)).where(refused)).one()
    refused_with_logs = session.exec(
        select(func.count(IndexedBlock.number)).where(refused, IndexedBlock.desk_logs > 0)
    ).one()
    last_refused = session.exec(select(IndexedBlock).where(refused).order_by(IndexedBlock.number.desc()).limit(5)).all()
    latest_with_logs = session.exec(
        select(IndexedBlock).where(IndexedBlock.desk_logs > 0).order_by(IndexedBlock.number.desc()).limit(1)
    ).first()
    incidents = session.exec(select(ChainIncident).order_by(ChainIncident.id.desc()).limit(20)).all()
    failure = indexer.failure

    problems = []
    if failure is not None:
        problems.append(f"the indexer fails since {failure.since:%Y-%m-%d %H:%M:%S} UTC: {failure.error}")
    if latest_with_logs is not None and not latest_with_logs.accepted:
        problems.append(
            f"blocks with the desk's events are being refused: block {latest_with_logs.number} "
            f"({latest_with_logs.desk_logs} log(s)) came from {latest_with_logs.producer}, which NodeRegistry "
            "does not authorize; admit that producer or run with the producer check off"
        )
    return ChainStatus(
        healthy=not problems,
        problems=problems,
        producer_check=indexer.producer_check,
        refused_blocks=refused_count,
        refused_with_desk_logs=refused_with_logs,
        last_refused=[RefusedBlockPublic.model_validate(b, from_attributes=True) for b in last_refused],
        incidents=[IncidentPublic.model_validate(i, from_attributes=True) for i in incidents],
        error=failure.error if failure else None,
        error_since=failure.since if failure else None,
        chain_id=chain.deployment.chain_id,
        head=head,
        indexed=indexed,
        lag_blocks=max(0, head - indexed),
    )


@router.get("/deployment", response_model=DeploymentPublic)
def deployment(session: SessionDep, chain: ChainDep, settings: SettingsDep) -> DeploymentPublic:
    d = chain.deployment
    rules = chain.rules()
    return DeploymentPublic(
        chain_id=d.chain_id,
        rpc_url=settings.public_rpc_url or settings.rpc_url,
        deploy_block=d.deploy_block,
        contracts=d.addresses,
        abis=d.abis,
        tokens=d.tokens,
        token_abi=d.token_abi,
        relayer=d.relayer,
        protocol=ProtocolPublic(
            seller_dispute_grace=rules.seller_dispute_grace,
            min_payment_window=rules.min_payment_window,
            max_payment_window=rules.max_payment_window,
            max_fee_bps=rules.max_fee_bps,
            fee_bps=_indexed_fee_bps(session, default=rules.fee_bps),
            statuses=[OrderStatusPublic(name=s, code=StatusCode[s.name], ended=s.ended) for s in OrderStatus],
            cancel_reasons=[CancelReasonPublic(code=c, reason=CancelReason[c.name]) for c in CancelCode],
        ),
    )


def _indexed_fee_bps(session, *, default: int) -> int:
    """The fee as the indexer last saw it change, so every process (and a standalone
    indexer's) agrees; before any change, the rate read from the contract at start-up."""
    latest = session.exec(
        select(ChainEvent.args)
        .where(ChainEvent.contract == "OtcEscrow", ChainEvent.name == "FeeChanged")
        .order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc())
        .limit(1)
    ).first()
    return int(latest["fee_bps"]) if latest else default
