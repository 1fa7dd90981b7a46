"""The authority side of the permissioned network.

A candidate asks for a challenge (per authority key), answers it with the work, a
hardware report and its signature; the authority key checks everything, records the
decision with its reason and, when it accepts, proposes the node on NodeRegistry or
approves the open proposal. Admission happens on chain at quorum (more than 2/3 of the
authorities). Admitted nodes send signed heartbeats; the relay routes users' signed
actions to the live node with the freshest one.
"""

import logging
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache

import httpx
from eth_account import Account
from eth_utils import to_checksum_address
from sqlmodel import Session, col, select
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.logs import DISCARD

from backend.chain.deps import ChainContext
from backend.chain.transact import lock_for, send_call
from backend.config import Settings
from backend.errors import DomainError
from backend.nodes import challenge as work
from backend.nodes.models import NodeAdmission, NodeChallenge, NodeHeartbeat, NodeRecord
from backend.nodes.schemas import (
    AdmissionPublic,
    AuthorityPublic,
    ChallengeAnswer,
    ChallengePublic,
    HardwareReport,
    HeartbeatRequest,
    NetworkStatus,
    NodePublic,
    ProposalPublic,
    ProposalResult,
)

log = logging.getLogger("sentinel.nodes")

KIND_ADMIT, KIND_REVOKE = 1, 2
KIND_NAMES = {1: "admit", 2: "revoke", 3: "add_authority", 4: "remove_authority"}
PROPOSAL_SCAN = 64  # how far back an open admission proposal is looked for
HEARTBEAT_SKEW_MS = 60_000
RECEIPT_TIMEOUT_SECONDS = 30
# One admission decision on chain at a time per candidate: two authority keys accepting
# at once must not open two proposals for the same node.
_candidate_locks: dict[str, threading.Lock] = {}
_candidate_guard = threading.Lock()


class NodeUnavailable(Exception):
    """A node could not take a relay (down, timed out, not authorized): try the next."""


@dataclass(frozen=True)
class LiveNode:
    address: str
    endpoint: str
    received_ms: int


# ------------------------------------------------------------ authority keys


@lru_cache(maxsize=16)
def _account(key: str):
    return Account.from_key(key)


def held_accounts(settings: Settings) -> list:
    return [_account(key.get_secret_value()) for key in settings.authority_keys]


def _registry(chain: ChainContext):
    return chain.contract("NodeRegistry")


def _authority_account(*, chain: ChainContext, settings: Settings, authority: str | None):
    """The held key that decides: the one asked for, or the first that is an authority on chain."""
    registry = _registry(chain)
    held = held_accounts(settings)
    if authority is not None:
        match = [a for a in held if a.address == authority]
        if not match:
            raise DomainError(404, f"{authority} is not an authority key this backend holds")
        if not registry.functions.is_authority(authority).call():
            raise DomainError(409, f"{authority} is not an authority on NodeRegistry")
        return match[0]
    for account in held:
        if registry.functions.is_authority(account.address).call():
            return account
    raise DomainError(503, "this backend holds no authority key of NodeRegistry: it cannot admit nodes")


def list_authorities(*, chain: ChainContext, settings: Settings) -> list[AuthorityPublic]:
    """The held keys that are authorities on chain: the candidate asks each for a challenge."""
    registry = _registry(chain)
    return [
        AuthorityPublic(address=a.address, held_here=True)
        for a in held_accounts(settings)
        if registry.functions.is_authority(a.address).call()
    ]


# ---------------------------------------------------------------- challenges


def _now_ms() -> int:
    return work.now_ms()


def _record(session: Session, **fields) -> NodeAdmission:
    row = NodeAdmission(created_ms=_now_ms(), **fields)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def _refuse(session: Session, status: int, check: str, reason: str, **fields):
    _record(session, outcome="refused", check=check, reason=reason, **fields)
    raise DomainError(status, reason)


