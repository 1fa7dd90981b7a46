"""Payment details, the terms documents ads commit to, and proofs of payment.

How a sell ad's on-chain `terms_hash` commits to the seller's payment details (anyone can
check it with `GET /api/payments/ads/{ad_id}/commitment`; a buy ad's is keccak256 of the
buyer's terms text, and its orders' buyers are shown the filling seller's current details):

    canonical(x)  = JSON with sorted keys, no spaces, UTF-8 (json.dumps(x, sort_keys=True,
                    separators=(",", ":"), ensure_ascii=False))
    commitment(d) = keccak256(salt ‖ canonical(fields of d)), salt = 16 random bytes kept
                    sealed with the record
    document      = {"v": 1, "terms": <the ad's terms text>,
                     "methods": [{"method": <bit>, "commitment": commitment(d)}, ... by bit]}
    terms_hash    = keccak256(canonical(document))

The document is public; the details are not, but a buyer who is shown them also gets each
salt, so they can recompute each commitment and see that what they pay to is what the
ad committed to on chain.

A proof of payment (`payment_ref` when marking paid):

    record      = {"v": 1, "order_id": n, "bank_reference": "...", "file_sha256": hex|null,
                   "salt": hex}
    payment_ref = keccak256(canonical(record))

The seller (and an arbitrator in a dispute) is shown the record and can recompute it.
"""

import hashlib
import json
import os
import time

from eth_utils import keccak
from sqlmodel import Session, select

from backend.chain.deps import ChainContext
from backend.errors import DomainError
from backend.ledger.service import DESK_BALANCE_BIT, fiat_total, token_decimals
from backend.market.models import Ad, Order
from backend.payments.crypto import Keyring
from backend.payments.models import PaymentDetail, PaymentProof, TermsDocument
from backend.protocol import OrderStatus, Side

