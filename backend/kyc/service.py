"""KYC: applications, the officers' decisions on chain, the audit chain, erasure."""

import hashlib
import json
import logging
import os
import threading
import time

from eth_account import Account
from eth_utils import keccak, to_checksum_address
from sqlalchemy import func
from sqlmodel import Session, col, select
from web3.exceptions import ContractLogicError, TimeExhausted

from backend.auth.models import User
from backend.chain.deps import ChainContext
from backend.config import Settings
from backend.crypto import SealError, open_sealed, seal
from backend.errors import DomainError
from backend.kyc import faces, images
from backend.kyc.models import KycApplication, KycAttestation, KycAuditEntry

log = logging.getLogger("sentinel.kyc")

ACTIVE = ("processing", "submitted", "approved")
ERASABLE = ("rejected", "withdrawn", "retake")
GENESIS = "0" * 64
RECEIPT_TIMEOUT_SECONDS = 30
DOCUMENT_TYPES = ("passport", "id_card", "driving_licence")

_audit_lock = threading.Lock()
_send_lock = threading.Lock()


def now() -> int:
    return int(time.time())


def face_params(settings: Settings) -> faces.Params:
    return faces.Params(
        max_bytes=settings.kyc_max_image_bytes,
        max_pixels=settings.kyc_max_image_pixels,
        size=settings.kyc_detect_size,
        accept=settings.kyc_accept_distance,
        reject=settings.kyc_reject_distance,
        min_parallax=settings.kyc_liveness_min_parallax,
        blink_ratio=settings.kyc_liveness_blink_ratio,
    )


def keyring(settings: Settings) -> dict[str, str]:
    return {key_id: key.get_secret_value() for key_id, key in settings.kyc_keys.items()}


def actor_of(user: User | None) -> str:
    if user is None:
        return "system"
    return f"user:{user.id}:{user.username or user.address}"


# ------------------------------------------------------------------ applicant


def check_uploads(*, settings: Settings, document: bytes, frames: list[bytes], document_number: str) -> None:
    """Everything that can be refused before any pixel is decoded (cheap: in the request)."""
    if len(frames) < settings.kyc_min_frames:
        raise DomainError(422, f"send at least {settings.kyc_min_frames} selfie frames, not {len(frames)}")
    if len(frames) > settings.kyc_max_frames:
        raise DomainError(422, f"send at most {settings.kyc_max_frames} selfie frames, not {len(frames)}")
    number = document_number.strip()
    if not 4 <= len(number) <= 32 or not all(c.isalnum() or c in " -/" for c in number):
        raise DomainError(422, "document number: 4 to 32 letters, digits, spaces, '-' or '/'")
    labelled = [("document photo", document)] + [(f"selfie frame {i}", f) for i, f in enumerate(frames, start=1)]
    for label, data in labelled:
        try:
            images.inspect(
                data, label, max_bytes=settings.kyc_max_image_bytes, max_pixels=settings.kyc_max_image_pixels
            )
        except images.ImageRejected as rejected:
            raise DomainError(413 if rejected.code == "too_large" else 422, rejected.reason) from None


def create_application(
    session: Session,
    *,
    user: User,
    settings: Settings,
    document: bytes,
    frame_count: int,
    document_number: str,
    document_type: str,
) -> KycApplication:
    if not user.address:
        raise DomainError(403, "KYC is for wallet accounts: sign in with your wallet")
    if document_type not in DOCUMENT_TYPES:
        raise DomainError(422, f"document type: one of {', '.join(DOCUMENT_TYPES)}")
    latest = latest_for(session, account=user.address)
    if latest is not None and latest.status in ACTIVE:
        words = {"processing": "is being checked", "submitted": "awaits an officer", "approved": "is approved"}
        raise DomainError(409, f"your application {latest.id} {words[latest.status]}: no new one is needed now")
    stamp = now()
    salt = os.urandom(32).hex()
    application = KycApplication(
        account=user.address,
        user_id=user.id,
        status="processing",
        created_at=stamp,
        updated_at=stamp,
        document_type=document_type,
        frame_count=frame_count,
        document_sha256=hashlib.sha256(document).hexdigest(),
        document_number_sha256=hashlib.sha256(bytes.fromhex(salt) + document_number.strip().encode()).hexdigest(),
        salt=salt,
    )
    session.add(application)
    session.flush()  # the id goes into the sealing's associated data
    key_id = settings.kyc_current_key_id
    ring = keyring(settings)
    application.key_id = key_id
    application.document_image = seal(document, ring, key_id, aad=_aad(application, "document"))[1]
    application.document_image_type = images.sniff(document)
    application.document_number = seal(document_number.strip().encode(), ring, key_id, aad=_aad(application, "number"))[
        1
    ]
    session.commit()
    session.refresh(application)
    return application


