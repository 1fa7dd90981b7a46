"""HTTP and WebSocket routes of the monitoring center (role monitor; admins too)."""

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, WebSocket
from requests.exceptions import RequestException
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import CurrentUser, TrustedOrigin, accept_websocket, websocket_user
from backend.chain.deps import ChainContext, ChainDep, IndexerDep
from backend.chain.models import IndexedBlock
from backend.db import EngineDep, SessionDep
from backend.deps import SettingsDep
from backend.errors import DomainError
from backend.kyc.pool import FacePoolDep
from backend.market.models import Order
from backend.monitoring import camera, frames, rules, service
from backend.monitoring.deps import CenterDep, MonitorUser
from backend.monitoring.schemas import (
    AccountStanding,
    AlertDetail,
    AlertPage,
    AlertPublic,
    AssignBody,
    CameraEvidence,
    CameraFramePublic,
    CameraPolicy,
    CameraReport,
    CameraSessionPublic,
    ChainPanel,
    EscrowEventPublic,
    FrameResult,
    FreezeBody,
    IncidentPublic,
    KycPublic,
    NodesPanel,
    NoteBody,
    ResolveBody,
    RulePublic,
    Severity,
    StaffActionPublic,
    StaffPublic,
    StatusFilter,
)
from backend.negotiation import service as negotiation
from backend.validation import Address, RowId
from backend.websockets import forward_until_disconnect

log = logging.getLogger("sentinel.monitoring")

router = APIRouter(
    prefix="/monitoring",
    tags=["monitoring"],
    responses={401: {"description": "not signed in"}, 403: {"description": "requires role monitor (or admin)"}},
)

AlertId = RowId
AccountPath = Annotated[Address, Path(description="The account's wallet address")]


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest first, with filters")
def list_alerts(
    _staff: MonitorUser,
    session: SessionDep,
    status: StatusFilter | None = None,
    severity: Severity | None = None,
    rule: Annotated[str | None, Query(max_length=48)] = None,
    address: Address | None = None,
    order_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPage:
    rows, total = service.list_alerts(
        session,
        status=status,
        severity=severity,
        rule=rule,
        address=address,
        order_id=order_id,
        limit=limit,
        offset=offset,
    )
    return AlertPage(items=[AlertPublic.of(a) for a in rows], total=total, limit=limit, offset=offset)


def _detail(session, alert) -> AlertDetail:
    actions = [StaffActionPublic.of(a) for a in service.alert_actions(session, alert_id=alert.id)]
    return AlertDetail(**AlertPublic.of(alert).model_dump(), actions=actions)


@router.get("/alerts/{alert_id}", response_model=AlertDetail, responses={404: {"description": "no such alert"}})
def get_alert(alert_id: AlertId, _staff: MonitorUser, session: SessionDep) -> AlertDetail:
    return _detail(session, service.get_alert(session, alert_id=alert_id))


_ACTION_ERRORS = {404: {"description": "no such alert"}, 409: {"description": "the alert is already resolved"}}


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertDetail, responses=_ACTION_ERRORS)
def acknowledge(
    alert_id: AlertId, body: NoteBody, staff: MonitorUser, session: SessionDep, center: CenterDep
) -> AlertDetail:
    alert = service.acknowledge(session, alert_id=alert_id, actor=staff, note=body.note)
    center.nudge()
    return _detail(session, alert)


@router.post(
    "/alerts/{alert_id}/assign",
    response_model=AlertDetail,
    responses={**_ACTION_ERRORS, 422: {"description": "the assignee is not monitoring staff"}},
)
def assign(
    alert_id: AlertId, body: AssignBody, staff: MonitorUser, session: SessionDep, center: CenterDep
) -> AlertDetail:
    alert = service.assign(session, alert_id=alert_id, actor=staff, assignee=body.assignee, note=body.note)
    center.nudge()
    return _detail(session, alert)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetail, responses=_ACTION_ERRORS)
def resolve(
    alert_id: AlertId, body: ResolveBody, staff: MonitorUser, session: SessionDep, center: CenterDep
) -> AlertDetail:
    alert = service.resolve(session, alert_id=alert_id, actor=staff, note=body.note)
    center.nudge()
    return _detail(session, alert)


