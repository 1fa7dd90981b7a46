"""Gasless actions: a user signs an EIP-712 action, an admitted node pays the gas.

Everything that can be checked for free is checked before a transaction is signed:
who signed, the deadline, the nonce, and finally an eth_call of the exact call from the
relayer's address. Only a call that would succeed costs the relayer gas.
"""

import logging
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from sqlmodel import Session
from web3.exceptions import ContractLogicError, TimeExhausted

from backend.chain.deps import ChainContext
from backend.chain.transact import fees, lock_for, send_call
from backend.config import Settings
from backend.errors import DomainError
from backend.nodes import service as node_service
from backend.protocol import OrderStatus, StatusCode
from backend.relay.schemas import (
    RelayAction,
    RelayPrepared,
    RelayResult,
    RelaySubmitRequest,
    TypedData,
)

log = logging.getLogger("sentinel.relay")

DOMAIN_NAME = "Sentinel OTC"
DOMAIN_VERSION = "1"
SIGNATURE_TTL_SECONDS = 10 * 60
RECEIPT_TIMEOUT_SECONDS = 30
ZERO_ADDRESS = "0x" + "00" * 20

_KNOWN_CODES = {code.value for code in StatusCode}
ALLOWED_STATUSES: dict[str, set[OrderStatus]] = {
    "mark_paid": {OrderStatus.OPEN},
    "release": {OrderStatus.OPEN, OrderStatus.PAID},
    "cancel": {OrderStatus.OPEN, OrderStatus.PAID},
}
PAST_TENSE = {"mark_paid": "marked paid", "release": "released", "cancel": "cancelled"}

PRIMARY_TYPES = {"mark_paid": "MarkPaid", "release": "Release", "cancel": "Cancel"}
_UINT = "uint256"
ACTION_TYPES = {
    "MarkPaid": [("orderId", _UINT), ("paymentRef", "bytes32"), ("nonce", _UINT), ("deadline", _UINT)],
    "Release": [("orderId", _UINT), ("nonce", _UINT), ("deadline", _UINT)],
    "Cancel": [("orderId", _UINT), ("nonce", _UINT), ("deadline", _UINT)],
}
DOMAIN_TYPE = [("name", "string"), ("version", "string"), ("chainId", _UINT), ("verifyingContract", "address")]

# Revert reasons that say the signed payload itself is wrong (400); the relayer's own
# standing is a service problem (503); anything else is the order's state (409).
_BAD_REQUEST_REASONS = ("signature expired", "invalid signature", "empty payment reference")
_UNAVAILABLE_REASONS = ("relayer not authorized",)


@dataclass(frozen=True)
class OrderParties:
    order_id: int
    buyer: str
    seller: str
    status: int

    def signer_for(self, action: RelayAction) -> str:
        return self.seller if action == "release" else self.buyer

    @staticmethod
    def role_for(action: RelayAction) -> str:
        return "seller" if action == "release" else "buyer"


def order_parties(*, chain: ChainContext, order_id: int) -> OrderParties:
    """The order's buyer and seller as the escrow has them now, indexed or not."""
    escrow = chain.contract("OtcEscrow")
    # Both parties from the order itself (buyer first, seller last): on a buy ad the ad's
    # maker is the buyer, so the ad cannot name the seller.
    order = escrow.functions.orders(order_id).call(block_identifier="pending")
    buyer, status, seller = order[0], order[1], order[-1]
    if buyer == ZERO_ADDRESS:
        raise DomainError(404, f"order {order_id} not found on chain")
    return OrderParties(order_id, to_checksum_address(buyer), to_checksum_address(seller), status)


