"""Ledger API: balances, history, top-up and withdrawal through the sandbox bank, paying
an order from the desk balance, transfer status; and the staff's view of the books."""

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import select

from backend.auth.deps import AdminUser, CurrentUser
from backend.chain.deps import ChainDep
from backend.db import EngineDep, SessionDep
from backend.deps import SettingsDep
from backend.errors import DomainError
from backend.ledger import service
from backend.ledger.models import LedgerAccount
from backend.ledger.schemas import (
    AccountPublic,
    AdminTransferRequest,
    BankRequest,
    CheckPublic,
    DeskPayment,
    History,
    TransferPublic,
)
from backend.market.models import Order
from backend.validation import RowId

router = APIRouter(prefix="/ledger", tags=["ledger"])

Limit = Annotated[int, Query(ge=1, le=500)]
OrderId = RowId
Currency = Annotated[str, Query(min_length=3, max_length=3, examples=["USD"])]


def _owner(user) -> str:
    if not user.address:
        raise DomainError(403, "the desk balance belongs to a wallet: sign in with your wallet")
    return user.address


@router.get("/accounts", response_model=list[AccountPublic], summary="My desk balances, one per currency")
def my_accounts(user: CurrentUser, session: SessionDep):
    return [service.account_public(a) for a in service.accounts_of(session, owner=_owner(user))]


@router.get(
    "/history", response_model=History, summary="My transfers in a currency, newest first, with running balance"
)
def my_history(user: CurrentUser, session: SessionDep, currency: Currency, limit: Limit = 100):
    account = service.account_for(session, owner=_owner(user), currency=currency, create=False)
    return service.history_public(session, account=account, limit=limit)


@router.post(
    "/topup",
    response_model=TransferPublic,
    summary="Add money from the sandbox bank",
    responses={409: {"description": "the id was used for another transfer"}, 422: {"description": "bad amount"}},
)
def topup(body: BankRequest, user: CurrentUser, engine: EngineDep):
    transfer, _ = service.bank_transfer(
        engine,
        owner=_owner(user),
        user_id=user.id,
        client_id=body.id,
        currency=body.currency,
        amount=body.amount,
        direction="topup",
    )
    return transfer


@router.post(
    "/withdraw",
    response_model=TransferPublic,
    summary="Send money back to the sandbox bank",
    responses={409: {"description": "insufficient funds, or the id was used for another transfer"}},
)
def withdraw(body: BankRequest, user: CurrentUser, engine: EngineDep):
    transfer, _ = service.bank_transfer(
        engine,
        owner=_owner(user),
        user_id=user.id,
        client_id=body.id,
        currency=body.currency,
        amount=body.amount,
        direction="withdrawal",
    )
    return transfer


@router.post(
    "/orders/{order_id}/pay",
    response_model=DeskPayment,
    summary="Pay an order from my desk balance: the money is held until the escrow settles",
    responses={
        403: {"description": "not the order's buyer"},
        404: {"description": "order not indexed"},
        409: {"description": "insufficient funds, the ad does not take the desk balance, or the order is not open"},
    },
)
def pay_order(order_id: OrderId, user: CurrentUser, engine: EngineDep, chain: ChainDep, settings: SettingsDep):
    return service.pay_order(
        engine,
        deployment=chain.deployment,
        buyer=_owner(user),
        order_id=order_id,
        margin=settings.ledger_pending_margin_seconds,
    )


@router.get(
    "/orders/{order_id}",
    response_model=DeskPayment | None,
    summary="The order's desk payment, if any (buyer, seller, or staff)",
    responses={403: {"description": "not a party to the order"}},
)
def order_payment(order_id: OrderId, user: CurrentUser, session: SessionDep, chain: ChainDep):
    order = session.get(Order, order_id)
    if order is None:
        raise DomainError(404, f"order {order_id} is not known to the desk")
    if user.address not in (order.buyer, order.seller) and not user.has_role("admin"):
        raise DomainError(403, "only the order's buyer and seller see its payment")
    transfer = service.order_payment(session, order_id=order_id)
    if transfer is None:
        return None
    decimals = service.token_decimals(chain.deployment, order.token)
    return {
        "order_id": order_id,
        "transfer": service.transfer_public(session, transfer),
        "payment_ref": transfer.reference,
        "fiat_total_minor": service.fiat_total(order, decimals),
    }


@router.get(
    "/transfers/{transfer_id}",
    response_model=TransferPublic,
    summary="A transfer and its status (pending, posted, voided, expired)",
    responses={404: {"description": "no such transfer, or not yours"}},
)
def transfer_status(transfer_id: Annotated[str, Path(max_length=128)], user: CurrentUser, session: SessionDep):
    transfer = service.get_transfer(session, transfer_id)
    if transfer is not None and not user.has_role("admin"):
        owners = {session.get(LedgerAccount, i).owner for i in (transfer.debit_account_id, transfer.credit_account_id)}
        if user.address not in owners:
            transfer = None  # someone else's transfer is as good as missing
    if transfer is None:
        raise DomainError(404, f"transfer {transfer_id!r} not found")
    return service.transfer_public(session, transfer)


# ------------------------------------------------------------------- staff


@router.get("/admin/accounts", response_model=list[AccountPublic], summary="Every ledger account (admin)")
def all_accounts(_admin: AdminUser, session: SessionDep):
    accounts = session.exec(select(LedgerAccount).order_by(LedgerAccount.currency, LedgerAccount.id)).all()
    return [service.account_public(a) for a in accounts]


@router.get("/admin/accounts/{account_id}/history", response_model=History, summary="One account's ledger (admin)")
def account_history(
    account_id: Annotated[int, Path(ge=1, le=2**31)], _admin: AdminUser, session: SessionDep, limit: Limit = 200
):
    account = session.get(LedgerAccount, account_id)
    if account is None:
        raise DomainError(404, f"ledger account {account_id} does not exist")
    return service.history_public(session, account=account, limit=limit)


@router.get(
    "/admin/check", response_model=CheckPublic, summary="Prove the books: debits equal credits per currency (admin)"
)
def check(_admin: AdminUser, session: SessionDep):
    return service.check_public(service.check(session))


@router.post(
    "/admin/transfers",
    response_model=TransferPublic,
    summary="A raw transfer between accounts: staff adjustments (admin)",
    responses={404: {"description": "unknown account or pending transfer"}, 409: {"description": "refused"}},
)
def admin_transfer(body: AdminTransferRequest, _admin: AdminUser, engine: EngineDep):
    return service.admin_transfer(engine, body=body)