@router.get("/rules", response_model=list[RulePublic], summary="The rules, on or off, with their thresholds")
def list_rules(_staff: MonitorUser, center: CenterDep) -> list[RulePublic]:
    return [RulePublic(**r) for r in rules.describe(center.config)]


@router.get("/staff", response_model=list[StaffPublic], summary="Who alerts can be assigned to")
def list_staff(_staff: MonitorUser, session: SessionDep) -> list[StaffPublic]:
    return [StaffPublic(id=u.id, username=u.username, address=u.address) for u in service.staff_users(session)]


# ----------------------------------------------------------------- accounts


def _kyc_min_level(chain: ChainContext) -> int | None:
    try:
        return int(chain.contract("OtcEscrow").functions.kyc_min_level().call())
    except (RequestException, ValueError, OSError) as error:
        log.warning("could not read the escrow's KYC requirement: %s", error)
        return None


def _standing(session, chain: ChainContext, address: str) -> AccountStanding:
    s = service.standing(session, address=address, kyc_min_level=_kyc_min_level(chain))
    return AccountStanding(
        address=s.address,
        known=s.known,
        frozen=s.frozen,
        frozen_at=s.frozen_at,
        frozen_by=s.frozen_by,
        freeze_note=s.freeze_note,
        kyc=KycPublic.model_validate(s.kyc, from_attributes=True) if s.kyc is not None else None,
        kyc_min_level=s.kyc_min_level,
        in_force=s.in_force,
        open_alerts=s.open_alerts,
        actions=[StaffActionPublic.of(a) for a in s.actions],
    )


@router.get("/accounts/{address}", response_model=AccountStanding, summary="An account's freezes, KYC and history")
def account(address: AccountPath, _staff: MonitorUser, session: SessionDep, chain: ChainDep) -> AccountStanding:
    return _standing(session, chain, address)


@router.post(
    "/accounts/{address}/freeze",
    response_model=AccountStanding,
    summary="Freeze an account: sign-in, API, relays and chat refused from now on",
    responses={400: {"description": "your own account"}, 409: {"description": "already frozen"}},
)
def freeze(
    address: AccountPath, body: FreezeBody, staff: MonitorUser, session: SessionDep, chain: ChainDep
) -> AccountStanding:
    service.set_frozen(session, address=address, frozen=True, actor=staff, note=body.note)
    return _standing(session, chain, address)


@router.post(
    "/accounts/{address}/unfreeze",
    response_model=AccountStanding,
    summary="Lift the desk's freeze (a KYC revocation on chain stays until an officer attests again)",
    responses={400: {"description": "your own account"}, 409: {"description": "not frozen"}},
)
def unfreeze(
    address: AccountPath, body: FreezeBody, staff: MonitorUser, session: SessionDep, chain: ChainDep
) -> AccountStanding:
    service.set_frozen(session, address=address, frozen=False, actor=staff, note=body.note)
    return _standing(session, chain, address)


# -------------------------------------------------------------------- chain


@router.get("/chain", response_model=ChainPanel, summary="Head block, indexer lag, escrow activity, incidents")
def chain_panel(_staff: MonitorUser, session: SessionDep, chain: ChainDep, indexer: IndexerDep) -> ChainPanel:
    try:
        head = chain.w3.eth.block_number
    except (RequestException, OSError):
        head = None  # the panel still shows what the index holds
    indexed = indexer.checkpoint()
    refused = session.exec(select(func.count(IndexedBlock.number)).where(IndexedBlock.accepted == False)).one()  # noqa: E712
    return ChainPanel(
        head=head,
        indexed=indexed,
        lag_blocks=max(0, head - indexed) if head is not None else None,
        refused_blocks=refused,
        indexer_error=indexer.failure.error if indexer.failure else None,
        incidents=[
            IncidentPublic.model_validate(i, from_attributes=True) for i in service.recent_incidents(session, limit=15)
        ],
        escrow_events=[
            EscrowEventPublic.model_validate(e, from_attributes=True)
            for e in service.recent_escrow_events(session, limit=20)
        ],
    )