def typed_data(
    *, chain: ChainContext, action: RelayAction, order_id: int, payment_ref: str | None, nonce: int, deadline: int
) -> dict:
    primary = PRIMARY_TYPES[action]
    values = {"orderId": str(order_id), "paymentRef": payment_ref, "nonce": str(nonce), "deadline": str(deadline)}
    return {
        "types": {
            "EIP712Domain": [{"name": n, "type": t} for n, t in DOMAIN_TYPE],
            primary: [{"name": n, "type": t} for n, t in ACTION_TYPES[primary]],
        },
        "primaryType": primary,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain.deployment.chain_id,
            "verifyingContract": chain.deployment.addresses["OtcEscrow"],
        },
        "message": {name: values[name] for name, _ in ACTION_TYPES[primary]},
    }


def prepare(*, chain: ChainContext, action: RelayAction, order_id: int, payment_ref: str | None) -> RelayPrepared:
    parties = order_parties(chain=chain, order_id=order_id)
    _check_status(parties, action)
    signer = parties.signer_for(action)
    nonce = chain.contract("OtcEscrow").functions.nonces(signer).call(block_identifier="pending")
    deadline = _chain_time(chain) + SIGNATURE_TTL_SECONDS
    data = typed_data(
        chain=chain, action=action, order_id=order_id, payment_ref=payment_ref, nonce=nonce, deadline=deadline
    )
    return RelayPrepared(
        action=action,
        order_id=order_id,
        payment_ref=payment_ref,
        signer=signer,
        nonce=nonce,
        deadline=deadline,
        typed_data=TypedData.model_validate(data),
    )


def check_signed(*, chain: ChainContext, request: RelaySubmitRequest) -> str:
    """The checks that cost nothing: who signed and the deadline. Returns the signer."""
    parties = order_parties(chain=chain, order_id=request.order_id)
    expected = parties.signer_for(request.action)
    recovered = _recover_signer(chain, request)
    if recovered != expected:
        role = parties.role_for(request.action)
        raise DomainError(400, f"signature is not from the order's {role} ({expected}): it recovers to {recovered}")
    now = _chain_time(chain)
    if request.deadline <= now:
        raise DomainError(400, f"signature expired: its deadline {request.deadline} is not after chain time {now}")
    return expected


def send_signed(*, chain: ChainContext, account, request: RelaySubmitRequest, signer: str) -> str:
    """Nonce check, simulation from `account`, then the transaction: what a relaying node
    (an agent, or the platform with its own key) does once check_signed passed."""
    w3 = chain.w3
    escrow = chain.contract("OtcEscrow")
    call = _escrow_call(escrow, request)
    fee_fields = fees(w3)  # outside the lock: sends from one key queue behind it
    with lock_for(account.address):
        # Under the lock and against the pending block, so a relay that is already on its
        # way counts: the same payload sent twice fails here, not on chain.
        _check_nonce(escrow, signer, request.nonce)
        gas = _simulate(call, account.address)
        try:
            tx_hash = send_call(w3, chain.deployment.chain_id, account, call, gas=gas, fee_fields=fee_fields)
        except Exception as err:  # the node refused it: funds, fees, connectivity
            log.exception("relay send failed")
            raise DomainError(503, f"the relayer could not send the transaction: {err}") from None
    return tx_hash.to_0x_hex()


def await_result(*, chain: ChainContext, tx_hash: str, signer: str, node: str, endpoint: str | None) -> RelayResult:
    result = RelayResult(tx_hash=tx_hash, status="submitted", signer=signer, relayer=node, node=node, endpoint=endpoint)
    try:
        receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
    except TimeExhausted:
        return result  # sent and paid for: the hash lets the client follow it
    if receipt["status"] != 1:
        raise DomainError(409, f"transaction {tx_hash} reverted on chain: the order changed while it was sent")
    return result.model_copy(update={"status": "mined", "block_number": receipt["blockNumber"]})


