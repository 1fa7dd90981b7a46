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


class ChainStatus(BaseModel):
    chain_id: int
    head: int
    indexed: int
    lag_blocks: int
    refused_blocks: int
    error: str | None = None
    error_since: datetime | None = None
    incidents: list[IncidentPublic]


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
    head = chain.w3.eth.block_number
    indexed = indexer.checkpoint()
    refused = session.exec(select(func.count(IndexedBlock.number)).where(IndexedBlock.accepted == False)).one()  # noqa: E712
    incidents = session.exec(select(ChainIncident).order_by(ChainIncident.id.desc()).limit(20)).all()
    failure = indexer.failure
    return ChainStatus(
        chain_id=chain.deployment.chain_id,
        head=head,
        indexed=indexed,
        lag_blocks=max(0, head - indexed),
        refused_blocks=refused,
        error=failure.error if failure else None,
        error_since=failure.since if failure else None,
        incidents=[IncidentPublic.model_validate(i, from_attributes=True) for i in incidents],
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