@router.get(
    "/nodes",
    response_model=NodesPanel,
    summary="Admitted nodes with their heartbeats and silence, the authorities and the quorum",
)
def nodes_panel(
    _staff: MonitorUser, session: SessionDep, chain: ChainDep, settings: SettingsDep, center: CenterDep
) -> NodesPanel:
    return service.nodes_panel(session, chain=chain, settings=settings, config=center.config)


# ------------------------------------------------------------------ live feed


@router.websocket("/ws", dependencies=[TrustedOrigin])
async def monitoring_socket(websocket: WebSocket, engine: EngineDep, center: CenterDep) -> None:
    """The live feed: `{"type": "subscribed"}` first, then `{"type": "alert", "alert"}` for
    every new alert and every change to one (its `revision` grows), and camera session
    states. Closes with 4401 when not signed in, 4403 without the monitor role or frozen;
    a page of another origin is refused at the handshake, as for the other sockets."""
    await accept_websocket(websocket)

    def caller() -> tuple[bool, bool]:
        with Session(engine) as session:
            user = websocket_user(websocket, session)
            return user is not None, bool(user and not user.frozen and user.has_role("monitor"))

    signed_in, allowed = await run_in_threadpool(caller)
    if not signed_in:
        await websocket.close(code=4401, reason="sign in first")
        return
    if not allowed:
        await websocket.close(code=4403, reason="requires role: monitor")
        return
    queue = center.subscribe()
    try:
        await websocket.send_json({"type": "subscribed"})
        await forward_until_disconnect(websocket, queue)
    finally:
        center.unsubscribe(queue)


# ------------------------------------------------------------------- camera

OrderIdPath = RowId


@router.get("/camera/policy", response_model=CameraPolicy, summary="What the order page's camera must do")
def camera_policy(settings: SettingsDep) -> CameraPolicy:
    return CameraPolicy(
        policy=settings.monitoring_camera_policy,
        interval_seconds=settings.monitoring_camera_interval_seconds,
        min_interval_seconds=settings.monitoring_camera_min_interval_seconds,
        width=camera.FRAME_WIDTH,
        height=camera.FRAME_HEIGHT,
        max_frame_bytes=settings.monitoring_camera_max_frame_bytes,
    )


@router.post(
    "/camera/{order_id}/frames",
    response_model=FrameResult,
    status_code=201,
    summary="One camera frame (the raw JPEG, PNG or WebP as the body) of the trader of an open order",
    responses={
        403: {"description": "not your order, or your account is frozen"},
        404: {"description": "no such order"},
        409: {"description": "the order has ended, or you have no verified KYC face"},
        413: {"description": "the frame is over the size limit"},
        422: {"description": "not an image (judged by content), damaged, or too many pixels"},
        429: {"description": "frames faster than the limit"},
    },
)
async def post_frame(
    order_id: OrderIdPath,
    request: Request,
    user: CurrentUser,
    settings: SettingsDep,
    engine: EngineDep,
    pool: FacePoolDep,
    center: CenterDep,
) -> FrameResult:
    """Matched against the trader's verified KYC face: match / mismatch / no face / several
    faces, with the distance. Kept: the frame's hash, the verdict and a small sealed
    thumbnail (see GET .../frames); the frame itself is not stored."""
    data = await request.body()
    camera.check_frame(data, settings=settings)

    def prepare():
        with Session(engine) as session:
            order = camera.order_for_frames(session, user=user, order_id=order_id)
            key, selfie = camera.verified_selfie(session, settings=settings, address=user.address)
            return order, key, selfie

    order, key, selfie = await run_in_threadpool(prepare)
    center.frame_gate.claim(user.id)
    reference = await center.reference(key, selfie, pool)
    result = await pool.run(frames.analyse_frame, data, reference, camera.frame_params(settings))
    if "rejected" in result:
        raise DomainError(422, result["rejected"])

    def store():
        with Session(engine) as session:
            return camera.record_frame(
                session, user=user, order=order, data=data, result=result, settings=settings, config=center.config
            )

    frame, camera_session, alerts = await run_in_threadpool(store)
    center.publish({"type": "camera", "session": CameraSessionPublic.of(camera_session).model_dump(mode="json")})
    if alerts:
        center.nudge()
    return FrameResult(
        frame_id=frame.id,
        order_id=order.id,
        state=frame.state,
        distance=frame.distance,
        faces=frame.faces,
        sha256=frame.sha256,
        alerts=[a.id for a in alerts],
    )


