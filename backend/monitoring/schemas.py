"""Request and response shapes of the monitoring center."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.monitoring.models import Alert, StaffAction

Severity = Literal["info", "warning", "critical"]
StatusFilter = Literal["open", "acknowledged", "assigned", "resolved", "unresolved"]


class EvidenceLink(BaseModel):
    kind: str = Field(description="tx | order | address | block | node | frame")
    label: str
    href: str | None = None


class AlertPublic(BaseModel):
    id: int
    rule: str
    severity: Severity
    title: str
    subject_kind: str
    subject: str
    address: str | None
    order_id: int | None
    block_number: int | None
    evidence: list[EvidenceLink]
    status: str
    assignee: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    revision: int

    @classmethod
    def of(cls, alert: Alert) -> "AlertPublic":
        return cls.model_validate(alert, from_attributes=True)


class AlertPage(BaseModel):
    items: list[AlertPublic]
    total: int
    limit: int
    offset: int


class StaffActionPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    alert_id: int | None
    address: str | None
    note: str | None

    @classmethod
    def of(cls, action: StaffAction) -> "StaffActionPublic":
        return cls.model_validate(action, from_attributes=True)


class AlertDetail(AlertPublic):
    actions: list[StaffActionPublic]


class NoteBody(BaseModel):
    note: str | None = Field(default=None, max_length=1024)


class AssignBody(BaseModel):
    assignee: str = Field(min_length=1, max_length=64, description="Username or address of a monitor or admin")
    note: str | None = Field(default=None, max_length=1024)


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=1024, description="What was found and done")


class FreezeBody(BaseModel):
    note: str = Field(min_length=1, max_length=1024, description="Why")


class RulePublic(BaseModel):
    rule: str
    enabled: bool
    params: dict


class StaffPublic(BaseModel):
    id: int
    username: str | None
    address: str | None


class KycPublic(BaseModel):
    level: int
    expires_at: int
    revoked: bool
    revoke_reason: str | None


class AccountStanding(BaseModel):
    address: str
    known: bool = Field(description="The desk has a user row for the address")
    frozen: bool = Field(description="Frozen by the desk: sign-in, API, relays and chat refused")
    frozen_at: datetime | None
    frozen_by: str | None
    freeze_note: str | None
    kyc: KycPublic | None = Field(description="The KycRegistry attestation as indexed")
    kyc_min_level: int | None = Field(description="The escrow's KYC requirement (0: off); null if unreadable")
    in_force: list[Literal["backend", "chain"]] = Field(
        description="backend: the desk's freeze; chain: KYC revoked on chain (binds direct contract calls "
        "while the escrow's KYC requirement is on)"
    )
    open_alerts: int
    actions: list[StaffActionPublic]


class IncidentPublic(BaseModel):
    id: int
    kind: str
    block_number: int
    detail: str
    created_at: datetime


class EscrowEventPublic(BaseModel):
    block_number: int
    tx_hash: str
    name: str
    order_id: int | None
    ad_id: int | None
    timestamp: int


class ChainPanel(BaseModel):
    head: int | None
    indexed: int
    lag_blocks: int | None
    refused_blocks: int
    indexer_error: str | None
    incidents: list[IncidentPublic]
    escrow_events: list[EscrowEventPublic]


class NodeHealth(BaseModel):
    address: str
    endpoint: str | None
    status: Literal["active", "revoked"]
    last_heartbeat_ms: int | None = Field(description="when the platform last received its heartbeat; null: never")
    heartbeat_age_seconds: float | None
    silent: bool = Field(
        description="active, and no heartbeat for monitoring_node_silence_seconds or more (node_silent's limit)"
    )


class NodesPanel(BaseModel):
    authority_count: int
    quorum: int
    silence_seconds: int = Field(description="the node_silent rule's limit")
    nodes: list[NodeHealth] = Field(description="every node ever admitted on NodeRegistry, active or revoked")


# ------------------------------------------------------------------ camera


class CameraPolicy(BaseModel):
    policy: Literal["required", "optional"] = Field(
        description="required: the order page keeps its actions closed without the camera"
    )
    interval_seconds: float = Field(description="send a frame this often while the order is open")
    min_interval_seconds: float = Field(description="frames closer together than this are refused (429)")
    width: int
    height: int
    max_frame_bytes: int


class FrameResult(BaseModel):
    frame_id: int
    order_id: int
    state: Literal["match", "mismatch", "no_face", "several_faces"]
    distance: float | None = Field(description="face distance to the verified KYC face (nearest face)")
    faces: int
    sha256: str
    alerts: list[int] = Field(description="ids of alerts this frame raised")


class CameraReport(BaseModel):
    camera: Literal["on", "refused", "unavailable"]


class CameraSessionPublic(BaseModel):
    order_id: int
    address: str
    camera: str
    frames: int
    last_state: str | None
    last_distance: float | None
    last_faces: int | None
    started_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, camera) -> "CameraSessionPublic":
        return cls.model_validate(camera, from_attributes=True)


class CameraFramePublic(BaseModel):
    id: int
    address: str
    at: datetime
    state: str
    distance: float | None
    faces: int
    sha256: str
    thumbnail_url: str | None = Field(description="null once erased after the retention period")


class CameraEvidence(BaseModel):
    order_id: int
    frames: int
    camera_digest: str | None = Field(description="keccak256 of the frames' SHA-256 digests, in order")
    chat_head: str = Field(description="the chat transcript head")
    dispute_evidence: str = Field(
        description="for open_dispute: keccak256(chat_head ++ camera_digest), or chat_head without frames"
    )
