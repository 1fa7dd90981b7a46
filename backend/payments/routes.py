"""Payment details (the seller's, sealed), terms documents (public), proofs (the buyer's)."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from backend.auth.deps import CurrentUser
from backend.chain.deps import ChainDep
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import DomainError
from backend.payments import service
from backend.payments.crypto import Keyring, keyring_from
from backend.payments.schemas import (
    Commitment,
    DetailCreate,
    DetailPublic,
    OrderDetails,
    ProofPublic,
    TermsCreate,
    TermsPublic,
)
from backend.validation import RowId

router = APIRouter(prefix="/payments", tags=["payments"])

Id = RowId


def get_keyring(settings: SettingsDep) -> Keyring:
    return keyring_from(settings)


KeyringDep = Annotated[Keyring, Depends(get_keyring)]


def _wallet(user) -> str:
    if not user.address:
        raise DomainError(403, "payment details belong to a wallet: sign in with your wallet")
    return user.address


@router.get("/details", response_model=list[DetailPublic], summary="My payment details (seller)")
def my_details(user: CurrentUser, session: SessionDep, keyring: KeyringDep):
    return [service.detail_public(keyring, d, with_salt=True) for d in service.details_of(session, owner=_wallet(user))]


@router.post("/details", response_model=DetailPublic, summary="Add payment details for a method (sealed at rest)")
def add_details(body: DetailCreate, user: CurrentUser, session: SessionDep, keyring: KeyringDep):
    detail = service.add_detail(
        session,
        keyring=keyring,
        owner=_wallet(user),
        method=body.method,
        label=body.label,
        fields=body.fields.model_dump(),
    )
    return service.detail_public(keyring, detail, with_salt=True)


@router.delete("/details/{detail_id}", status_code=204, summary="Retire payment details (ads that use them keep them)")
def retire_details(detail_id: Id, user: CurrentUser, session: SessionDep):
    service.retire_detail(session, owner=_wallet(user), detail_id=detail_id)
    return Response(status_code=204)


@router.post(
    "/terms", response_model=TermsPublic, summary="Register an ad's terms: returns the terms hash to put on chain"
)
def create_terms(body: TermsCreate, user: CurrentUser, session: SessionDep):
    row = service.create_terms(session, owner=_wallet(user), text=body.text, detail_ids=body.detail_ids)
    return {"terms_hash": row.terms_hash, "document": row.document, "detail_ids": row.detail_ids}


@router.get("/ads/{ad_id}/commitment", response_model=Commitment, summary="What an ad's terms hash commits to (public)")
def ad_commitment(ad_id: Id, session: SessionDep):
    return service.ad_commitment(session, ad_id=ad_id)


@router.get(
    "/orders/{order_id}/details",
    response_model=OrderDetails,
    summary="Where to pay: the seller's details for the order (its buyer; an arbitrator in a dispute)",
    responses={403: {"description": "not the order's buyer, or the order is over"}, 404: {"description": "no order"}},
)
def order_details(order_id: Id, user: CurrentUser, session: SessionDep, chain: ChainDep, keyring: KeyringDep):
    return service.order_details(session, chain=chain, keyring=keyring, user=user, order_id=order_id)


@router.post(
    "/orders/{order_id}/proof",
    response_model=ProofPublic,
    summary="The buyer's bank reference and proof file: its hash is the payment_ref to mark paid with",
    responses={
        403: {"description": "not the order's buyer"},
        413: {"description": "file too large"},
        415: {"description": "not a JPEG, PNG, WebP or PDF"},
    },
)
async def add_proof(
    order_id: Id,
    user: CurrentUser,
    session: SessionDep,
    chain: ChainDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    bank_reference: Annotated[str, Form(max_length=128)],
    file: Annotated[UploadFile | None, File()] = None,
):
    data = await file.read(settings.payment_proof_max_bytes + 1) if file is not None else None
    proof = service.add_proof(
        session,
        keyring=keyring,
        user=user,
        order_id=order_id,
        bank_reference=bank_reference,
        data=data,
        max_bytes=settings.payment_proof_max_bytes,
    )
    return next(
        p
        for p in service.proofs_of(session, chain=chain, keyring=keyring, user=user, order_id=order_id)
        if p["id"] == proof.id
    )


@router.get(
    "/orders/{order_id}/proofs",
    response_model=list[ProofPublic],
    summary="The order's proofs of payment (buyer, seller; an arbitrator in a dispute)",
)
def proofs(order_id: Id, user: CurrentUser, session: SessionDep, chain: ChainDep, keyring: KeyringDep):
    return service.proofs_of(session, chain=chain, keyring=keyring, user=user, order_id=order_id)


@router.get("/orders/{order_id}/proofs/{proof_id}/file", summary="A proof's file, decrypted")
def proof_file(
    order_id: Id, proof_id: Id, user: CurrentUser, session: SessionDep, chain: ChainDep, keyring: KeyringDep
):
    data, mime = service.proof_file(
        session, chain=chain, keyring=keyring, user=user, order_id=order_id, proof_id=proof_id
    )
    return Response(
        content=data, media_type=mime, headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"}
    )