def _node_state(chain: ChainContext, address: str) -> tuple[bool, bool, str]:
    """(active, ever admitted, endpoint) as NodeRegistry has them now."""
    endpoint, _hw, _digest, admitted_at, active = _registry(chain).functions.nodes(address).call()
    return active, admitted_at > 0, endpoint


def issue_challenge(
    *, session: Session, chain: ChainContext, settings: Settings, candidate: str, authority: str | None
) -> ChallengePublic:
    account = _authority_account(chain=chain, settings=settings, authority=authority)
    active, ever, _ = _node_state(chain, candidate)
    if active:
        raise DomainError(409, f"{candidate} is already an admitted node")
    if ever:
        _refuse(
            session,
            403,
            "revoked",
            f"{candidate} was revoked by the authorities: a revoked node is not admitted again by challenge",
            candidate=candidate,
            authority=account.address,
        )
    now = _now_ms()
    open_count = len(
        session.exec(
            select(NodeChallenge.id).where(
                NodeChallenge.candidate == candidate,
                NodeChallenge.answered_ms == None,  # noqa: E711
                NodeChallenge.deadline_ms > now,
            )
        ).all()
    )
    if open_count >= settings.node_open_challenges_max:
        raise DomainError(429, f"{candidate} already has {open_count} open challenges: answer or let them expire")
    row = NodeChallenge(
        id=secrets.token_hex(16),
        candidate=candidate,
        authority=account.address,
        nonce="0x" + secrets.token_bytes(32).hex(),
        packets=["0x" + secrets.token_bytes(32).hex() for _ in range(settings.node_challenge_packets)],
        difficulty_bits=settings.node_challenge_difficulty_bits,
        digest="",
        issued_ms=now,
        deadline_ms=now + int(settings.node_challenge_seconds * 1000),
    )
    row.digest = work.challenge_digest(
        chain_id=chain.deployment.chain_id,
        registry=chain.deployment.addresses["NodeRegistry"],
        challenge_id=row.id,
        candidate=candidate,
        authority=account.address,
        nonce=row.nonce,
        packets=row.packets,
        difficulty_bits=row.difficulty_bits,
        deadline_ms=row.deadline_ms,
    )
    session.add(row)
    session.commit()
    return _challenge_public(chain, row)


def _challenge_public(chain: ChainContext, row: NodeChallenge) -> ChallengePublic:
    return ChallengePublic(
        id=row.id,
        candidate=row.candidate,
        authority=row.authority,
        chain_id=chain.deployment.chain_id,
        registry=chain.deployment.addresses["NodeRegistry"],
        nonce=row.nonce,
        packets=row.packets,
        difficulty_bits=row.difficulty_bits,
        issued_ms=row.issued_ms,
        deadline_ms=row.deadline_ms,
        digest=row.digest,
    )


def hardware_shortfalls(report: HardwareReport, settings: Settings) -> list[str]:
    short = []
    if report.cpu_cores < settings.node_min_cpu_cores:
        short.append(f"{report.cpu_cores} CPU cores, at least {settings.node_min_cpu_cores} required")
    if report.memory_mb < settings.node_min_memory_mb:
        short.append(f"{report.memory_mb} MB memory, at least {settings.node_min_memory_mb} MB required")
    if report.disk_free_gb < settings.node_min_disk_free_gb:
        short.append(f"{report.disk_free_gb:g} GB free disk, at least {settings.node_min_disk_free_gb:g} GB required")
    return short