def finish_processing(
    session: Session, *, application_id: int, result: dict, frames: list[bytes], settings: Settings
) -> KycApplication:
    """Store what the face workers found and move the application on."""
    application = session.get(KycApplication, application_id)
    stamp = now()
    application.updated_at = stamp
    application.timings_ms = result.get("timings_ms")
    if result["outcome"] == "retake":
        application.status = "retake"
        application.reason_code = result["reason_code"]
        application.reason = result["reason"][:256]
        application.decided_at = stamp
        _audit(session, actor=None, action="retake", application=application, detail={"reason": application.reason})
        session.commit()
        session.refresh(application)
        return application

    selfie = frames[result["selfie_index"]]
    application.distance = result["distance"]
    application.frame_distances = result["frame_distances"]
    application.match = result["match"]
    application.liveness_passed = result["liveness"]["passed"]
    application.liveness = {**result["liveness"], "frame_spread": result["frame_spread"]}
    application.selfie_image = seal(selfie, keyring(settings), application.key_id, aad=_aad(application, "selfie"))[1]
    application.selfie_image_type = images.sniff(selfie)
    application.selfie_sha256 = hashlib.sha256(selfie).hexdigest()
    application.record_hash = record_hash(application)
    figures = {"distance": application.distance, "match": application.match, "liveness": application.liveness_passed}
    if application.match == "mismatch":
        application.status = "rejected"
        application.reason_code = "face_mismatch"
        application.reason = (
            f"the face in the selfie does not match the document photo (distance {application.distance:.2f}, "
            f"refused above {settings.kyc_reject_distance:.2f})"
        )
        application.decided_at = stamp
        _audit(session, actor=None, action="auto_reject", application=application, detail=figures)
    else:
        application.status = "submitted"
        _audit(session, actor=None, action="submitted", application=application, detail=figures)
    session.commit()
    session.refresh(application)
    return application


def fail_processing(session: Session, *, application_id: int, reason: str) -> KycApplication:
    """The workers failed (not the images): the applicant may simply send again."""
    application = session.get(KycApplication, application_id)
    application.status = "retake"
    application.reason_code = "unavailable"
    application.reason = reason[:256]
    application.updated_at = application.decided_at = now()
    _audit(session, actor=None, action="retake", application=application, detail={"reason": application.reason})
    session.commit()
    session.refresh(application)
    return application


def record_hash(application: KycApplication) -> str:
    """keccak256 of the record's canonical JSON: what goes on chain instead of the data."""
    record = {
        "v": 1,
        "application": application.id,
        "account": application.account,
        "created_at": application.created_at,
        "document_type": application.document_type,
        "document_sha256": application.document_sha256,
        "document_number_sha256": application.document_number_sha256,
        "selfie_sha256": application.selfie_sha256,
        "distance": application.distance,
        "liveness": application.liveness_passed,
        "salt": application.salt,
    }
    return "0x" + keccak(text=json.dumps(record, sort_keys=True, separators=(",", ":"))).hex()


def latest_for(session: Session, *, account: str) -> KycApplication | None:
    query = select(KycApplication).where(KycApplication.account == account).order_by(col(KycApplication.id).desc())
    return session.exec(query.limit(1)).first()


def own_application(session: Session, *, user: User, application_id: int) -> KycApplication:
    application = session.get(KycApplication, application_id)
    # Someone else's application is "not found": its existence is not the caller's business.
    if application is None or application.account != user.address:
        raise DomainError(404, f"no application {application_id} of yours")
    return application