DETAIL_FIELDS = ("bank_name", "holder", "account", "card_or_wallet", "note")
VISIBLE_TO_BUYER = (OrderStatus.OPEN, OrderStatus.PAID)
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def keccak_hex(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def commitment_of(fields: dict, salt: str) -> str:
    return keccak_hex(bytes.fromhex(salt) + canonical(fields))


def sniff(data: bytes) -> str | None:
    """The file's type by its first bytes (never by its name or the client's word)."""
    for magic, mime in MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# ------------------------------------------------------------------ details


def _detail_context(owner: str, method: int) -> str:
    return f"payment_detail:{owner}:{method}"


def open_detail(keyring: Keyring, detail: PaymentDetail) -> dict:
    return json.loads(keyring.open(detail.key_id, detail.sealed, context=_detail_context(detail.owner, detail.method)))


def add_detail(
    session: Session, *, keyring: Keyring, owner: str, method: int, label: str, fields: dict
) -> PaymentDetail:
    if method == DESK_BALANCE_BIT:
        raise DomainError(422, "the desk balance needs no payment details: the desk moves the money itself")
    salt = os.urandom(16).hex()
    key_id, sealed = keyring.seal(canonical({"fields": fields, "salt": salt}), context=_detail_context(owner, method))
    detail = PaymentDetail(
        owner=owner,
        method=method,
        label=label,
        key_id=key_id,
        sealed=sealed,
        commitment=commitment_of(fields, salt),
        created_at=int(time.time()),
    )
    session.add(detail)
    session.commit()
    session.refresh(detail)
    return detail


def details_of(session: Session, *, owner: str, include_retired: bool = False) -> list[PaymentDetail]:
    query = select(PaymentDetail).where(PaymentDetail.owner == owner)
    if not include_retired:
        query = query.where(PaymentDetail.retired == False)  # noqa: E712
    return list(session.exec(query.order_by(PaymentDetail.method, PaymentDetail.id)))


def retire_detail(session: Session, *, owner: str, detail_id: int) -> None:
    detail = session.get(PaymentDetail, detail_id)
    if detail is None or detail.owner != owner:
        raise DomainError(404, f"payment details {detail_id} not found")
    detail.retired = True  # kept: ads whose terms commit to it still show it to their buyers
    session.add(detail)
    session.commit()


def detail_public(keyring: Keyring, detail: PaymentDetail, *, with_salt: bool) -> dict:
    opened = open_detail(keyring, detail)
    out = {
        "id": detail.id,
        "method": detail.method,
        "label": detail.label,
        "fields": opened["fields"],
        "commitment": detail.commitment,
        "retired": detail.retired,
        "created_at": detail.created_at,
    }
    if with_salt:
        out["salt"] = opened["salt"]
    return out


# -------------------------------------------------------------------- terms


def terms_document(text: str, details: list[PaymentDetail]) -> dict:
    methods = sorted(({"method": d.method, "commitment": d.commitment} for d in details), key=lambda m: m["method"])
    return {"v": 1, "terms": text, "methods": methods}


def create_terms(session: Session, *, owner: str, text: str, detail_ids: list[int]) -> TermsDocument:
    details = []
    for detail_id in dict.fromkeys(detail_ids):
        detail = session.get(PaymentDetail, detail_id)
        if detail is None or detail.owner != owner:
            raise DomainError(404, f"payment details {detail_id} not found among yours")
        if detail.retired:
            raise DomainError(409, f"payment details {detail_id} are retired: choose current ones")
        details.append(detail)
    if len({d.method for d in details}) != len(details):
        raise DomainError(422, "one set of payment details per payment method")
    document = canonical(terms_document(text, details))
    terms_hash = keccak_hex(document)
    existing = session.get(TermsDocument, terms_hash)
    if existing is not None:
        return existing
    row = TermsDocument(
        terms_hash=terms_hash,
        owner=owner,
        document=document.decode(),
        detail_ids=[d.id for d in details],
        created_at=int(time.time()),
    )
    session.add(row)
    session.commit()
    return row


def ad_commitment(session: Session, *, ad_id: int) -> dict:
    ad = session.get(Ad, ad_id)
    if ad is None:
        raise DomainError(404, f"ad {ad_id} not found")
    doc = _payment_document(session, ad)
    how = (
        "a buy ad: terms_hash = keccak256 of the buyer's terms text; it commits to no payment details (the buyer "
        "pays the seller who fills the ad, to that seller's current details)"
        if ad.side == Side.BUY
        else "terms_hash = keccak256(document); each method's commitment = keccak256(salt ‖ canonical JSON of "
        "its fields); the buyer of an order on the ad is shown fields and salt"
    )
    return {
        "ad_id": ad_id,
        "terms_hash": ad.terms_hash,
        "document": doc.document if doc else None,
        "computed_hash": keccak_hex(doc.document.encode()) if doc else None,
        "matches": bool(doc) and keccak_hex(doc.document.encode()) == ad.terms_hash,
        "how": how,
    }


# --------------------------------------------------------------- who sees


def _payment_document(session: Session, ad: Ad) -> TermsDocument | None:
    """The terms document the ad commits to, if any. A buy ad's maker is the buyer, who pays
    whoever fills it: its terms hash is the hash of the buyer's terms text and never commits
    to payment details, even if some document happened to share the hash."""
    if ad.side == Side.BUY:
        return None
    return session.get(TermsDocument, ad.terms_hash)


def _order_and_ad(session: Session, order_id: int) -> tuple[Order, Ad]:
    order = session.get(Order, order_id)
    ad = session.get(Ad, order.ad_id) if order else None
    if order is None or ad is None:
        raise DomainError(404, f"order {order_id} not found")
    return order, ad


def _is_arbitrator(chain: ChainContext, user) -> bool:
    from backend.negotiation.service import ARBITRATOR_ROLE

    if user.has_role("admin"):
        return True
    if not user.address:
        return False
    try:
        return bool(chain.contract("OtcEscrow").functions.hasRole(ARBITRATOR_ROLE, user.address).call())
    except Exception as exc:  # an unreachable node must not become a 500
        raise DomainError(503, "cannot reach the chain to check the arbitrator role; try again") from exc


def order_details(session: Session, *, chain: ChainContext, keyring: Keyring, user, order_id: int) -> dict:
    """The seller's details for the order's ad: for the buyer of an open or paid order, and
    for an arbitrator while it is disputed. Everyone else: 403."""
    order, ad = _order_and_ad(session, order_id)
    if user.address == order.buyer:
        if order.status not in VISIBLE_TO_BUYER:
            raise DomainError(
                403, f"the order is {order.status.lower()}: payment details are shown while it is open or paid"
            )
    elif not (order.status == OrderStatus.DISPUTED and _is_arbitrator(chain, user)):
        raise DomainError(403, "only the order's buyer (and an arbitrator in a dispute) sees the payment details")
    doc = _payment_document(session, ad)
    if doc is not None:
        details = [session.get(PaymentDetail, i) for i in doc.detail_ids]
    else:  # terms that commit to no document (and every buy ad): the seller's current details for its methods
        details = [d for d in details_of(session, owner=order.seller) if ad.payment_methods >> d.method & 1]
    return {
        "order_id": order.id,
        "fiat": order.fiat,
        "fiat_total_minor": fiat_total(order, token_decimals(chain.deployment, order.token)),
        "reference": f"OTC-{order.id}",
        "terms_hash": ad.terms_hash,
        "committed": doc is not None,
        "methods": [{**detail_public(keyring, d, with_salt=True), "label": ""} for d in details],
    }


# ------------------------------------------------------------------- proofs


def _proof_context(order_id: int, buyer: str) -> str:
    return f"payment_proof:{order_id}:{buyer}"


def add_proof(
    session: Session,
    *,
    keyring: Keyring,
    user,
    order_id: int,
    bank_reference: str,
    data: bytes | None,
    max_bytes: int,
) -> PaymentProof:
    order, _ad = _order_and_ad(session, order_id)
    if user.address != order.buyer:
        raise DomainError(403, "only the order's buyer records a proof of payment")
    if order.status != OrderStatus.OPEN:
        raise DomainError(409, f"the order is {order.status.lower()}: a proof goes with marking it paid")
    bank_reference = bank_reference.strip()
    if not bank_reference or len(bank_reference) > 128:
        raise DomainError(422, "bank_reference: 1 to 128 characters, as your bank shows the transfer")
    mime = file_sha = sealed_file = None
    if data:
        if len(data) > max_bytes:
            raise DomainError(413, f"the proof file is {len(data)} bytes: at most {max_bytes}")
        mime = sniff(data)
        if mime is None:
            raise DomainError(415, "the proof must be a JPEG, PNG or WebP image or a PDF (checked by its content)")
        file_sha = hashlib.sha256(data).hexdigest()
    salt = os.urandom(16).hex()
    record = {"v": 1, "order_id": order.id, "bank_reference": bank_reference, "file_sha256": file_sha, "salt": salt}
    context = _proof_context(order.id, order.buyer)
    key_id, sealed = keyring.seal(canonical(record), context=context)
    if data:
        _, sealed_file = keyring.seal(data, context=context + ":file")
    proof = PaymentProof(
        order_id=order.id,
        buyer=order.buyer,
        key_id=key_id,
        sealed=sealed,
        sealed_file=sealed_file,
        mime=mime,
        size=len(data or b""),
        file_sha256=file_sha,
        record_hash=keccak_hex(canonical(record)),
        created_at=int(time.time()),
    )
    session.add(proof)
    session.commit()
    session.refresh(proof)
    return proof


def _proof_viewer(session: Session, *, chain: ChainContext, user, order_id: int) -> Order:
    order, _ad = _order_and_ad(session, order_id)
    if user.address in (order.buyer, order.seller):
        return order
    if order.status in (OrderStatus.DISPUTED, OrderStatus.RESOLVED) and _is_arbitrator(chain, user):
        return order
    raise DomainError(
        403, "only the order's buyer and seller (and an arbitrator in a dispute) see its proof of payment"
    )


def proofs_of(session: Session, *, chain: ChainContext, keyring: Keyring, user, order_id: int) -> list[dict]:
    order = _proof_viewer(session, chain=chain, user=user, order_id=order_id)
    proofs = session.exec(select(PaymentProof).where(PaymentProof.order_id == order_id).order_by(PaymentProof.id)).all()
    out = []
    for proof in proofs:
        record = json.loads(
            keyring.open(proof.key_id, proof.sealed, context=_proof_context(proof.order_id, proof.buyer))
        )
        out.append(
            {
                "id": proof.id,
                "order_id": proof.order_id,
                "record": record,
                "record_hash": proof.record_hash,
                "is_payment_ref": proof.record_hash == order.payment_ref,
                "mime": proof.mime,
                "size": proof.size,
                "created_at": proof.created_at,
            }
        )
    return out


def proof_file(session: Session, *, chain: ChainContext, keyring: Keyring, user, order_id: int, proof_id: int):
    _proof_viewer(session, chain=chain, user=user, order_id=order_id)
    proof = session.get(PaymentProof, proof_id)
    if proof is None or proof.order_id != order_id or proof.sealed_file is None:
        raise DomainError(404, f"no proof file {proof_id} on order {order_id}")
    data = keyring.open(proof.key_id, proof.sealed_file, context=_proof_context(proof.order_id, proof.buyer) + ":file")
    return data, proof.mime
