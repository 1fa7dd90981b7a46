"""Alerts and what staff did with them, failed sign-ins.

Alerts are not a projection table: a rebuild of the projections must not wipe what staff
acknowledged. Replays are harmless because every alert carries a unique dedupe key made
of its rule, its subject and the event(s) that triggered it.
"""

from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.chain.models import utcnow

SEVERITIES = ("info", "warning", "critical")
ALERT_STATUSES = ("open", "acknowledged", "assigned", "resolved")


class Alert(SQLModel, table=True):
    __tablename__ = "monitoring_alert"
    id: int | None = Field(default=None, primary_key=True)
    # rule + subject + triggering event(s): the same cause never raises a second alert.
    dedupe_key: str = Field(max_length=255, unique=True)
    rule: str = Field(max_length=48, index=True)
    severity: str = Field(max_length=16, index=True)
    title: str = Field(max_length=512)
    # What the alert is about; the columns below let the center filter by them.
    subject_kind: str = Field(max_length=16)  # address | order | block | node | user
    subject: str = Field(max_length=66, index=True)
    address: str | None = Field(default=None, max_length=42, index=True)
    order_id: int | None = Field(default=None, index=True)
    block_number: int | None = None
    evidence: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16, index=True)
    assignee: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    # Grows with every change, so the live feed sends each version of an alert once.
    revision: int = 1


class StaffAction(SQLModel, table=True):
    """What staff did in the monitoring center, as the page shows it per alert and account.
    The tamper-evident record of the same actions is the shared audit log (audit.py)."""

    __tablename__ = "monitoring_action"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=32)
    alert_id: int | None = Field(default=None, index=True)
    address: str | None = Field(default=None, max_length=42, index=True)
    note: str | None = Field(default=None, max_length=1024)


class FailedSignIn(SQLModel, table=True):
    """A refused sign-in (SIWE or password): the burst rule counts them."""

    __tablename__ = "monitoring_failed_sign_in"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    method: str = Field(max_length=16)  # siwe | password
    # The address a SIWE message named, or the username tried.
    ident: str = Field(max_length=128, index=True)
    ip: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=256)


# ------------------------------------------------------------------ camera

FRAME_STATES = ("match", "mismatch", "no_face", "several_faces")


class CameraSession(SQLModel, table=True):
    """One trader's camera on one order: its latest state and the current run of equal
    verdicts (the rules count runs, so one stray frame does not raise an alert)."""

    __tablename__ = "camera_session"
    __table_args__ = (UniqueConstraint("order_id", "address", name="uq_camera_session_order_address"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(index=True)
    address: str = Field(max_length=42, index=True)
    user_id: int
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    # "on" while frames arrive; "refused" / "unavailable" when the page reports the camera off
    camera: str = Field(default="on", max_length=16)
    frames: int = 0
    last_state: str | None = Field(default=None, max_length=16)
    last_distance: float | None = None
    last_faces: int | None = None
    streak_state: str | None = Field(default=None, max_length=16)
    streak_length: int = 0
    streak_start_frame: int | None = None


class CameraFrame(SQLModel, table=True):
    """A frame's verdict. The frame itself is never kept: its SHA-256 and, until the
    retention period ends, a small thumbnail sealed like KYC personal data."""

    __tablename__ = "camera_frame"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(index=True)
    order_id: int = Field(index=True)
    address: str = Field(max_length=42)
    at: datetime = Field(default_factory=utcnow, index=True)
    state: str = Field(max_length=16)
    distance: float | None = None
    faces: int
    sha256: str = Field(max_length=64)
    key_id: str | None = Field(default=None, max_length=32)
    thumbnail: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    thumbnail_erased_at: datetime | None = None