@router.post(
    "/camera/{order_id}/status",
    response_model=CameraSessionPublic,
    summary="The order page reports its camera on, refused or unavailable",
    responses={403: {"description": "not your order"}, 404: {"description": "no such order"}},
)
def report_camera(
    order_id: OrderIdPath, body: CameraReport, user: CurrentUser, session: SessionDep, center: CenterDep
) -> CameraSessionPublic:
    order = camera.order_for_frames(session, user=user, order_id=order_id)
    state = CameraSessionPublic.of(camera.report_camera(session, user=user, order=order, camera_state=body.camera))
    center.publish({"type": "camera", "session": state.model_dump(mode="json")})
    return state


@router.get("/camera/sessions", response_model=list[CameraSessionPublic], summary="Camera sessions seen lately")
def camera_sessions(
    _staff: MonitorUser, session: SessionDep, within_seconds: Annotated[int, Query(ge=1, le=86_400)] = 300
) -> list[CameraSessionPublic]:
    return [CameraSessionPublic.of(c) for c in camera.active_sessions(session, within_seconds=within_seconds)]


def _order(session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise DomainError(404, f"order {order_id} not found")
    return order


@router.get(
    "/camera/{order_id}/frames",
    response_model=list[CameraFramePublic],
    summary="An order's camera frames: verdicts, hashes, thumbnail links (staff; the arbitrator in a dispute)",
    responses={404: {"description": "no such order"}},
)
def order_frames(order_id: OrderIdPath, user: CurrentUser, session: SessionDep, chain: ChainDep) -> list:
    order = _order(session, order_id)
    camera.may_see_thumbnails(session, chain=chain, user=user, order=order)
    return [
        CameraFramePublic(
            id=f.id,
            address=f.address,
            at=f.at,
            state=f.state,
            distance=f.distance,
            faces=f.faces,
            sha256=f.sha256,
            thumbnail_url=f"/api/monitoring/camera/frames/{f.id}/thumbnail" if f.thumbnail is not None else None,
        )
        for f in camera.frames_of(session, order_id=order_id)
    ]


@router.get(
    "/camera/frames/{frame_id}/thumbnail",
    response_class=Response,
    summary="A frame's thumbnail (JPEG)",
    responses={
        200: {"content": {"image/jpeg": {}}},
        404: {"description": "no such frame"},
        410: {"description": "erased"},
    },
)
def frame_thumbnail(
    frame_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Response:
    frame, image = camera.thumbnail(session, settings=settings, frame_id=frame_id)
    camera.may_see_thumbnails(session, chain=chain, user=user, order=_order(session, frame.order_id))
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get(
    "/camera/{order_id}/evidence",
    response_model=CameraEvidence,
    summary="The camera digest and the dispute evidence (chat head ++ camera digest) of an order",
    responses={404: {"description": "no such order"}},
)
def camera_evidence(order_id: OrderIdPath, user: CurrentUser, session: SessionDep, chain: ChainDep) -> CameraEvidence:
    if not user.has_role("monitor"):
        negotiation.open_channel(session, chain=chain, user=user, order_id=order_id)  # parties, arbitrator
    _order(session, order_id)
    head, _count = negotiation.head_of(session, order_id=order_id)
    listed = camera.frames_of(session, order_id=order_id)
    digest = camera.camera_digest(listed)
    return CameraEvidence(
        order_id=order_id,
        frames=len(listed),
        camera_digest=digest,
        chat_head=head,
        dispute_evidence=camera.dispute_evidence(head, digest),
    )
