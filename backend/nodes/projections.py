"""NodeRegistry events -> authorities, nodes and proposals."""

from sqlmodel import Session

from backend.chain.models import ChainEvent
from backend.chain.projections import Projection, add, get
from backend.nodes.models import Authority, NodeProposal, NodeRecord

REGISTRY = "NodeRegistry"

projection = Projection("nodes", tables=[Authority, NodeRecord, NodeProposal])
on = projection.on


@on(REGISTRY, "AuthorityAdded")
def authority_added(session: Session, event: ChainEvent) -> None:
    address = event.args["account"]
    row = get(session, Authority, address) or Authority(address=address, since_block=event.block_number)
    row.active = True
    row.since_block = event.block_number
    add(session, row, address)


@on(REGISTRY, "AuthorityRemoved")
def authority_removed(session: Session, event: ChainEvent) -> None:
    row = get(session, Authority, event.args["account"])
    if row is not None:
        row.active = False


@on(REGISTRY, "NodeAdmitted")
def node_admitted(session: Session, event: ChainEvent) -> None:
    a = event.args
    row = get(session, NodeRecord, a["node"]) or NodeRecord(address=a["node"], admitted_block=event.block_number)
    row.endpoint = a["endpoint"]
    row.hardware_hash = a["hardware_hash"]
    row.challenge_digest = a["challenge_digest"]
    row.active = True
    row.admitted_block = event.block_number
    row.revoked_reason = None
    add(session, row, a["node"])


@on(REGISTRY, "NodeRevoked")
def node_revoked(session: Session, event: ChainEvent) -> None:
    row = get(session, NodeRecord, event.args["node"])
    if row is not None:
        row.active = False
        row.revoked_reason = event.args["reason"]


@on(REGISTRY, "ProposalCreated")
def proposal_created(session: Session, event: ChainEvent) -> None:
    a = event.args
    add(
        session,
        NodeProposal(
            id=int(a["proposal_id"]),
            kind=int(a["kind"]),
            subject=a["subject"],
            proposer=a["proposer"],
            epoch=int(a["epoch"]),
            created_block=event.block_number,
        ),
        int(a["proposal_id"]),
    )


@on(REGISTRY, "ProposalApproved")
def proposal_approved(session: Session, event: ChainEvent) -> None:
    row = get(session, NodeProposal, int(event.args["proposal_id"]))
    if row is not None:
        row.approvals = int(event.args["approvals"])
        row.quorum = int(event.args["quorum"])