def verify_answer(*, chain: ChainContext, settings: Settings, row: NodeChallenge, answer: ChallengeAnswer, now: int):
    """Every off-chain check, in order; returns (check, status, reason) of the first that
    fails, or None. Pure: the benchmark times exactly this."""
    elapsed = now - row.issued_ms
    if now > row.deadline_ms:
        limit = (row.deadline_ms - row.issued_ms) / 1000
        return "deadline", 410, f"answer too late: {elapsed / 1000:.2f} s after the challenge, the limit is {limit:g} s"
    if len(answer.results) != len(row.packets):
        return "results", 400, f"{len(answer.results)} results for {len(row.packets)} packets"
    report = answer.hardware.model_dump(mode="json")
    data = work.answer_typed_data(
        chain_id=chain.deployment.chain_id,
        registry=chain.deployment.addresses["NodeRegistry"],
        digest=row.digest,
        candidate=row.candidate,
        endpoint=answer.endpoint,
        results=work.results_hash(answer.results),
        report=work.report_hash(report),
    )
    signer = work.recover_typed(data, answer.signature)
    if signer != row.candidate:
        return "signature", 400, f"the answer is not signed by the candidate {row.candidate}: it recovers to {signer}"
    wrong = work.first_wrong(
        nonce=row.nonce, packets=row.packets, difficulty_bits=row.difficulty_bits, results=answer.results
    )
    if wrong is not None:
        return (
            "results",
            400,
            f"wrong result for packet {wrong}: the hash has fewer than {row.difficulty_bits} zero bits",
        )
    short = hardware_shortfalls(answer.hardware, settings)
    if short:
        return "hardware", 403, "hardware under the minimums: " + "; ".join(short)
    return None


def answer_challenge(
    *, session: Session, chain: ChainContext, settings: Settings, challenge_id: str, answer: ChallengeAnswer
) -> AdmissionPublic:
    now = _now_ms()
    row = session.get(NodeChallenge, challenge_id)
    if row is None:
        raise DomainError(404, f"no challenge {challenge_id}: ask for one with POST /api/nodes/challenges")
    report = answer.hardware.model_dump(mode="json")
    fields = {
        "candidate": row.candidate,
        "authority": row.authority,
        "challenge_id": row.id,
        "endpoint": answer.endpoint,
        "hardware": report,
        "report_hash": work.report_hash(report),
        "challenge_digest": row.digest,
        "elapsed_ms": now - row.issued_ms,
    }
    if row.answered_ms is not None:
        _refuse(
            session, 409, "replay", f"challenge {row.id} was already answered: each challenge is single-use", **fields
        )
    # Spent before anything else is looked at: a failing answer burns the challenge too.
    row.answered_ms = now
    session.add(row)
    session.commit()
    failed = verify_answer(chain=chain, settings=settings, row=row, answer=answer, now=now)
    if failed is not None:
        check, status, reason = failed
        _refuse(session, status, check, reason, **fields)
    active, ever, _ = _node_state(chain, row.candidate)
    if ever and not active:
        _refuse(session, 403, "revoked", f"{row.candidate} was revoked by the authorities", **fields)
    account = _authority_account(chain=chain, settings=settings, authority=row.authority)
    try:
        outcome = _decide_on_chain(chain=chain, account=account, candidate=row.candidate, fields=fields)
    except DomainError as err:
        _refuse(session, err.status_code, "chain", err.detail, **fields)
    admission = _record(session, outcome="accepted", check="passed", **fields, **outcome)
    return _admission_public(admission, admitted=_node_state(chain, row.candidate)[0])


def _decide_on_chain(*, chain: ChainContext, account, candidate: str, fields: dict) -> dict:
    """Proposes the node, or approves the open proposal for it, from the authority key."""
    registry = _registry(chain)
    with _candidate_lock(candidate):
        pid = _open_admission(registry, candidate)
        if pid is not None and registry.functions.has_approved(pid, account.address).call():
            p = registry.functions.proposals(pid).call()
            return {
                "reason": f"passed; {account.address} had already approved proposal {pid}",
                "proposal_id": pid,
                "approvals": p[8],
                "quorum": registry.functions.quorum().call(),
            }
        if pid is None:
            call = registry.functions.propose_node(
                candidate,
                fields["endpoint"],
                bytes.fromhex(fields["report_hash"][2:]),
                bytes.fromhex(fields["challenge_digest"][2:]),
            )
            verb = "proposed"
        else:
            call = registry.functions.approve(pid)
            verb = "approved"
        receipt, tx_hash = _transact(chain, account, call)
        if pid is None:
            created = registry.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
            pid = created[0]["args"]["proposal_id"]
    approvals = registry.functions.proposals(pid).call()[8]
    quorum = registry.functions.quorum().call()
    admitted = approvals >= quorum
    tail = "admitted" if admitted else f"not yet admitted, {quorum - approvals} more approval(s) needed"
    return {
        "reason": f"passed; {verb} proposal {pid}: {approvals} of {quorum} approvals, {tail}",
        "proposal_id": pid,
        "approvals": approvals,
        "quorum": quorum,
        "tx_hash": tx_hash,
    }


