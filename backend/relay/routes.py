"""Gasless actions: prepare the EIP-712 payload to sign, then submit the signature and an
admitted node (the live one with the freshest heartbeat) sends the transaction and pays its gas."""

from fastapi import APIRouter

from backend.chain.deps import ChainDep
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.monitoring.service import refuse_frozen_relay
from backend.relay import service
from backend.relay.schemas import RelayPrepared, RelayPrepareRequest, RelayResult, RelaySubmitRequest

router = APIRouter(prefix="/relay", tags=["relay"])


@router.post(
    "/prepare",
    response_model=RelayPrepared,
    summary="The EIP-712 payload a buyer or seller signs for a gasless action",
    responses={
        404: {"description": "no such order on chain"},
        409: {"description": "the order's state forbids it"},
        503: {"description": "the chain node is unreachable"},
    },
)
def prepare(body: RelayPrepareRequest, chain: ChainDep) -> RelayPrepared:
    return service.prepare(chain=chain, action=body.action, order_id=body.order_id, payment_ref=body.payment_ref)


@router.post(
    "/submit",
    response_model=RelayResult,
    summary="Relay a signed action: checked for free first, then sent by an admitted node",
    responses={
        400: {"description": "wrong signer, expired deadline, bad nonce or signature"},
        403: {"description": "the signer's account is frozen by the desk"},
        404: {"description": "no such order on chain"},
        409: {"description": "nonce already used, or the order's state forbids the action"},
        503: {"description": "no admitted node is live (or the relayer cannot send), or the chain node is unreachable"},
    },
)
def submit(body: RelaySubmitRequest, chain: ChainDep, session: SessionDep, settings: SettingsDep) -> RelayResult:
    refuse_frozen_relay(session, chain=chain, action=body.action, order_id=body.order_id)
    return service.submit(chain=chain, session=session, settings=settings, request=body)
