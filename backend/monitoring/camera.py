"""Camera monitoring: which frames are accepted, what is kept of them, who sees it.

Kept per frame: its SHA-256, the verdict (match / mismatch / no face / several faces)
with the distance, and a 96 x 72 thumbnail sealed with the KYC keyring. The frame
itself is never stored. Thumbnails are erased after `monitoring_camera_retention_days`
(not while the order is in dispute); hashes and verdicts stay for the dispute evidence.
Thumbnails are shown to monitoring staff, and to arbitrators once the order is disputed.
"""

import hashlib
import threading
import time
from datetime import timedelta

from eth_utils import keccak
from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.chain.deps import ChainContext
from backend.chain.models import utcnow
from backend.config import Settings
from backend.crypto import SealError, open_sealed, seal
from backend.errors import DomainError
from backend.kyc import service as kyc
from backend.kyc.images import ImageRejected, inspect
from backend.kyc.models import KycApplication
from backend.market.models import Order
from backend.monitoring import rules
from backend.monitoring.frames import FrameParams
from backend.monitoring.models import CameraFrame, CameraSession
from backend.monitoring.service import raise_alert
from backend.negotiation import service as negotiation
from backend.protocol import OrderStatus

FRAME_WIDTH, FRAME_HEIGHT = 320, 240


def frame_params(settings: Settings) -> FrameParams:
    return FrameParams(
        max_bytes=settings.monitoring_camera_max_frame_bytes,
        max_pixels=settings.monitoring_camera_max_pixels,
        size=settings.monitoring_camera_detect_size,
        accept=settings.kyc_accept_distance,
        upsample=settings.monitoring_camera_upsample,
    )


def check_frame(data: bytes, *, settings: Settings) -> None:
    """Size and type, from the bytes and the image header only (in the request)."""
    limit = settings.monitoring_camera_max_frame_bytes
    if len(data) > limit:
        raise DomainError(413, f"the camera frame is {len(data):,} bytes: at most {limit:,} (send 320 x 240 JPEG)")
    try:
        inspect(data, "camera frame", max_bytes=limit, max_pixels=settings.monitoring_camera_max_pixels)
    except ImageRejected as rejected:
        raise DomainError(422, rejected.reason) from None