def _candidate_lock(candidate: str) -> threading.Lock:
    with _candidate_guard:
        return _candidate_locks.setdefault(candidate, threading.Lock())


def _open_admission(registry, candidate: str) -> int | None:
    count = registry.functions.proposal_count().call()
    epoch = registry.functions.authority_epoch().call()
    for pid in range(count, max(0, count - PROPOSAL_SCAN), -1):
        kind, subject, *_rest, p_epoch, _approvals, executed = registry.functions.proposals(pid).call()
        if kind == KIND_ADMIT and subject == candidate and not executed and p_epoch == epoch:
            return pid
    return None


def _transact(chain: ChainContext, account, call) -> tuple[dict, str]:
    w3 = chain.w3
    try:
        with lock_for(account.address):
            call.call({"from": account.address}, block_identifier="pending")
            tx_hash = send_call(w3, chain.deployment.chain_id, account, call)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
    except ContractLogicError as err:
        reason = err.message if isinstance(getattr(err, "message", None), str) else str(err)
        raise DomainError(409, reason.removeprefix("execution reverted: ")) from None
    except Exception as err:
        log.exception("authority transaction failed")
        raise DomainError(503, f"the authority could not send its transaction: {err}") from None
    if receipt["status"] != 1:
        raise DomainError(409, f"the authority's transaction {tx_hash.to_0x_hex()} reverted")
    return receipt, tx_hash.to_0x_hex()


def _admission_public(row: NodeAdmission, *, admitted: bool = False) -> AdmissionPublic:
    return AdmissionPublic(**row.model_dump(), admitted=admitted)


def admissions(*, session: Session, candidate: str | None = None, limit: int = 100) -> list[AdmissionPublic]:
    query = select(NodeAdmission).order_by(col(NodeAdmission.id).desc()).limit(limit)
    if candidate:
        query = query.where(NodeAdmission.candidate == candidate)
    return [_admission_public(r) for r in session.exec(query).all()]


# ----------------------------------------------------------- proposals (quorum)


def start_revocation(
    *, chain: ChainContext, settings: Settings, node: str, reason: str, authority: str | None
) -> ProposalResult:
    account = _authority_account(chain=chain, settings=settings, authority=authority)
    registry = _registry(chain)
    receipt, tx_hash = _transact(chain, account, registry.functions.propose_revocation(node, reason))
    pid = registry.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["proposal_id"]
    return _proposal_result(registry, pid, tx_hash)


def approve_proposal(*, chain: ChainContext, settings: Settings, proposal_id: int, authority: str) -> ProposalResult:
    account = _authority_account(chain=chain, settings=settings, authority=authority)
    registry = _registry(chain)
    if registry.functions.proposals(proposal_id).call()[0] == 0:
        raise DomainError(404, f"no proposal {proposal_id} on NodeRegistry")
    _receipt, tx_hash = _transact(chain, account, registry.functions.approve(proposal_id))
    return _proposal_result(registry, proposal_id, tx_hash)


def _proposal_result(registry, pid: int, tx_hash: str) -> ProposalResult:
    p = registry.functions.proposals(pid).call()
    return ProposalResult(
        proposal_id=pid, tx_hash=tx_hash, approvals=p[8], quorum=registry.functions.quorum().call(), executed=p[9]
    )


# ------------------------------------------------------------------ heartbeats