def submit(*, chain: ChainContext, session: Session, settings: Settings, request: RelaySubmitRequest) -> RelayResult:
    """Hands the signed action to a live admitted node (freshest heartbeat first, the next
    one if it fails); the desk's own key sends it only where settings allow."""
    signer = check_signed(chain=chain, request=request)
    failures = []
    for node in node_service.live_nodes(session=session, chain=chain, settings=settings):
        try:
            tx_hash = node_service.relay_through(chain=chain, node=node, request=request, settings=settings)
        except node_service.NodeUnavailable as err:
            failures.append(f"{node.address}: {err}")
            node_service.mark_failed(session=session, address=node.address)
            continue
        node_service.count_relay(session=session, address=node.address)
        return await_result(chain=chain, tx_hash=tx_hash, signer=signer, node=node.address, endpoint=node.endpoint)
    if settings.relay_fallback_to_own_key:
        account = Account.from_key(settings.relayer_private_key.get_secret_value())
        tx_hash = send_signed(chain=chain, account=account, request=request, signer=signer)
        return await_result(chain=chain, tx_hash=tx_hash, signer=signer, node=account.address, endpoint=None)
    tried = f" ({'; '.join(failures)})" if failures else ""
    raise DomainError(503, f"no admitted node is live to relay this action{tried}: try again shortly")


# ---------------------------------------------------------------- internal


def _check_status(parties: OrderParties, action: RelayAction) -> None:
    # Nobody should sign an action the escrow would refuse anyway.
    status = OrderStatus.from_code(parties.status) if parties.status in _KNOWN_CODES else None
    if status not in ALLOWED_STATUSES[action]:
        state = status.lower() if status else str(parties.status)
        raise DomainError(409, f"order {parties.order_id} is {state}: it cannot be {PAST_TENSE[action]}")


def _recover_signer(chain: ChainContext, request: RelaySubmitRequest) -> str:
    data = typed_data(
        chain=chain,
        action=request.action,
        order_id=request.order_id,
        payment_ref=request.payment_ref,
        nonce=request.nonce,
        deadline=request.deadline,
    )
    try:
        return Account.recover_message(encode_typed_data(full_message=data), signature=request.signature)
    except Exception:  # r/s/v out of range: no key signed this
        raise DomainError(400, "signature is not valid: no signer can be recovered from it") from None


def _check_nonce(escrow, signer: str, nonce: int) -> None:
    current = escrow.functions.nonces(signer).call(block_identifier="pending")
    if nonce < current:
        raise DomainError(
            409,
            f"nonce already used: this signed action was relayed before (the signer's next nonce is {current}); "
            "prepare and sign a new one",
        )
    if nonce > current:
        raise DomainError(400, f"nonce {nonce} is not the signer's next nonce ({current}): prepare a new action")


def _escrow_call(escrow, request: RelaySubmitRequest):
    signature = bytes.fromhex(request.signature[2:])
    fn = escrow.functions
    if request.action == "mark_paid":
        ref = bytes.fromhex(request.payment_ref[2:])
        return fn.relay_mark_paid(request.order_id, ref, request.nonce, request.deadline, signature)
    if request.action == "release":
        return fn.relay_release(request.order_id, request.nonce, request.deadline, signature)
    return fn.relay_cancel(request.order_id, request.nonce, request.deadline, signature)


def _simulate(call, relayer: str) -> int:
    """Runs the call from the relayer's address (the estimate executes it and reverts with
    the contract's reason); returns the gas limit to send it with."""
    try:
        # A margin over the estimate: warm/cold slots and refunds can shift between the
        # estimate and inclusion; gas left unused is not paid for.
        return call.estimate_gas({"from": relayer}, block_identifier="pending") * 12 // 10
    except ContractLogicError as err:
        reason = _revert_reason(err)
        if any(r in reason for r in _UNAVAILABLE_REASONS):
            raise DomainError(503, reason) from None
        if any(r in reason for r in _BAD_REQUEST_REASONS):
            raise DomainError(400, reason) from None
        raise DomainError(409, reason) from None


def _revert_reason(err: ContractLogicError) -> str:
    text = err.message if isinstance(getattr(err, "message", None), str) else str(err)
    return text.removeprefix("execution reverted: ").removeprefix("execution reverted").strip() or "reverted"


def _chain_time(chain: ChainContext) -> int:
    return chain.w3.eth.get_block("latest")["timestamp"]
