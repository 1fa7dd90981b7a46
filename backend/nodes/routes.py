"""Permissioned nodes: challenges and answers (admission), heartbeats, the network's status,
and revocations by the authorities' quorum."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.auth.deps import AdminUser
from backend.chain.deps import ChainDep
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.nodes import service
from backend.nodes.schemas import (
    AdmissionPublic,
    ApprovalRequest,
    AuthorityPublic,
    ChallengeAnswer,
    ChallengePublic,
    ChallengeRequest,
    HeartbeatPublic,
    HeartbeatRequest,
    NetworkStatus,
    ProposalResult,
    RevocationRequest,
)
from backend.validation import Address, RowId

router = APIRouter(prefix="/nodes", tags=["nodes"])


@router.get(
    "/authorities",
    response_model=list[AuthorityPublic],
    summary="The authority keys this backend decides with: a candidate asks each for a challenge",
)
def authorities(chain: ChainDep, settings: SettingsDep) -> list[AuthorityPublic]:
    return service.list_authorities(chain=chain, settings=settings)


@router.post(
    "/challenges",
    response_model=ChallengePublic,
    status_code=201,
    summary="A single-use challenge for a candidate node: random packets, a nonce, a deadline",
    responses={
        403: {"description": "the candidate was revoked"},
        404: {"description": "the authority asked for is not held here"},
        409: {"description": "the candidate is already admitted"},
        429: {"description": "too many open challenges for this candidate"},
        503: {"description": "no authority key held, or the chain node is unreachable"},
    },
)
def create_challenge(
    body: ChallengeRequest, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> ChallengePublic:
    return service.issue_challenge(
        session=session, chain=chain, settings=settings, candidate=body.candidate, authority=body.authority
    )


@router.post(
    "/challenges/{challenge_id}/answer",
    response_model=AdmissionPublic,
    summary="Answer a challenge: results, hardware report, signature; the authority key decides",
    responses={
        400: {"description": "wrong results, or not signed by the candidate"},
        403: {"description": "hardware under the minimums, or the candidate was revoked"},
        404: {"description": "no such challenge"},
        409: {"description": "the challenge was already answered"},
        410: {"description": "the answer came after the deadline"},
        503: {"description": "the authority could not send its transaction"},
    },
)
def answer(
    challenge_id: Annotated[str, Path(max_length=32)],
    body: ChallengeAnswer,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> AdmissionPublic:
    return service.answer_challenge(
        session=session, chain=chain, settings=settings, challenge_id=challenge_id, answer=body
    )


@router.get("/admissions", response_model=list[AdmissionPublic], summary="Admission decisions with their reasons")
def admissions(
    session: SessionDep, candidate: Address | None = None, limit: int = Query(100, ge=1, le=500)
) -> list[AdmissionPublic]:
    return service.admissions(session=session, candidate=candidate, limit=limit)


@router.post(
    "/heartbeats",
    response_model=HeartbeatPublic,
    summary="A node's signed heartbeat: the relay routes to the freshest live node",
    responses={
        400: {"description": "bad signature or clock"},
        403: {"description": "not an admitted node"},
        409: {"description": "replayed heartbeat"},
    },
)
def heartbeat(body: HeartbeatRequest, session: SessionDep, chain: ChainDep) -> HeartbeatPublic:
    received = service.record_heartbeat(session=session, chain=chain, body=body)
    return HeartbeatPublic(node=body.node, received_ms=received)


@router.get("/status", response_model=NetworkStatus, summary="Authorities, quorum, nodes, proposals, admissions")
def status(session: SessionDep, chain: ChainDep, settings: SettingsDep) -> NetworkStatus:
    return service.network_status(session=session, chain=chain, settings=settings)


@router.post(
    "/{node}/revocations",
    response_model=ProposalResult,
    status_code=201,
    summary="Admins: propose to revoke a node (from a held authority key); quorum carries it out",
    responses={404: {"description": "authority not held"}, 409: {"description": "the node is not admitted"}},
)
def revoke(node: Address, body: RevocationRequest, chain: ChainDep, settings: SettingsDep, _admin: AdminUser):
    return service.start_revocation(
        chain=chain, settings=settings, node=node, reason=body.reason, authority=body.authority
    )


@router.post(
    "/proposals/{proposal_id}/approvals",
    response_model=ProposalResult,
    summary="Admins: approve a proposal with a held authority key",
    responses={404: {"description": "no such proposal, or authority not held"}, 409: {"description": "refused"}},
)
def approve(
    proposal_id: RowId,
    body: ApprovalRequest,
    chain: ChainDep,
    settings: SettingsDep,
    _admin: AdminUser,
):
    return service.approve_proposal(chain=chain, settings=settings, proposal_id=proposal_id, authority=body.authority)