def withdraw(session: Session, *, user: User) -> KycApplication:
    application = latest_for(session, account=user.address) if user.address else None
    if application is None or application.status not in ("submitted", "retake"):
        raise DomainError(409, "you have no submitted application to withdraw")
    application.status = "withdrawn"
    application.reason_code = "withdrawn"
    application.reason = "withdrawn by the applicant"
    application.updated_at = application.decided_at = now()
    _audit(session, actor=user, action="withdraw", application=application, detail={})
    session.commit()
    session.refresh(application)
    return application


# ---------------------------------------------------------------- the chain


def required_level(*, chain: ChainContext) -> int:
    return int(chain.contract("OtcEscrow").functions.kyc_min_level().call())


def is_verified(*, chain: ChainContext, address: str, level: int) -> bool:
    return bool(chain.contract("KycRegistry").functions.is_verified(address, max(1, level)).call())


def chain_time(chain: ChainContext) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def _send(chain: ChainContext, officer_key: str, call, what: str) -> str:
    """Sign and send `call` from the desk's officer key; the mined transaction's hash."""
    officer = Account.from_key(officer_key)
    w3 = chain.w3
    with _send_lock:
        try:
            call.call({"from": officer.address}, block_identifier="pending")
            gas = call.estimate_gas({"from": officer.address}, block_identifier="pending") * 12 // 10
        except ContractLogicError as err:
            reason = (err.message if isinstance(getattr(err, "message", None), str) else str(err)).removeprefix(
                "execution reverted: "
            )
            if "missing role" in reason:
                raise DomainError(
                    503, f"the desk's officer key {officer.address} lacks KycRegistry's officer role: {reason}"
                ) from None
            raise DomainError(409, f"KycRegistry refused to {what}: {reason}") from None
        base = w3.eth.get_block("latest").get("baseFeePerGas")
        fees = (
            {"gasPrice": w3.eth.gas_price}
            if base is None
            else {"maxFeePerGas": 2 * base + w3.eth.max_priority_fee, "maxPriorityFeePerGas": w3.eth.max_priority_fee}
        )
        try:
            tx = call.build_transaction(
                {
                    "from": officer.address,
                    "nonce": w3.eth.get_transaction_count(officer.address, "pending"),
                    "chainId": chain.deployment.chain_id,
                    "gas": gas,
                    **fees,
                }
            )
            tx_hash = w3.eth.send_raw_transaction(officer.sign_transaction(tx).raw_transaction)
        except Exception as err:  # the node refused it: funds, fees, connectivity
            log.exception("kyc officer send failed")
            raise DomainError(503, f"could not send the {what} transaction: {err}") from None
    hex_hash = tx_hash.to_0x_hex()
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
    except TimeExhausted:
        raise DomainError(504, f"the {what} transaction {hex_hash} was sent but is not mined yet") from None
    if receipt["status"] != 1:
        raise DomainError(409, f"the {what} transaction {hex_hash} reverted on chain")
    return hex_hash


# ------------------------------------------------------------------ officer


def queue(session: Session, *, status: str | None, limit: int, offset: int) -> tuple[list[KycApplication], int]:
    query = select(KycApplication)
    count = select(func.count()).select_from(KycApplication)
    if status:
        query = query.where(KycApplication.status == status)
        count = count.where(KycApplication.status == status)
    # Oldest first: the queue is worked in the order people applied.
    rows = session.exec(query.order_by(col(KycApplication.id)).offset(offset).limit(limit)).all()
    return list(rows), session.exec(count).one()


def get_application(session: Session, *, application_id: int) -> KycApplication:
    application = session.get(KycApplication, application_id)
    if application is None:
        raise DomainError(404, f"no KYC application {application_id}")
    return application


def history(session: Session, *, application: KycApplication) -> list[KycApplication]:
    query = select(KycApplication).where(
        KycApplication.account == application.account, KycApplication.id != application.id
    )
    return list(session.exec(query.order_by(col(KycApplication.id).desc()).limit(50)).all())