def record_heartbeat(*, session: Session, chain: ChainContext, body: HeartbeatRequest) -> int:
    signer = work.recover_heartbeat(
        chain_id=chain.deployment.chain_id,
        node=body.node,
        endpoint=body.endpoint,
        sent_at=body.sent_ms,
        signature=body.signature,
    )
    if signer != body.node:
        raise DomainError(400, f"the heartbeat is not signed by {body.node}: it recovers to {signer}")
    now = _now_ms()
    if abs(now - body.sent_ms) > HEARTBEAT_SKEW_MS:
        raise DomainError(400, f"heartbeat time {body.sent_ms} is more than 60 s from the platform's clock")
    active, ever, _ = _node_state(chain, body.node)
    if not active:
        state = "was revoked" if ever else "is not admitted"
        raise DomainError(403, f"{body.node} {state} on NodeRegistry: heartbeats are for admitted nodes")
    row = session.get(NodeHeartbeat, body.node)
    if row is not None and body.sent_ms <= row.sent_ms:
        raise DomainError(409, "heartbeat replayed or out of order: sent_ms must grow")
    row = row or NodeHeartbeat(address=body.node, endpoint=body.endpoint, sent_ms=0, received_ms=0)
    row.endpoint = body.endpoint
    row.sent_ms = body.sent_ms
    row.received_ms = now
    if body.hardware is not None:
        row.hardware = body.hardware.model_dump(mode="json")
    session.add(row)
    session.commit()
    return now


def live_nodes(*, session: Session, chain: ChainContext, settings: Settings) -> list[LiveNode]:
    """Nodes with a fresh heartbeat, not failed since, admitted on chain now: freshest first."""
    since = _now_ms() - int(settings.node_heartbeat_ttl_seconds * 1000)
    rows = session.exec(
        select(NodeHeartbeat).where(NodeHeartbeat.received_ms >= since).order_by(col(NodeHeartbeat.received_ms).desc())
    ).all()
    live = []
    for row in rows:
        if row.failed_ms is not None and row.failed_ms >= row.received_ms:
            continue
        # The chain decides, not the heartbeat: a revoked node is never handed a relay.
        active, _, endpoint = _node_state(chain, row.address)
        if active:
            live.append(LiveNode(address=row.address, endpoint=row.endpoint or endpoint, received_ms=row.received_ms))
    return live


def relay_through(*, chain: ChainContext, node: LiveNode, request, settings: Settings) -> str:
    """POSTs the signed action to the node; its 4xx refusals are the user's answer. The
    hash it returns must be a transaction the node itself sent."""
    try:
        response = httpx.post(
            f"{node.endpoint}/relay",
            json=request.model_dump(mode="json"),
            timeout=settings.relay_node_timeout_seconds,
        )
    except httpx.HTTPError as err:
        raise NodeUnavailable(f"unreachable ({type(err).__name__})") from None
    if response.status_code >= 500:
        raise NodeUnavailable(f"HTTP {response.status_code}: {_detail(response)}")
    if response.status_code >= 400:
        raise DomainError(response.status_code, _detail(response))
    tx_hash = str(response.json().get("tx_hash", ""))
    try:
        sender = chain.w3.eth.get_transaction(tx_hash)["from"]
    except (TransactionNotFound, ValueError, TypeError):
        raise NodeUnavailable(f"answered with {tx_hash[:66]!r}, not a transaction on chain") from None
    if to_checksum_address(sender) != node.address:
        raise NodeUnavailable(f"answered with a transaction sent by {sender}, not by itself")
    return tx_hash


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))[:500]
    except ValueError:
        return response.text[:500]


def mark_failed(*, session: Session, address: str) -> None:
    row = session.get(NodeHeartbeat, address)
    if row is not None:
        row.failed_ms = _now_ms()
        session.add(row)
        session.commit()


def count_relay(*, session: Session, address: str) -> None:
    row = session.get(NodeHeartbeat, address)
    if row is not None:
        row.relayed += 1
        session.add(row)
        session.commit()


# ---------------------------------------------------------------------- status


