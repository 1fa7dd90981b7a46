"""HTTP routes of the KYC domain: the applicant, the officer's desk, the admins' audit."""

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, Response, UploadFile, status
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import AdminUser, CurrentUser, require_roles
from backend.auth.models import User
from backend.chain.deps import ChainDep
from backend.config import Settings
from backend.db import EngineDep, SessionDep
from backend.deps import SettingsDep
from backend.errors import DomainError
from backend.kyc import faces, service
from backend.kyc.models import KycApplication
from backend.kyc.pool import FacePool, FacePoolDep
from backend.kyc.schemas import (
    ApplicationDetail,
    ApplicationPublic,
    ApplicationSummary,
    ApproveRequest,
    AttestationPublic,
    AuditEntryPublic,
    AuditPage,
    AuditVerification,
    Eligibility,
    MyKyc,
    QueuePage,
    ReasonRequest,
    RetentionResult,
    Status,
)
from backend.notifications.deps import HubDep
from backend.notifications.hub import NotificationHub
from backend.validation import Address, RowId

log = logging.getLogger("sentinel.kyc")

router = APIRouter(prefix="/kyc", tags=["kyc"])

OfficerUser = Annotated[User, Depends(require_roles("kyc_officer"))]

_AUTH = {401: {"description": "Not signed in"}}
_OFFICER = {**_AUTH, 403: {"description": "Not a KYC officer"}}
_ADMIN = {**_AUTH, 403: {"description": "Not an admin"}}


def _public(application: KycApplication) -> ApplicationPublic:
    return ApplicationPublic.model_validate(application, from_attributes=True)


def _summary(application: KycApplication) -> ApplicationSummary:
    return ApplicationSummary.model_validate(application, from_attributes=True)


def _push(hub: NotificationHub, application: KycApplication) -> None:
    hub.publish(
        application.account,
        {"type": "kyc", **_public(application).model_dump()},
    )


async def _process(
    application_id: int,
    document: bytes,
    frames: list[bytes],
    settings: Settings,
    engine: Engine,
    pool: FacePool,
    hub: NotificationHub,
) -> None:
    """After the response: the face work in the pool, then the record, then the push."""

    def store(result: dict) -> KycApplication:
        with Session(engine) as session:
            return service.finish_processing(
                session, application_id=application_id, result=result, frames=frames, settings=settings
            )

    def fail(reason: str) -> KycApplication:
        with Session(engine) as session:
            return service.fail_processing(session, application_id=application_id, reason=reason)

    try:
        result = await pool.run(faces.analyse_application, document, frames, service.face_params(settings))
        application = await run_in_threadpool(store, result)
    except Exception as err:  # our failure, not the applicant's: say so, never leave it "processing"
        log.exception("kyc face check failed for application %s", application_id)
        reason = err.detail if isinstance(err, DomainError) else "the face check failed on our side: please send again"
        application = await run_in_threadpool(fail, reason)
    _push(hub, application)


# ------------------------------------------------------------------ applicant


@router.post(
    "/applications",
    response_model=ApplicationPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Apply: a document photo and several selfie frames (multipart)",
    responses={
        **_AUTH,
        409: {"description": "An application is already being checked, waits for an officer, or is approved"},
        413: {"description": "An image is over the size limit"},
        422: {"description": "An image is not a JPEG/PNG/WebP, is damaged, or has too many pixels; too few frames"},
    },
)
async def apply(
    user: CurrentUser,
    settings: SettingsDep,
    engine: EngineDep,
    pool: FacePoolDep,
    hub: HubDep,
    background: BackgroundTasks,
    document: Annotated[UploadFile, File(description="Photo of the identity document (JPEG, PNG or WebP)")],
    frames: Annotated[list[UploadFile], File(description="Selfie frames from the camera, in order (3 or more)")],
    document_number: Annotated[str, Form(max_length=64)],
    document_type: Annotated[str, Form(max_length=16)] = "passport",
) -> ApplicationPublic:
    """Answers at once with status "processing"; the face check runs in the worker pool and
    its outcome (submitted / retake / rejected) arrives as a `kyc` push and at GET /kyc/me."""
    # Whole files: the body limit of this route bounds them, and each size is judged below.
    document_bytes = await document.read()
    frame_bytes = [await f.read() for f in frames]
    service.check_uploads(
        settings=settings, document=document_bytes, frames=frame_bytes, document_number=document_number
    )

    def create() -> KycApplication:
        with Session(engine) as session:
            return service.create_application(
                session,
                user=user,
                settings=settings,
                document=document_bytes,
                frame_count=len(frame_bytes),
                document_number=document_number,
                document_type=document_type,
            )

    application = await run_in_threadpool(create)
    _push(hub, application)
    background.add_task(_process, application.id, document_bytes, frame_bytes, settings, engine, pool, hub)
    return _public(application)


