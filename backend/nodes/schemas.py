"""Request and response shapes of the nodes domain: challenges, answers, heartbeats, status."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from backend.validation import Address

_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")


def _signature(value: str) -> str:
    if not _SIGNATURE.match(value):
        raise ValueError("not a signature: expected 0x followed by 130 hex digits (65 bytes: r, s, v)")
    return value.lower()


def _endpoint(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError("not an endpoint: expected an http(s) URL such as http://10.0.0.5:8600")
    return value.rstrip("/")


Signature = Annotated[str, Field(examples=["0x" + "ab" * 65]), AfterValidator(_signature)]
Endpoint = Annotated[str, Field(max_length=256, examples=["http://127.0.0.1:8600"]), AfterValidator(_endpoint)]


class GpuReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=128)
    memory_mb: int = Field(ge=0, le=10**7)


class HardwareReport(BaseModel):
    """What a candidate says it runs on; signed with its answer (the hash goes on chain)."""

    model_config = ConfigDict(extra="forbid")
    cpu_cores: int = Field(ge=0, le=100_000, description="logical CPUs")
    cpu_model: str = Field(max_length=128)
    memory_mb: int = Field(ge=0, le=10**9)
    disk_free_gb: float = Field(ge=0, le=10**9)
    gpus: list[GpuReport] = Field(default_factory=list, max_length=64)
    os: str = Field(max_length=128)


class ChallengeRequest(BaseModel):
    candidate: Address
    authority: Address | None = Field(default=None, description="which authority key decides (default: the first)")


class ChallengePublic(BaseModel):
    id: str
    candidate: str
    authority: str
    chain_id: int
    registry: str
    nonce: str
    packets: list[str]
    difficulty_bits: int = Field(description="leading zero bits of sha256(nonce || packet || counter as 8 bytes)")
    issued_ms: int
    deadline_ms: int
    digest: str = Field(description="the challenge digest that goes on chain with the admission")


class ChallengeAnswer(BaseModel):
    results: list[Annotated[int, Field(ge=0, lt=2**64)]] = Field(max_length=4096)
    hardware: HardwareReport
    endpoint: Endpoint
    signature: Signature = Field(description="EIP-712 NodeAnswer signed by the candidate's key")


class AdmissionPublic(BaseModel):
    id: int
    candidate: str
    authority: str | None
    challenge_id: str | None
    outcome: Literal["accepted", "refused"]
    check: str
    reason: str
    elapsed_ms: int | None
    endpoint: str | None
    hardware: dict | None
    report_hash: str | None
    challenge_digest: str | None
    proposal_id: int | None
    approvals: int | None
    quorum: int | None
    tx_hash: str | None
    created_ms: int
    admitted: bool = False


class HeartbeatRequest(BaseModel):
    node: Address
    endpoint: Endpoint
    sent_ms: int = Field(ge=0, lt=2**63)
    hardware: HardwareReport | None = None
    signature: Signature = Field(description="EIP-191 signature of the heartbeat text by the node key")


class HeartbeatPublic(BaseModel):
    node: str
    received_ms: int


class AuthorityPublic(BaseModel):
    address: str
    held_here: bool = Field(description="this backend holds the key and decides with it")


class ProposalPublic(BaseModel):
    id: int
    kind: Literal["admit", "revoke", "add_authority", "remove_authority"]
    subject: str
    proposer: str
    approvals: int
    quorum: int
    executed: bool
    stale: bool
    reason: str
    approved_by: list[str]


class NodePublic(BaseModel):
    address: str
    state: Literal["admitted", "revoked", "pending"]
    endpoint: str | None
    hardware_hash: str | None
    challenge_digest: str | None
    admitted_at: int | None
    revoked_reason: str | None
    last_heartbeat_ms: int | None
    live: bool
    relayed: int
    hardware: dict | None


class NetworkStatus(BaseModel):
    chain_id: int
    registry: str
    quorum: int
    authority_count: int
    authorities: list[AuthorityPublic]
    nodes: list[NodePublic]
    proposals: list[ProposalPublic]
    admissions: list[AdmissionPublic]
    heartbeat_ttl_seconds: float
    relay_fallback_to_own_key: bool


class RevocationRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=128)
    authority: Address | None = Field(default=None, description="which held authority key proposes (default: first)")


class ApprovalRequest(BaseModel):
    authority: Address = Field(description="the held authority key that approves")


class ProposalResult(BaseModel):
    proposal_id: int
    tx_hash: str
    approvals: int
    quorum: int
    executed: bool