def network_status(*, session: Session, chain: ChainContext, settings: Settings) -> NetworkStatus:
    registry = _registry(chain)
    fn = registry.functions
    quorum = fn.quorum().call()
    held = {a.address for a in held_accounts(settings)}

    proposals = []
    count = fn.proposal_count().call()
    epoch = fn.authority_epoch().call()
    authorities = _authority_addresses(session, registry, held)
    for pid in range(count, max(0, count - 20), -1):
        kind, subject, _ep, _hw, _dg, reason, proposer, p_epoch, approvals, executed = fn.proposals(pid).call()
        proposals.append(
            ProposalPublic(
                id=pid,
                kind=KIND_NAMES.get(kind, "admit"),
                subject=subject,
                proposer=proposer,
                approvals=approvals,
                quorum=quorum,
                executed=executed,
                stale=p_epoch != epoch,
                reason=reason,
                approved_by=[a for a in authorities if fn.has_approved(pid, a).call()],
            )
        )

    addresses: dict[str, None] = {}
    for address in session.exec(select(NodeRecord.address)).all():
        addresses[address] = None
    for address in session.exec(select(NodeHeartbeat.address)).all():
        addresses[address] = None
    for p in proposals:
        if p.kind in ("admit", "revoke"):
            addresses[p.subject] = None
    for address in session.exec(
        select(NodeAdmission.candidate).where(NodeAdmission.outcome == "accepted").distinct()
    ).all():
        addresses[address] = None
    now = _now_ms()
    ttl = int(settings.node_heartbeat_ttl_seconds * 1000)
    nodes = []
    for address in addresses:
        endpoint, hw, digest, admitted_at, active = fn.nodes(address).call()
        beat = session.get(NodeHeartbeat, address)
        record = session.get(NodeRecord, address)
        state = "admitted" if active else ("revoked" if admitted_at else "pending")
        last = beat.received_ms if beat else None
        nodes.append(
            NodePublic(
                address=address,
                state=state,
                endpoint=endpoint or (beat.endpoint if beat else None),
                hardware_hash="0x" + hw.hex() if admitted_at else None,
                challenge_digest="0x" + digest.hex() if admitted_at else None,
                admitted_at=admitted_at or None,
                revoked_reason=record.revoked_reason if record else _revoked_reason(proposals, address, state),
                last_heartbeat_ms=last,
                live=bool(active and last and now - last <= ttl),
                relayed=beat.relayed if beat else 0,
                hardware=(beat.hardware if beat and beat.hardware else _last_report(session, address)),
            )
        )
    return NetworkStatus(
        chain_id=chain.deployment.chain_id,
        registry=registry.address,
        quorum=quorum,
        authority_count=fn.authority_count().call(),
        authorities=[AuthorityPublic(address=a, held_here=a in held) for a in authorities],
        nodes=nodes,
        proposals=proposals,
        admissions=admissions(session=session, limit=50),
        heartbeat_ttl_seconds=settings.node_heartbeat_ttl_seconds,
        relay_fallback_to_own_key=settings.relay_fallback_to_own_key,
    )


def _authority_addresses(session: Session, registry, held: set[str]) -> list[str]:
    """Authorities as the indexer saw them joining, plus the held keys; each confirmed live."""
    from backend.nodes.models import Authority

    seen = list(dict.fromkeys([*session.exec(select(Authority.address)).all(), *sorted(held)]))
    return [a for a in seen if registry.functions.is_authority(a).call()]


def _revoked_reason(proposals: list[ProposalPublic], address: str, state: str) -> str | None:
    if state != "revoked":
        return None
    for p in proposals:
        if p.kind == "revoke" and p.subject == address and p.executed:
            return p.reason
    return None


def _last_report(session: Session, address: str) -> dict | None:
    row = session.exec(
        select(NodeAdmission)
        .where(NodeAdmission.candidate == address, NodeAdmission.outcome == "accepted")
        .order_by(col(NodeAdmission.id).desc())
    ).first()
    return row.hardware if row else None