@router.get("/me", response_model=MyKyc, summary="My latest application and whether I may trade", responses=_AUTH)
def my_kyc(user: CurrentUser, session: SessionDep, chain: ChainDep) -> MyKyc:
    application = service.latest_for(session, account=user.address) if user.address else None
    level = service.required_level(chain=chain)
    verified = bool(user.address) and service.is_verified(chain=chain, address=user.address, level=level)
    return MyKyc(application=_public(application) if application else None, verified=verified, required_level=level)


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationPublic,
    summary="One of my applications",
    responses={**_AUTH, 404: {"description": "No such application of yours"}},
)
def my_application(application_id: RowId, user: CurrentUser, session: SessionDep) -> ApplicationPublic:
    return _public(service.own_application(session, user=user, application_id=application_id))


@router.post(
    "/me/withdraw",
    response_model=ApplicationPublic,
    summary="Withdraw my submitted application",
    responses={**_AUTH, 409: {"description": "Nothing to withdraw"}},
)
def withdraw(user: CurrentUser, session: SessionDep, hub: HubDep) -> ApplicationPublic:
    application = service.withdraw(session, user=user)
    _push(hub, application)
    return _public(application)


@router.get(
    "/eligibility/{address}",
    response_model=Eligibility,
    summary="Whether an address may trade under the escrow's KYC switch",
    responses={422: {"description": "Not an address"}},
)
def eligibility(address: Address, chain: ChainDep) -> Eligibility:
    level = service.required_level(chain=chain)
    verified = service.is_verified(chain=chain, address=address, level=level)
    return Eligibility(address=address, required_level=level, verified=verified, can_trade=level == 0 or verified)


# ------------------------------------------------------------------ officer


