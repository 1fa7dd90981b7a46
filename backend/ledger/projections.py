"""Settlement follows the chain: the escrow's outcome of an order moves the desk payment.

- `OrderReleased`: the order's pending transfer is posted (the seller is paid);
- `OrderCancelled`: it is voided (the buyer's hold is released);
- `DisputeResolved`: the buyer's share of the tokens (buyer_bps) is posted as the same
  share of the money, the rest goes back to the buyer.

Registered after the market projection, so the order row already says what happened.
Every settlement transfer's id is derived from the chain event (tx hash, log index) and
the pending transfer it resolves, and a pending transfer resolves only once: a restart, a
replay of the projections or a repeated event never moves money twice.

The ledger's tables are not in `tables`: a projection rebuild (after a reorg) must not
wipe money. Instead, after a rebuild, a settlement whose event is no longer stored raises
a critical incident for staff; the money is never moved back silently.
"""

import logging

from eth_utils import keccak
from sqlalchemy import not_
from sqlmodel import Session, select

from backend.chain.models import ChainEvent, ChainIncident
from backend.chain.projections import Projection, require
from backend.errors import DomainError
from backend.ledger import service
from backend.ledger.models import POST_PENDING, VOID_PENDING, LedgerTransfer
from backend.market.models import Order

log = logging.getLogger("sentinel.ledger")

ESCROW = "OtcEscrow"
BPS = 10_000

projection = Projection("ledger")  # no tables: see the module's note
on = projection.on


def settlement_id(event: ChainEvent, action: str, pending_id: str) -> str:
    digest = keccak(text=f"{event.tx_hash}:{event.log_index}:{action}:{pending_id}").hex()
    return f"chain:{digest[:48]}"


def _settle(session: Session, event: ChainEvent, pending: LedgerTransfer, action: str, amount: int | None) -> None:
    flags = POST_PENDING if action == "post" else VOID_PENDING
    request = service.Transfer(
        id=settlement_id(event, action, pending.id),
        code="settlement",
        flags=flags,
        pending_id=pending.id,
        amount=amount,
        order_id=pending.order_id,
        event_tx=event.tx_hash,
        event_log=event.log_index,
    )
    try:
        service.apply_transfer(session, request, now=event.timestamp, chain_decides=True)
    except DomainError as refusal:
        # The window goes on; the money stays where it is until staff look at it.
        _incident(
            session,
            event,
            "ledger_conflict",
            f"order {pending.order_id}: {action} of {pending.id!r} refused: {refusal.detail}",
        )


def _pick(order: Order, pendings: list[LedgerTransfer]) -> tuple[LedgerTransfer | None, list[LedgerTransfer]]:
    """The payment the buyer marked paid with (its reference is the order's payment_ref),
    else the latest one; and the others, to be voided."""
    if not pendings:
        return None, []
    chosen = next((p for p in pendings if order.payment_ref and p.reference == order.payment_ref), pendings[-1])
    return chosen, [p for p in pendings if p is not chosen]


@on(ESCROW, "OrderReleased")
def order_released(session: Session, event: ChainEvent) -> None:
    order = require(session, Order, event.order_id, "order")
    chosen, others = _pick(order, service.open_order_pendings(session, order.id))
    if chosen is not None:
        _settle(session, event, chosen, "post", None)
    for pending in others:
        _settle(session, event, pending, "void", None)


@on(ESCROW, "OrderCancelled")
def order_cancelled(session: Session, event: ChainEvent) -> None:
    order = require(session, Order, event.order_id, "order")
    for pending in service.open_order_pendings(session, order.id):
        _settle(session, event, pending, "void", None)


@on(ESCROW, "DisputeResolved")
def dispute_resolved(session: Session, event: ChainEvent) -> None:
    order = require(session, Order, event.order_id, "order")
    chosen, others = _pick(order, service.open_order_pendings(session, order.id))
    if chosen is not None:
        share = chosen.amount * int(event.args["buyer_bps"]) // BPS
        if share > 0:
            _settle(session, event, chosen, "post", share)  # a partial post returns the rest
        else:
            _settle(session, event, chosen, "void", None)
    for pending in others:
        _settle(session, event, pending, "void", None)


@projection.after_rebuild
def settlements_without_their_event(session: Session) -> None:
    """After a reorg: every settlement whose chain event was dropped is a critical
    incident (once per settlement). The ledger keeps the money where it is."""
    gone = session.exec(
        select(LedgerTransfer).where(
            LedgerTransfer.event_tx.is_not(None),
            not_(
                select(ChainEvent.id)
                .where(ChainEvent.tx_hash == LedgerTransfer.event_tx, ChainEvent.log_index == LedgerTransfer.event_log)
                .exists()
            ),
        )
    ).all()
    for transfer in gone:
        reported = session.exec(
            select(ChainIncident.id).where(
                ChainIncident.kind == "ledger_reorg",
                ChainIncident.tx_hash == transfer.event_tx,
                ChainIncident.log_index == transfer.event_log,
            )
        ).first()
        if reported is not None:
            continue
        what = "posted" if transfer.flags & POST_PENDING else "voided"
        detail = (
            f"CRITICAL: a reorg dropped the event that {what} {transfer.amount} {transfer.currency} minor units "
            f"for order {transfer.order_id} (ledger transfer {transfer.id!r}, pending {transfer.pending_id!r}); "
            "the ledger keeps the money where it is: staff must review the order on the new chain"
        )
        session.add(
            ChainIncident(
                kind="ledger_reorg",
                block_number=0,
                tx_hash=transfer.event_tx,
                log_index=transfer.event_log,
                detail=detail,
            )
        )
        log.critical(detail)


def _incident(session: Session, event: ChainEvent, kind: str, detail: str) -> None:
    exists = session.exec(
        select(ChainIncident.id).where(
            ChainIncident.kind == kind,
            ChainIncident.tx_hash == event.tx_hash,
            ChainIncident.log_index == event.log_index,
        )
    ).first()
    if exists is None:
        session.add(
            ChainIncident(
                kind=kind,
                block_number=event.block_number,
                tx_hash=event.tx_hash,
                log_index=event.log_index,
                detail=detail,
            )
        )
        log.critical(detail)