def attestation(session: Session, *, account: str) -> KycAttestation | None:
    return session.get(KycAttestation, account)


def document_number(*, settings: Settings, application: KycApplication) -> str | None:
    if application.document_number is None:
        return None
    return _open(settings, application, application.document_number, "number").decode()


def image(*, settings: Settings, application: KycApplication, which: str) -> tuple[bytes, str]:
    blob = application.document_image if which == "document" else application.selfie_image
    kind = application.document_image_type if which == "document" else application.selfie_image_type
    if blob is None:
        gone = "was erased" if application.erased_at else "is not stored"
        raise DomainError(404, f"the {which} image of application {application.id} {gone}")
    return _open(settings, application, blob, which), images.FORMATS[kind]


def approve(
    session: Session,
    *,
    chain: ChainContext,
    settings: Settings,
    officer: User,
    application_id: int,
    level: int,
    expires_at: int | None,
    valid_days: int | None,
) -> KycApplication:
    application = get_application(session, application_id=application_id)
    if application.status != "submitted":
        raise DomainError(
            409, f"application {application_id} is {application.status}: only a submitted one is approved"
        )
    current = chain_time(chain)
    if expires_at is None:
        expires_at = current + 86_400 * (valid_days or settings.kyc_default_validity_days)
    if expires_at <= current:
        raise DomainError(422, f"expires_at {expires_at} is not after the chain's time {current}")
    if expires_at >= 2**64:
        raise DomainError(422, "expires_at is too far in the future")
    registry = chain.contract("KycRegistry")
    call = registry.functions.attest(
        to_checksum_address(application.account), level, expires_at, bytes.fromhex(application.record_hash[2:])
    )
    tx_hash = _send(chain, settings.kyc_officer_private_key.get_secret_value(), call, "attest")
    application.status = "approved"
    application.reason_code = application.reason = None
    application.level = level
    application.expires_at = expires_at
    application.attest_tx = tx_hash
    application.officer_id = officer.id
    application.updated_at = application.decided_at = now()
    _audit(
        session,
        actor=officer,
        action="approve",
        application=application,
        detail={"level": level, "expires_at": expires_at, "tx": tx_hash},
    )
    session.commit()
    session.refresh(application)
    return application


def reject(session: Session, *, officer: User, application_id: int, reason: str) -> KycApplication:
    application = get_application(session, application_id=application_id)
    if application.status != "submitted":
        raise DomainError(
            409, f"application {application_id} is {application.status}: only a submitted one is rejected"
        )
    application.status = "rejected"
    application.reason_code = "officer"
    application.reason = reason.strip()
    application.officer_id = officer.id
    application.updated_at = application.decided_at = now()
    _audit(session, actor=officer, action="reject", application=application, detail={"reason": application.reason})
    session.commit()
    session.refresh(application)
    return application


def revoke(
    session: Session, *, chain: ChainContext, settings: Settings, officer: User, application_id: int, reason: str
) -> KycApplication:
    application = get_application(session, application_id=application_id)
    if application.status != "approved":
        raise DomainError(409, f"application {application_id} is {application.status}: only an approved one is revoked")
    call = chain.contract("KycRegistry").functions.revoke(to_checksum_address(application.account), reason.strip())
    tx_hash = _send(chain, settings.kyc_officer_private_key.get_secret_value(), call, "revoke")
    application.status = "revoked"
    application.reason_code = "revoked"
    application.reason = reason.strip()
    application.revoke_tx = tx_hash
    application.updated_at = application.decided_at = now()
    _audit(
        session,
        actor=officer,
        action="revoke",
        application=application,
        detail={"reason": reason.strip(), "tx": tx_hash},
    )
    session.commit()
    session.refresh(application)
    return application


# -------------------------------------------------------------- erasure