@router.get("/officer/queue", response_model=QueuePage, summary="Applications (officer)", responses=_OFFICER)
def officer_queue(
    _officer: OfficerUser,
    session: SessionDep,
    status_: Annotated[Status | None, Query(alias="status")] = "submitted",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QueuePage:
    rows, total = service.queue(session, status=status_, limit=limit, offset=offset)
    return QueuePage(items=[_summary(r) for r in rows], total=total)


def _detail(session: Session, settings: Settings, application: KycApplication) -> ApplicationDetail:
    attestation = service.attestation(session, account=application.account)
    return ApplicationDetail(
        **_summary(application).model_dump(),
        reason_code=application.reason_code,
        updated_at=application.updated_at,
        decided_at=application.decided_at,
        document_type=application.document_type,
        document_number=service.document_number(settings=settings, application=application),
        frame_count=application.frame_count,
        frame_distances=application.frame_distances,
        liveness=application.liveness,
        timings_ms=application.timings_ms,
        accept_distance=settings.kyc_accept_distance,
        reject_distance=settings.kyc_reject_distance,
        record_hash=application.record_hash,
        level=application.level,
        expires_at=application.expires_at,
        attest_tx=application.attest_tx,
        revoke_tx=application.revoke_tx,
        erased=application.erased_at is not None,
        history=[_summary(a) for a in service.history(session, application=application)],
        attestation=AttestationPublic.model_validate(attestation, from_attributes=True) if attestation else None,
    )


@router.get(
    "/officer/applications/{application_id}",
    response_model=ApplicationDetail,
    summary="An application with its figures and the applicant's history (officer)",
    responses={**_OFFICER, 404: {"description": "No such application"}},
)
def officer_application(
    application_id: RowId, _officer: OfficerUser, session: SessionDep, settings: SettingsDep
) -> ApplicationDetail:
    return _detail(session, settings, service.get_application(session, application_id=application_id))


@router.get(
    "/officer/applications/{application_id}/{which}",
    response_class=Response,
    summary="The document or selfie image, decrypted (officer)",
    responses={**_OFFICER, 404: {"description": "No such application, or the image was erased"}},
)
def officer_image(
    application_id: RowId,
    which: Literal["document", "selfie"],
    _officer: OfficerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    application = service.get_application(session, application_id=application_id)
    data, media_type = service.image(settings=settings, application=application, which=which)
    # Personal data: never in a shared cache, never sniffed into something else.
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(content=data, media_type=media_type, headers=headers)


@router.post(
    "/officer/applications/{application_id}/approve",
    response_model=ApplicationDetail,
    summary="Approve: KycRegistry.attest from the desk's officer key (officer)",
    responses={**_OFFICER, 404: {"description": "No such application"}, 409: {"description": "Not submitted"}},
)
def approve(
    application_id: RowId,
    body: ApproveRequest,
    officer: OfficerUser,
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
    hub: HubDep,
) -> ApplicationDetail:
    application = service.approve(
        session,
        chain=chain,
        settings=settings,
        officer=officer,
        application_id=application_id,
        level=body.level,
        expires_at=body.expires_at,
        valid_days=body.valid_days,
    )
    _push(hub, application)
    return _detail(session, settings, application)


@router.post(
    "/officer/applications/{application_id}/reject",
    response_model=ApplicationDetail,
    summary="Reject with a reason (officer)",
    responses={**_OFFICER, 404: {"description": "No such application"}, 409: {"description": "Not submitted"}},
)
def reject(
    application_id: RowId,
    body: ReasonRequest,
    officer: OfficerUser,
    session: SessionDep,
    settings: SettingsDep,
    hub: HubDep,
) -> ApplicationDetail:
    application = service.reject(session, officer=officer, application_id=application_id, reason=body.reason)
    _push(hub, application)
    return _detail(session, settings, application)


@router.post(
    "/officer/applications/{application_id}/revoke",
    response_model=ApplicationDetail,
    summary="Revoke an approval on chain, with a reason (officer)",
    responses={**_OFFICER, 404: {"description": "No such application"}, 409: {"description": "Not approved"}},
)
def revoke(
    application_id: RowId,
    body: ReasonRequest,
    officer: OfficerUser,
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
    hub: HubDep,
) -> ApplicationDetail:
    application = service.revoke(
        session, chain=chain, settings=settings, officer=officer, application_id=application_id, reason=body.reason
    )
    _push(hub, application)
    return _detail(session, settings, application)


# -------------------------------------------------------------------- admin


@router.get(
    "/audit", response_model=AuditPage, summary="The officers' audit log, newest first (admin)", responses=_ADMIN
)
def audit(
    _admin: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    rows, total = service.audit_page(session, limit=limit, offset=offset)
    return AuditPage(items=[AuditEntryPublic.model_validate(r, from_attributes=True) for r in rows], total=total)


@router.get(
    "/audit/verify",
    response_model=AuditVerification,
    summary="Recheck the audit log's hash chain (admin)",
    responses=_ADMIN,
)
def audit_verify(_admin: AdminUser, session: SessionDep) -> AuditVerification:
    return AuditVerification(**service.verify_audit(session))


@router.post(
    "/admin/applications/{application_id}/erase",
    response_model=ApplicationDetail,
    summary="Erase a rejected or withdrawn applicant's personal data (admin)",
    responses={**_ADMIN, 404: {"description": "No such application"}, 409: {"description": "Not erasable"}},
)
def erase(application_id: RowId, admin: AdminUser, session: SessionDep, settings: SettingsDep) -> ApplicationDetail:
    application = service.erase(session, actor=admin, application_id=application_id)
    return _detail(session, settings, application)


@router.post(
    "/admin/retention",
    response_model=RetentionResult,
    summary="Apply the retention limit now (admin)",
    responses=_ADMIN,
)
def retention(_admin: AdminUser, session: SessionDep, settings: SettingsDep) -> RetentionResult:
    return RetentionResult(erased=service.erase_expired(session, retention_days=settings.kyc_retention_days))
