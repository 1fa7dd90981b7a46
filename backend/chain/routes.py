"""Chain status and the deployment the frontend needs (chain id, addresses, ABIs)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlmodel import select

from backend.chain.deps import ChainDep
from backend.chain.models import ChainIncident, IndexedBlock
from backend.db import SessionDep

router = APIRouter(prefix="/chain", tags=["chain"])


class IncidentPublic(BaseModel):
    id: int
    kind: str
    block_number: int
    detail: str


class ChainStatus(BaseModel):
    chain_id: int
    head: int
    indexed: int
    lag_blocks: int
    refused_blocks: int
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
def chain_status(session: SessionDep, chain: ChainDep, request: Request) -> ChainStatus:
    head = chain.w3.eth.block_number
    indexed = request.app.state.indexer.checkpoint()
    refused = session.exec(select(IndexedBlock).where(IndexedBlock.accepted == False)).all()  # noqa: E712
    incidents = session.exec(select(ChainIncident).order_by(ChainIncident.id.desc()).limit(20)).all()
    return ChainStatus(
        chain_id=chain.deployment.chain_id,
        head=head,
        indexed=indexed,
        lag_blocks=max(0, head - indexed),
        refused_blocks=len(refused),
        incidents=[IncidentPublic.model_validate(i, from_attributes=True) for i in incidents],
    )


@router.get("/deployment", response_model=DeploymentPublic)
def deployment(chain: ChainDep, request: Request) -> DeploymentPublic:
    d = chain.deployment
    return DeploymentPublic(
        chain_id=d.chain_id,
        rpc_url=request.app.state.settings.public_rpc_url or request.app.state.settings.rpc_url,
        deploy_block=d.deploy_block,
        contracts=d.addresses,
        abis=d.abis,
        tokens=d.tokens,
        token_abi=d.token_abi,
        relayer=d.relayer,
    )