def order_for_frames(session: Session, *, user: User, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise DomainError(404, f"order {order_id} not found")
    address = (user.address or "").lower()
    if address not in (order.buyer.lower(), order.seller.lower()):
        raise DomainError(403, f"camera frames are for your own orders: order {order_id} is not yours")
    if OrderStatus(order.status).ended:
        raise DomainError(409, f"order {order_id} is {order.status}: camera monitoring ends with the order")
    return order


def verified_selfie(session: Session, *, settings: Settings, address: str) -> tuple[tuple, bytes]:
    """The selfie of the account's approved KYC application (the verified face), with a
    cache key that changes when a new application is approved."""
    application = session.exec(
        select(KycApplication)
        .where(KycApplication.account == address, KycApplication.status == "approved")
        .order_by(col(KycApplication.id).desc())
    ).first()
    if application is None or application.selfie_image is None:
        raise DomainError(
            409, f"{address} has no verified KYC face: camera monitoring needs an approved KYC application"
        )
    selfie, _media_type = kyc.image(settings=settings, application=application, which="selfie")
    return (application.id, application.record_hash), selfie


class FrameGate:
    """Per-user minimum interval between frames, in this process. A slot is taken before
    the face work, so two frames racing each other cannot both pass."""

    def __init__(self, min_interval: float):
        self.min_interval = min_interval
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def claim(self, user_id: int) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(user_id)
            if last is not None and now - last < self.min_interval:
                wait = self.min_interval - (now - last)
                raise DomainError(
                    429,
                    f"camera frames too fast: at most one every {self.min_interval:g} s (next in {wait:.1f} s)",
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
            self._last[user_id] = now


def _aad(order_id: int, sha256: str) -> bytes:
    return f"camera_frame:{order_id}:{sha256}".encode()


def record_frame(
    session: Session, *, user: User, order: Order, data: bytes, result: dict, settings: Settings, config
) -> tuple[CameraFrame, CameraSession, list]:
    """Store the verdict, the hash and the sealed thumbnail; move the session's run; raise
    what the camera rules say. One transaction."""
    address = user.address
    camera = session.exec(
        select(CameraSession).where(CameraSession.order_id == order.id, CameraSession.address == address)
    ).first()
    if camera is None:
        camera = CameraSession(order_id=order.id, address=address, user_id=user.id)
        session.add(camera)
        session.flush()
    sha256 = hashlib.sha256(data).hexdigest()
    key_id, blob = seal(
        result["thumbnail"], kyc.keyring(settings), settings.kyc_current_key_id, aad=_aad(order.id, sha256)
    )
    frame = CameraFrame(
        session_id=camera.id,
        order_id=order.id,
        address=address,
        state=result["state"],
        distance=result["distance"],
        faces=result["faces"],
        sha256=sha256,
        key_id=key_id,
        thumbnail=blob,
    )
    session.add(frame)
    session.flush()
    if camera.streak_state == frame.state:
        camera.streak_length += 1
    else:
        camera.streak_state, camera.streak_length, camera.streak_start_frame = frame.state, 1, frame.id
    camera.frames += 1
    camera.camera = "on"
    camera.last_state, camera.last_distance, camera.last_faces = frame.state, frame.distance, frame.faces
    camera.updated_at = utcnow()
    session.add(camera)
    run = rules.FrameRun(
        address=address,
        order_id=order.id,
        state=frame.state,
        length=camera.streak_length,
        start_frame=camera.streak_start_frame,
        frame_id=frame.id,
        sha256=sha256,
        distance=frame.distance,
    )
    alerts = []
    for rule in rules.CAMERA_RULES:
        if config.enabled(rule.__name__):
            draft = rule(run, config)
            if draft is not None and (alert := raise_alert(session, draft)) is not None:
                alerts.append(alert)
    session.commit()
    session.refresh(frame)
    session.refresh(camera)
    for alert in alerts:
        session.refresh(alert)
    return frame, camera, alerts


def report_camera(session: Session, *, user: User, order: Order, camera_state: str) -> CameraSession:
    """The page says the camera is on, refused or unavailable."""
    camera = session.exec(
        select(CameraSession).where(CameraSession.order_id == order.id, CameraSession.address == user.address)
    ).first()
    if camera is None:
        camera = CameraSession(order_id=order.id, address=user.address, user_id=user.id)
    camera.camera = camera_state
    camera.updated_at = utcnow()
    session.add(camera)
    session.commit()
    session.refresh(camera)
    return camera


def active_sessions(session: Session, *, within_seconds: int) -> list[CameraSession]:
    since = utcnow() - timedelta(seconds=within_seconds)
    rows = session.exec(
        select(CameraSession).where(CameraSession.updated_at >= since).order_by(col(CameraSession.updated_at).desc())
    )
    return list(rows.all())


# ------------------------------------------------------------------ evidence


def may_see_thumbnails(session: Session, *, chain: ChainContext, user: User, order: Order) -> None:
    """Monitoring staff always; an arbitrator (or admin) once the order is disputed."""
    if user.has_role("monitor"):
        return
    if order.status in (OrderStatus.DISPUTED, OrderStatus.RESOLVED):
        channel = negotiation.open_channel(session, chain=chain, user=user, order_id=order.id)
        if channel.role == "arbitrator":
            return
    raise DomainError(403, "camera thumbnails are for monitoring staff, and for the arbitrator of a dispute")


def frames_of(session: Session, *, order_id: int) -> list[CameraFrame]:
    rows = session.exec(select(CameraFrame).where(CameraFrame.order_id == order_id).order_by(CameraFrame.id))
    return list(rows.all())


def camera_digest(frames: list[CameraFrame]) -> str | None:
    """keccak256 of the frames' SHA-256 digests in order: commits to every frame seen."""
    if not frames:
        return None
    return "0x" + keccak(b"".join(bytes.fromhex(f.sha256) for f in frames)).hex()


def dispute_evidence(chat_head: str, digest: str | None) -> str:
    """What goes into open_dispute: the chat head alone, or keccak256(chat head ++ camera digest)."""
    if digest is None:
        return chat_head
    return "0x" + keccak(bytes.fromhex(chat_head[2:]) + bytes.fromhex(digest[2:])).hex()


def thumbnail(session: Session, *, settings: Settings, frame_id: int) -> tuple[CameraFrame, bytes]:
    frame = session.get(CameraFrame, frame_id)
    if frame is None:
        raise DomainError(404, f"no camera frame {frame_id}")
    if frame.thumbnail is None:
        raise DomainError(410, f"the thumbnail of frame {frame_id} was erased after the retention period")
    try:
        return frame, open_sealed(
            frame.thumbnail, kyc.keyring(settings), frame.key_id, aad=_aad(frame.order_id, frame.sha256)
        )
    except SealError as err:
        raise DomainError(503, f"the thumbnail cannot be decrypted: {err}") from None


def erase_expired(session: Session, *, retention_days: float, now=None) -> int:
    """Thumbnails past retention are erased, except while their order is in dispute."""
    moment = now or utcnow()
    cutoff = moment - timedelta(days=retention_days)
    disputed = select(Order.id).where(Order.status == OrderStatus.DISPUTED)
    rows = session.exec(
        select(CameraFrame).where(
            CameraFrame.at < cutoff,
            col(CameraFrame.thumbnail).is_not(None),
            col(CameraFrame.order_id).not_in(disputed),
        )
    ).all()
    for frame in rows:
        frame.thumbnail = None
        frame.thumbnail_erased_at = moment
        session.add(frame)
    session.commit()
    return len(rows)