def erase(session: Session, *, actor: User | None, application_id: int, why: str = "admin") -> KycApplication:
    """Drop the personal data of a rejected or withdrawn application; figures and hashes stay."""
    application = get_application(session, application_id=application_id)
    if application.status not in ERASABLE:
        raise DomainError(
            409,
            f"application {application_id} is {application.status}: only rejected, withdrawn or retake "
            "applications are erased (an approved record backs an attestation on chain)",
        )
    if application.erased_at is not None:
        raise DomainError(409, f"application {application_id} was already erased")
    application.document_image = application.selfie_image = application.document_number = None
    application.erased_at = application.updated_at = now()
    _audit(session, actor=actor, action="erase", application=application, detail={"why": why})
    session.commit()
    session.refresh(application)
    return application


def erase_expired(session: Session, *, retention_days: int, at: int | None = None) -> list[int]:
    """Retention: erase every erasable application decided more than `retention_days` ago."""
    cutoff = (at or now()) - retention_days * 86_400
    query = select(KycApplication.id).where(
        col(KycApplication.status).in_(ERASABLE),
        col(KycApplication.erased_at).is_(None),
        col(KycApplication.decided_at) <= cutoff,
    )
    ids = list(session.exec(query).all())
    for application_id in ids:
        erase(session, actor=None, application_id=application_id, why=f"retention: {retention_days} days")
    return ids


# ---------------------------------------------------------------- audit


def _entry_hash(entry: KycAuditEntry) -> str:
    fields = [
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.application_id,
        entry.account,
        entry.record_hash,
        entry.detail,
        entry.prev_hash,
    ]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


def _audit(session: Session, *, actor: User | None, action: str, application: KycApplication | None, detail: dict):
    """Appends to the chain in the caller's transaction (the caller commits both together)."""
    with _audit_lock:
        last = session.exec(select(KycAuditEntry).order_by(col(KycAuditEntry.seq).desc()).limit(1)).first()
        entry = KycAuditEntry(
            seq=(last.seq + 1) if last else 1,
            at=now(),
            actor=actor_of(actor),
            action=action,
            application_id=application.id if application else None,
            account=application.account if application else None,
            record_hash=application.record_hash if application else None,
            detail=json.dumps(detail, sort_keys=True, separators=(",", ":")),
            prev_hash=last.hash if last else GENESIS,
            hash="",
        )
        entry.hash = _entry_hash(entry)
        session.add(entry)
        session.flush()
    return entry


def audit_page(session: Session, *, limit: int, offset: int) -> tuple[list[KycAuditEntry], int]:
    rows = session.exec(select(KycAuditEntry).order_by(col(KycAuditEntry.seq).desc()).offset(offset).limit(limit))
    total = session.exec(select(func.count()).select_from(KycAuditEntry)).one()
    return list(rows.all()), total


def verify_audit(session: Session) -> dict:
    """Recompute every hash and link: an edited, deleted or inserted entry shows up."""
    prev = GENESIS
    count = 0
    for count, entry in enumerate(session.exec(select(KycAuditEntry).order_by(col(KycAuditEntry.seq))), start=1):
        if entry.seq != count:
            return _broken(count, entry.seq, prev, f"entry {count} is missing (next is {entry.seq})")
        if entry.prev_hash != prev:
            return _broken(count, entry.seq, prev, f"entry {entry.seq} does not link to the entry before it")
        if _entry_hash(entry) != entry.hash:
            return _broken(count, entry.seq, prev, f"entry {entry.seq} was changed after it was written")
        prev = entry.hash
    return {"ok": True, "entries": count, "head": prev if count else None, "first_bad_seq": None, "problem": None}


def _broken(count: int, seq: int, prev: str, problem: str) -> dict:
    return {"ok": False, "entries": count, "head": prev, "first_bad_seq": seq, "problem": problem}


# --------------------------------------------------------------- sealing


def _aad(application: KycApplication, field: str) -> bytes:
    return f"kyc_application:{application.id}:{field}".encode()


def _open(settings: Settings, application: KycApplication, blob: bytes, field: str) -> bytes:
    try:
        return open_sealed(blob, keyring(settings), application.key_id, aad=_aad(application, field))
    except SealError as err:
        log.error("kyc application %s %s does not open: %s", application.id, field, err)
        raise DomainError(503, f"the stored {field} cannot be decrypted: {err}") from None
