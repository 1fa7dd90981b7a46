"""Chain status and the deployment the frontend needs (chain id, addresses, ABIs)."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import func, select

from backend.chain.deps import ChainDep, IndexerDep
from backend.chain.models import ChainIncident, IndexedBlock
from backend.db import SessionDep
from backend.deps import SettingsDep

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


class DeploymentPublic(BaseModel):
    chain_id: int
    rpc_url: str
    deploy_block: int
    contracts: dict[str, str]
    abis: dict[str, list]
    tokens: list[dict]
    token_abi: list
    relayer: str | None


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
def deployment(chain: ChainDep, settings: SettingsDep) -> DeploymentPublic:
    d = chain.deployment
    return DeploymentPublic(
        chain_id=d.chain_id,
        rpc_url=settings.public_rpc_url or settings.rpc_url,
        deploy_block=d.deploy_block,
        contracts=d.addresses,
        abis=d.abis,
        tokens=d.tokens,
        token_abi=d.token_abi,
        relayer=d.relayer,
    )
