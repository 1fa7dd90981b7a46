"""The ledger's rules: accounts, idempotent transfers, pending transfers resolved once.

Two layers:
- `apply_transfer(session, ...)` and friends work inside a caller's transaction (the
  indexer's window settles orders in its own, so a window and its money commit together);
- `run(engine, fn)` gives the API its own write transaction: `BEGIN IMMEDIATE` on SQLite
  (the one writer lock is taken before anything is read), row locks `SELECT ... FOR
  UPDATE` on PostgreSQL (accounts locked in id order, so two transfers never deadlock
  each other), and a retry when the database says two writers collided. No Python lock:
  several processes share the ledger through the database alone.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eth_utils import keccak
from sqlalchemy import Engine, and_, func, not_, or_
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from backend.errors import DomainError
from backend.ledger.models import (
    CREDITS_MUST_NOT_EXCEED_DEBITS,
    DEBITS_MUST_NOT_EXCEED_CREDITS,
    EXPIRED,
    PENDING,
    POST_PENDING,
    VOID_PENDING,
    LedgerAccount,
    LedgerTransfer,
)

log = logging.getLogger("sentinel.ledger")

# 15 digits of minor units (10 trillion dollars in cents): a 40-digit amount is a typo or an
# attack, and every account total must stay inside a signed 64-bit column.
MAX_AMOUNT = 10**15 - 1
MAX_TOTAL = 2**63 - 1
MAX_TIMEOUT = 366 * 24 * 3600
BANK = "system:bank"
FEES = "system:fees"
SYSTEM_OWNERS = (BANK, FEES)
MAX_ATTEMPTS = 12

T = TypeVar("T")


class CommittedRefusal(DomainError):
    """A refusal whose side effect must still be committed: posting a pending transfer
    that is past its timeout writes the expiry, then refuses."""


# ------------------------------------------------------------ transactions


def begin_write(session: Session) -> None:
    """Open the session's transaction as a writer. SQLite: `BEGIN IMMEDIATE` takes the
    write lock now, so the balances read next cannot be changed by anyone before we write.
    PostgreSQL: nothing here; `_lock_accounts` row-locks what the transfer touches."""
    if session.get_bind().dialect.name == "sqlite":
        connection = session.connection()
        record = connection.connection  # the pooled DBAPI connection: its info outlives this session
        if not record.info.get("ledger_durable"):
            # Money is written durably: WAL with synchronous=FULL syncs at every commit.
            connection.exec_driver_sql("PRAGMA synchronous=FULL")
            record.info["ledger_durable"] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    if code in ("40001", "40P01", "23505"):  # serialization failure, deadlock, a raced insert
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "unique constraint failed" in text or "busy" in text


def run(engine: Engine, fn: Callable[[Session], T]) -> T:
    """`fn(session)` in its own write transaction, committed; retried when it collided with
    another writer (a raced id is then found by the retry and answered idempotently)."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            with Session(engine, expire_on_commit=False) as session:
                begin_write(session)
                try:
                    result = fn(session)
                except CommittedRefusal:
                    session.commit()
                    raise
                session.commit()
                return result
        except (OperationalError, IntegrityError) as error:
            if attempt == MAX_ATTEMPTS - 1 or not _retryable(error):
                raise
            time.sleep(min(0.2, 0.002 * 2**attempt))
    raise AssertionError("unreachable")


# ----------------------------------------------------------------- accounts


def now_s() -> int:
    return int(time.time())


def check_currency(currency: str) -> str:
    code = currency.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise DomainError(422, f"not a currency code: {currency!r} (expected three letters, like USD)")
    return code


def check_amount(amount: int, *, what: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError(422, f"{what} must be a whole number of minor units (cents)")
    if amount <= 0:
        raise DomainError(422, f"{what} must be positive: got {amount}")
    if amount > MAX_AMOUNT:
        raise DomainError(422, f"{what} is too large: at most {MAX_AMOUNT} minor units ({len(str(MAX_AMOUNT))} digits)")
    return amount


def account_for(session: Session, *, owner: str, currency: str, create: bool = True) -> LedgerAccount | None:
    """The (owner, currency) account, opened on first use. A user's account may not spend
    more than it holds; the system accounts (bank, fees) may."""
    currency = check_currency(currency)
    account = session.exec(
        select(LedgerAccount).where(LedgerAccount.owner == owner, LedgerAccount.currency == currency)
    ).first()
    if account is None and create:
        flags = 0 if owner in SYSTEM_OWNERS else DEBITS_MUST_NOT_EXCEED_CREDITS
        account = LedgerAccount(owner=owner, currency=currency, flags=flags, created_at=now_s())
        session.add(account)
        session.flush()  # a raced twin fails here on the unique (owner, currency): `run` retries
    return account


def _lock_accounts(session: Session, ids: list[int]) -> dict[int, LedgerAccount]:
    """The accounts, row-locked on PostgreSQL in id order (no deadlock between two
    transfers over the same pair), read afresh (no stale totals from the identity map)."""
    rows = session.exec(
        select(LedgerAccount)
        .where(LedgerAccount.id.in_(sorted(set(ids))))
        .order_by(LedgerAccount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


def available(account: LedgerAccount) -> int:
    """What a user's account can still spend: posted credits less posted and held debits."""
    return account.credits_posted - account.debits_posted - account.debits_pending


# ---------------------------------------------------------------- transfers


@dataclass(frozen=True)
class Transfer:
    """A transfer request. `pending_id` with POST_PENDING / VOID_PENDING resolves that
    pending transfer; its accounts come from it, and for a post `amount` may be None
    (the full amount) or less (a partial post; the rest goes back)."""

    id: str
    code: str
    debit_account_id: int | None = None
    credit_account_id: int | None = None
    amount: int | None = None
    flags: int = 0
    pending_id: str | None = None
    timeout: int | None = None  # seconds, PENDING only
    order_id: int | None = None
    reference: str | None = None
    event_tx: str | None = None
    event_log: int | None = None


def payment_reference(transfer_id: str) -> str:
    """An order's payment_ref on chain for a desk payment: keccak256 of the transfer id."""
    return "0x" + keccak(text=transfer_id).hex()


def get_transfer(session: Session, transfer_id: str) -> LedgerTransfer | None:
    return session.exec(select(LedgerTransfer).where(LedgerTransfer.id == transfer_id)).first()


def resolution_of(session: Session, pending_id: str) -> LedgerTransfer | None:
    return session.exec(select(LedgerTransfer).where(LedgerTransfer.pending_id == pending_id)).first()


def status_of(session: Session, transfer: LedgerTransfer) -> str:
    """pending / posted / voided / expired for a pending transfer; what it did otherwise."""
    if transfer.flags & PENDING:
        resolution = resolution_of(session, transfer.id)
        if resolution is None:
            return "pending"
        return _resolution_word(resolution)
    if transfer.flags & (POST_PENDING | VOID_PENDING):
        return _resolution_word(transfer)
    return "posted"


def _resolution_word(transfer: LedgerTransfer) -> str:
    if transfer.flags & EXPIRED:
        return "expired"
    return "voided" if transfer.flags & VOID_PENDING else "posted"


def _same(existing: LedgerTransfer, request: Transfer, expires_at: int | None) -> bool:
    fields = {
        "code": request.code,
        "flags": request.flags,
        "pending_id": request.pending_id,
        "order_id": request.order_id,
        "reference": request.reference,
    }
    if request.debit_account_id is not None:
        fields["debit_account_id"] = request.debit_account_id
    if request.credit_account_id is not None:
        fields["credit_account_id"] = request.credit_account_id
    if request.amount is not None:
        fields["amount"] = request.amount
    if request.flags & PENDING:
        # The timeout counts from the first request: only compare that one was given.
        return all(getattr(existing, k) == v for k, v in fields.items()) and existing.expires_at is not None
    return all(getattr(existing, k) == v for k, v in fields.items())


def apply_transfer(
    session: Session, request: Transfer, *, now: int | None = None, chain_decides: bool = False
) -> tuple[LedgerTransfer, bool]:
    """Write `request` inside the caller's write transaction. Returns (transfer, created):
    the same id again returns the first transfer and created=False; the same id with
    other fields is refused (409). Every refusal leaves nothing written.

    `chain_decides`: a settlement driven by the escrow's outcome resolves the pending
    transfer even past its timeout (the escrow held the order as paid meanwhile)."""
    now = now_s() if now is None else now
    kind = request.flags & (PENDING | POST_PENDING | VOID_PENDING)
    if kind not in (0, PENDING, POST_PENDING, VOID_PENDING):
        raise DomainError(422, "a transfer is at most one of pending, post-pending or void-pending")
    if not request.id or len(request.id) > 128:
        raise DomainError(422, "a transfer id is 1 to 128 characters")
    if request.amount is not None or kind in (0, PENDING):
        check_amount(request.amount if request.amount is not None else 0)
    if kind == PENDING and (request.timeout is None or not 0 < request.timeout <= MAX_TIMEOUT):
        raise DomainError(422, f"a pending transfer needs a timeout of 1 to {MAX_TIMEOUT} seconds")
    if kind in (POST_PENDING, VOID_PENDING) and not request.pending_id:
        raise DomainError(422, "posting or voiding names the pending transfer: pending_id is required")
    if kind in (0, PENDING) and request.pending_id:
        raise DomainError(422, "pending_id is only for posting or voiding a pending transfer")

    if kind in (POST_PENDING, VOID_PENDING):
        existing = get_transfer(session, request.id)
        if existing is not None:
            return _idempotent(existing, request)
        return _resolve(session, request, kind, now, chain_decides)
    # A creation looks its id up once, under the account locks (see _create).
    return _create(session, request, kind, now)


def _idempotent(existing: LedgerTransfer, request: Transfer) -> tuple[LedgerTransfer, bool]:
    if _same(existing, request, existing.expires_at):
        return existing, False
    raise DomainError(409, f"transfer id {request.id!r} is already used by a different transfer")


def _create(session: Session, request: Transfer, kind: int, now: int) -> tuple[LedgerTransfer, bool]:
    if request.debit_account_id is None or request.credit_account_id is None:
        raise DomainError(422, "a transfer needs a debit and a credit account")
    if request.debit_account_id == request.credit_account_id:
        raise DomainError(422, "debit and credit account must differ")
    accounts = _lock_accounts(session, [request.debit_account_id, request.credit_account_id])
    debit = accounts.get(request.debit_account_id)
    credit = accounts.get(request.credit_account_id)
    for wanted, found in ((request.debit_account_id, debit), (request.credit_account_id, credit)):
        if found is None:
            raise DomainError(404, f"ledger account {wanted} does not exist")
    if debit.currency != credit.currency:
        raise DomainError(
            409,
            f"currency mismatch: account {debit.id} is in {debit.currency}, account {credit.id} in {credit.currency}",
        )
    # The same id sent before, or committed by another writer while we waited for the locks.
    raced = get_transfer(session, request.id)
    if raced is not None:
        return _idempotent(raced, request)
    amount = request.amount
    if (
        debit.flags & DEBITS_MUST_NOT_EXCEED_CREDITS
        and debit.debits_posted + debit.debits_pending + amount > debit.credits_posted
    ):
        raise DomainError(
            409,
            f"insufficient funds: the account holds {available(debit)} {debit.currency} minor units, {amount} needed",
        )
    if (
        credit.flags & CREDITS_MUST_NOT_EXCEED_DEBITS
        and credit.credits_posted + credit.credits_pending + amount > credit.debits_posted
    ):
        raise DomainError(409, f"account {credit.id} may not be credited beyond its debits")
    side = "pending" if kind == PENDING else "posted"
    _change((debit, f"debits_{side}", amount), (credit, f"credits_{side}", amount))
    transfer = LedgerTransfer(
        id=request.id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        currency=debit.currency,
        flags=request.flags,
        expires_at=now + request.timeout if kind == PENDING else None,
        code=request.code,
        order_id=request.order_id,
        reference=request.reference,
        event_tx=request.event_tx,
        event_log=request.event_log,
        created_at=now_s(),  # wall clock, whatever clock decided the timeout
    )
    session.add(transfer)
    session.flush()
    return transfer, True


def _resolve(
    session: Session, request: Transfer, kind: int, now: int, chain_decides: bool
) -> tuple[LedgerTransfer, bool]:
    pending = get_transfer(session, request.pending_id)
    if pending is None:
        raise DomainError(404, f"pending transfer {request.pending_id!r} does not exist")
    if not pending.flags & PENDING:
        raise DomainError(409, f"transfer {pending.id!r} is not a pending transfer: it cannot be posted or voided")
    for given, actual, what in (
        (request.debit_account_id, pending.debit_account_id, "debit account"),
        (request.credit_account_id, pending.credit_account_id, "credit account"),
    ):
        if given is not None and given != actual:
            raise DomainError(422, f"the {what} differs from the pending transfer's ({actual})")
    accounts = _lock_accounts(session, [pending.debit_account_id, pending.credit_account_id])
    raced = get_transfer(session, request.id)
    if raced is not None:
        return _idempotent(raced, request)
    done = resolution_of(session, pending.id)
    if done is not None:
        word = _resolution_word(done)
        raise DomainError(409, f"pending transfer {pending.id!r} is already {word}: it resolves only once")
    if not chain_decides and pending.expires_at is not None and pending.expires_at <= now:
        _expire(session, pending, accounts, now)
        raise CommittedRefusal(
            409, f"pending transfer {pending.id!r} expired at {pending.expires_at}: its hold is released"
        )
    if kind == VOID_PENDING:
        if request.amount is not None and request.amount != pending.amount:
            raise DomainError(422, f"a void releases the whole pending amount ({pending.amount}), not {request.amount}")
        amount = pending.amount
    else:
        amount = pending.amount if request.amount is None else request.amount
        if amount > pending.amount:
            raise DomainError(422, f"cannot post {amount}: more than the pending amount {pending.amount}")
    return _write_resolution(session, pending, accounts, kind, amount, request, now), True


def _write_resolution(session, pending, accounts, kind, amount, request: Transfer, now: int) -> LedgerTransfer:
    debit = accounts[pending.debit_account_id]
    credit = accounts[pending.credit_account_id]
    changes = [(debit, "debits_pending", -pending.amount), (credit, "credits_pending", -pending.amount)]
    if kind == POST_PENDING:
        changes += [(debit, "debits_posted", amount), (credit, "credits_posted", amount)]
    _change(*changes)
    transfer = LedgerTransfer(
        id=request.id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        currency=pending.currency,
        flags=request.flags,
        pending_id=pending.id,
        code=request.code,
        order_id=pending.order_id if request.order_id is None else request.order_id,
        reference=request.reference,
        event_tx=request.event_tx,
        event_log=request.event_log,
        created_at=now_s(),  # wall clock, whatever clock decided the timeout
    )
    session.add(transfer)
    session.flush()
    return transfer


def _expire(session: Session, pending: LedgerTransfer, accounts, now: int) -> LedgerTransfer:
    request = Transfer(id=f"expire:{pending.id}", code="expiry", flags=VOID_PENDING | EXPIRED, pending_id=pending.id)
    return _write_resolution(session, pending, accounts, VOID_PENDING, pending.amount, request, now)


def _change(*changes: tuple[LedgerAccount, str, int]) -> None:
    """Apply all changes or none: every new total is checked before the first is set, so
    a refusal inside someone else's transaction (the indexer's) leaves nothing half done."""
    new_values = []
    for account, column, delta in changes:
        value = getattr(account, column) + delta
        if value > MAX_TOTAL:
            raise DomainError(409, f"account {account.id} would overflow its {column.replace('_', ' ')} total")
        if value < 0:  # a bug, never an input: refuse rather than write a negative total
            raise DomainError(409, f"account {account.id} {column.replace('_', ' ')} would go negative")
        new_values.append((account, column, value))
    for account, column, value in new_values:
        setattr(account, column, value)


def transfer(engine: Engine, request: Transfer, *, now: int | None = None) -> tuple[LedgerTransfer, bool]:
    """`apply_transfer` in its own committed transaction."""
    return run(engine, lambda session: apply_transfer(session, request, now=now))


# ------------------------------------------------------------------- expiry


def due_for_expiry(session: Session, now: int, *, limit: int = 100) -> list[LedgerTransfer]:
    """Unresolved pending transfers past their timeout. A desk payment the escrow already
    holds as paid (the order's payment_ref is this transfer's) waits for the chain's
    outcome instead: release posts it, cancel voids it, a ruling splits it."""
    from backend.market.models import Order  # the market's projection: read only

    resolution = aliased(LedgerTransfer)
    held_by_chain = (
        select(Order.id)
        .where(
            Order.id == LedgerTransfer.order_id,
            Order.payment_ref == LedgerTransfer.reference,
            Order.status.in_(("PAID", "DISPUTED")),
        )
        .exists()
    )
    query = (
        select(LedgerTransfer)
        .where(
            LedgerTransfer.flags.op("&")(PENDING) != 0,
            LedgerTransfer.expires_at <= now,
            not_(select(resolution.seq).where(resolution.pending_id == LedgerTransfer.id).exists()),
            not_(held_by_chain),
        )
        .order_by(LedgerTransfer.expires_at)
        .limit(limit)
    )
    return list(session.exec(query).all())


def expire_due(engine: Engine, *, now: int | None = None) -> int:
    """Void every pending transfer past its timeout; each in its own transaction."""
    now = now_s() if now is None else now
    with Session(engine) as session:
        due = [t.id for t in due_for_expiry(session, now)]
    count = 0
    for pending_id in due:

        def expire_one(session: Session, pending_id=pending_id) -> bool:
            pending = get_transfer(session, pending_id)
            accounts = _lock_accounts(session, [pending.debit_account_id, pending.credit_account_id])
            if resolution_of(session, pending_id) is not None:
                return False
            _expire(session, pending, accounts, now)
            return True

        count += run(engine, expire_one)
    return count


# ------------------------------------------------------------------ reading


@dataclass
class HistoryEntry:
    transfer: LedgerTransfer
    direction: str  # "in" | "out"
    counterparty: str
    posted_delta: int
    held_delta: int
    balance: int  # posted balance after this entry
    status: str


def history(session: Session, account: LedgerAccount, *, limit: int = 50) -> list[HistoryEntry]:
    """The account's transfers newest first, each with the posted balance after it."""
    rows = session.exec(
        select(LedgerTransfer)
        .where(or_(LedgerTransfer.debit_account_id == account.id, LedgerTransfer.credit_account_id == account.id))
        .order_by(LedgerTransfer.seq)
    ).all()
    others = {a.id: a.owner for a in session.exec(select(LedgerAccount)).all()} if rows else {}
    resolved = {
        t.pending_id: t
        for t in session.exec(select(LedgerTransfer).where(LedgerTransfer.pending_id.in_([r.id for r in rows]))).all()
    }
    entries: list[HistoryEntry] = []
    balance = 0
    for row in rows:
        outgoing = row.debit_account_id == account.id
        sign = -1 if outgoing else 1
        posted = 0 if row.flags & (PENDING | VOID_PENDING) else sign * row.amount
        held = 0
        if row.flags & PENDING:
            held = sign * row.amount
            status = _resolution_word(resolved[row.id]) if row.id in resolved else "pending"
        elif row.flags & (POST_PENDING | VOID_PENDING):
            status = _resolution_word(row)
        else:
            status = "posted"
        balance += posted
        counterparty = others.get(row.credit_account_id if outgoing else row.debit_account_id, "?")
        entries.append(HistoryEntry(row, "out" if outgoing else "in", counterparty, posted, held, balance, status))
    return list(reversed(entries))[:limit]


@dataclass
class CurrencyCheck:
    currency: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted and self.debits_pending == self.credits_pending


@dataclass
class CheckReport:
    currencies: list[CurrencyCheck]
    # Accounts whose stored totals differ from what their transfers add up to.
    mismatched_accounts: list[int]
    # Accounts with the no-overdraft flag that spend more than they hold.
    overdrawn_accounts: list[int]
    transfers: int

    @property
    def ok(self) -> bool:
        return all(c.balanced for c in self.currencies) and not self.mismatched_accounts and not self.overdrawn_accounts


def check(session: Session) -> CheckReport:
    """Prove the books: per currency debits equal credits (posted and pending), every
    account's totals equal the sum of its transfers, and no user account is overdrawn."""
    totals = session.exec(
        select(
            LedgerAccount.currency,
            func.sum(LedgerAccount.debits_posted),
            func.sum(LedgerAccount.credits_posted),
            func.sum(LedgerAccount.debits_pending),
            func.sum(LedgerAccount.credits_pending),
        ).group_by(LedgerAccount.currency)
    ).all()
    currencies = [
        CurrencyCheck(c, int(dp or 0), int(cp or 0), int(dn or 0), int(cn or 0)) for c, dp, cp, dn, cn in totals
    ]

    # Recompute every account from the transfers alone.
    resolution = aliased(LedgerTransfer)
    posted = LedgerTransfer.flags.op("&")(PENDING | VOID_PENDING) == 0
    unresolved = and_(
        LedgerTransfer.flags.op("&")(PENDING) != 0,
        not_(select(resolution.seq).where(resolution.pending_id == LedgerTransfer.id).exists()),
    )
    expected: dict[int, list[int]] = {}
    for column_index, (side, condition) in enumerate(
        (
            (LedgerTransfer.debit_account_id, posted),
            (LedgerTransfer.credit_account_id, posted),
            (LedgerTransfer.debit_account_id, unresolved),
            (LedgerTransfer.credit_account_id, unresolved),
        )
    ):
        for account_id, amount in session.exec(
            select(side, func.sum(LedgerTransfer.amount)).where(condition).group_by(side)
        ).all():
            expected.setdefault(account_id, [0, 0, 0, 0])[column_index] = int(amount)
    mismatched, overdrawn = [], []
    for account in session.exec(select(LedgerAccount).order_by(LedgerAccount.id)).all():
        stored = [account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending]
        if stored != expected.get(account.id, [0, 0, 0, 0]):
            mismatched.append(account.id)
        if account.flags & DEBITS_MUST_NOT_EXCEED_CREDITS and available(account) < 0:
            overdrawn.append(account.id)
    count = session.exec(select(func.count(LedgerTransfer.seq))).one()
    return CheckReport(currencies, mismatched, overdrawn, int(count))


# -------------------------------------------------------------- the desk's API

DESK_BALANCE_BIT = 6
DESK_BALANCE_METHOD = 1 << DESK_BALANCE_BIT  # the ad's payment-methods bit "desk balance"
_KIND = {0: "posted", PENDING: "pending", POST_PENDING: "post_pending", VOID_PENDING: "void_pending"}


def account_public(account: LedgerAccount) -> dict:
    return {
        **{k: getattr(account, k) for k in ("id", "owner", "currency", "flags")},
        **{k: getattr(account, k) for k in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")},
        "balance": account.credits_posted - account.debits_posted,
        "held": account.debits_pending,
        "incoming": account.credits_pending,
        "available": available(account),
    }


def transfer_public(session: Session, transfer: LedgerTransfer, owners: dict[int, str] | None = None) -> dict:
    if owners is None:
        ids = (transfer.debit_account_id, transfer.credit_account_id)
        owners = {a.id: a.owner for a in session.exec(select(LedgerAccount).where(LedgerAccount.id.in_(ids))).all()}
    fields = ("id", "seq", "debit_account_id", "credit_account_id", "amount", "currency", "flags", "pending_id")
    return {
        **{k: getattr(transfer, k) for k in fields},
        **{k: getattr(transfer, k) for k in ("expires_at", "code", "order_id", "reference", "created_at")},
        "debit_owner": owners.get(transfer.debit_account_id, "?"),
        "credit_owner": owners.get(transfer.credit_account_id, "?"),
        "kind": _KIND[transfer.flags & (PENDING | POST_PENDING | VOID_PENDING)],
        "status": status_of(session, transfer),
    }


def accounts_of(session: Session, *, owner: str) -> list[LedgerAccount]:
    return list(
        session.exec(select(LedgerAccount).where(LedgerAccount.owner == owner).order_by(LedgerAccount.currency))
    )


def history_public(session: Session, *, account: LedgerAccount | None, limit: int) -> dict:
    if account is None:
        return {"account": None, "entries": []}
    entries = history(session, account, limit=limit)
    owners = {a.id: a.owner for a in session.exec(select(LedgerAccount)).all()} if entries else {}
    return {
        "account": account_public(account),
        "entries": [
            {
                "transfer": transfer_public(session, e.transfer, owners),
                "direction": e.direction,
                "counterparty": e.counterparty,
                "posted_delta": e.posted_delta,
                "held_delta": e.held_delta,
                "balance": e.balance,
            }
            for e in entries
        ],
    }


def bank_transfer(
    engine: Engine, *, owner: str, user_id: int, client_id: str, currency: str, amount: int, direction: str
):
    """Top-up (bank -> user) or withdrawal (user -> bank) through the sandbox bank. The
    client's id is kept per user, so two users' keys never collide."""
    currency = check_currency(currency)
    check_amount(amount)

    def op(session: Session):
        bank = account_for(session, owner=BANK, currency=currency)
        user = account_for(session, owner=owner, currency=currency)
        debit, credit = (bank, user) if direction == "topup" else (user, bank)
        request = Transfer(
            id=f"user:{user_id}:{client_id}",
            code="topup" if direction == "topup" else "withdrawal",
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
        )
        transfer, _ = apply_transfer(session, request)
        return transfer_public(session, transfer), account_public(user)

    return run(engine, op)


def token_decimals(deployment, token: str) -> int:
    return next((t["decimals"] for t in deployment.tokens if t["address"].lower() == token.lower()), 18)


def fiat_total(order, decimals: int) -> int:
    """What the buyer owes, in fiat minor units: amount × price / 10**decimals (the order
    page shows the same number)."""
    return order.amount * order.price // 10**decimals


def pay_order(engine: Engine, *, deployment, buyer: str, order_id: int, margin: int, now: int | None = None) -> dict:
    """A pending transfer buyer -> seller for the order's fiat total, held until the chain
    settles it (release posts, cancel voids, a ruling splits) or it times out at the
    order's payment deadline + margin. Paying twice returns the same transfer."""
    from backend.market.models import Ad, Order

    now = now_s() if now is None else now
    with Session(engine) as session:
        order = session.get(Order, order_id)
        ad = session.get(Ad, order.ad_id) if order else None
    if order is None or ad is None:
        raise DomainError(404, f"order {order_id} is not known to the desk (yet): wait for the indexer and retry")
    if order.buyer != buyer:
        raise DomainError(403, "only the order's buyer can pay it")
    if not ad.payment_methods & DESK_BALANCE_METHOD:
        raise DomainError(409, f"ad {ad.id} does not accept the desk balance as payment")
    amount = fiat_total(order, token_decimals(deployment, order.token))
    if amount <= 0:
        raise DomainError(409, "the order's fiat total rounds to zero: nothing to pay")
    reference_of_paid = order.payment_ref

    def op(session: Session):
        for pending in open_order_pendings(session, order_id):
            return pending, False  # already paid and held: the same answer again
        if order.status != "OPEN" or reference_of_paid is not None:
            raise DomainError(409, f"order {order_id} is {order.status.lower()}: only an open order can be paid")
        if order.deadline <= now:
            raise DomainError(409, f"order {order_id} is past its payment deadline")
        payer = account_for(session, owner=buyer, currency=order.fiat)
        payee = account_for(session, owner=order.seller, currency=order.fiat)
        attempts = session.exec(select(func.count(LedgerTransfer.seq)).where(LedgerTransfer.order_id == order_id)).one()
        transfer_id = f"order:{deployment.chain_id}:{order_id}:{attempts + 1}"
        request = Transfer(
            id=transfer_id,
            code="order",
            debit_account_id=payer.id,
            credit_account_id=payee.id,
            amount=amount,
            flags=PENDING,
            timeout=max(order.deadline - now, 0) + margin,
            order_id=order_id,
            reference=payment_reference(transfer_id),
        )
        return apply_transfer(session, request, now=now)

    transfer, _ = run(engine, op)
    with Session(engine) as session:
        return {
            "order_id": order_id,
            "transfer": transfer_public(session, transfer),
            "payment_ref": transfer.reference,
            "fiat_total_minor": amount,
        }


def open_order_pendings(session: Session, order_id: int) -> list[LedgerTransfer]:
    """The order's pending transfers nobody has posted, voided or expired yet."""
    resolution = aliased(LedgerTransfer)
    return list(
        session.exec(
            select(LedgerTransfer)
            .where(
                LedgerTransfer.order_id == order_id,
                LedgerTransfer.flags.op("&")(PENDING) != 0,
                not_(select(resolution.seq).where(resolution.pending_id == LedgerTransfer.id).exists()),
            )
            .order_by(LedgerTransfer.seq)
        ).all()
    )


def order_payment(session: Session, *, order_id: int) -> LedgerTransfer | None:
    """The order's desk payment: the open one, else the latest."""
    rows = session.exec(
        select(LedgerTransfer)
        .where(LedgerTransfer.order_id == order_id, LedgerTransfer.flags.op("&")(PENDING) != 0)
        .order_by(LedgerTransfer.seq.desc())
    ).all()
    open_ones = open_order_pendings(session, order_id)
    return open_ones[-1] if open_ones else (rows[0] if rows else None)


def admin_transfer(engine: Engine, *, body) -> dict:
    flags = {"posted": 0, "pending": PENDING, "post_pending": POST_PENDING, "void_pending": VOID_PENDING}[body.kind]
    request = Transfer(
        id=f"admin:{body.id}",
        code="adjustment",
        debit_account_id=body.debit_account_id,
        credit_account_id=body.credit_account_id,
        amount=body.amount,
        flags=flags,
        pending_id=body.pending_id,
        timeout=body.timeout,
    )

    def op(session: Session):
        transfer, _ = apply_transfer(session, request)
        return transfer_public(session, transfer)

    return run(engine, op)


def check_public(report: CheckReport) -> dict:
    return {
        "ok": report.ok,
        "transfers": report.transfers,
        "currencies": [{**vars(c), "balanced": c.balanced} for c in report.currencies],
        "mismatched_accounts": report.mismatched_accounts,
        "overdrawn_accounts": report.overdrawn_accounts,
    }


# ------------------------------------------------------------------ batches


@dataclass
class BatchResult:
    id: str
    result: str  # "created" | "exists" | the refusal's sentence
    status: int = 200


def create_transfers(session: Session, requests: list[Transfer], *, now: int | None = None) -> list[BatchResult]:
    """Posted and pending transfers in one go, as TigerBeetle's create_transfers: applied in
    order inside the caller's write transaction, each with its own result; a refused one
    does not stop the others. The same rules as `apply_transfer`, with one read of the
    accounts and ids and one bulk write, for throughput."""
    from sqlalchemy import bindparam, insert, update

    now = now_s() if now is None else now
    ids = [r.id for r in requests]
    existing: dict[str, LedgerTransfer] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        existing.update({t.id: t for t in session.exec(select(LedgerTransfer).where(LedgerTransfer.id.in_(chunk)))})
    account_ids = {r.debit_account_id for r in requests} | {r.credit_account_id for r in requests}
    accounts = _lock_accounts(session, [i for i in account_ids if i is not None])
    totals = {a.id: [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted] for a in accounts.values()}
    rows, results, touched = [], [], set()
    for request in requests:
        try:
            kind = request.flags & (PENDING | POST_PENDING | VOID_PENDING)
            if kind not in (0, PENDING):
                raise DomainError(422, "a batch creates posted or pending transfers: resolve pending ones one by one")
            if request.id in existing:
                _idempotent(existing[request.id], request)
                results.append(BatchResult(request.id, "exists"))
                continue
            amount = check_amount(request.amount if request.amount is not None else 0)
            if kind == PENDING and (request.timeout is None or not 0 < request.timeout <= MAX_TIMEOUT):
                raise DomainError(422, f"a pending transfer needs a timeout of 1 to {MAX_TIMEOUT} seconds")
            debit, credit = accounts.get(request.debit_account_id), accounts.get(request.credit_account_id)
            if debit is None or credit is None or debit is credit:
                raise DomainError(404 if debit is None or credit is None else 422, "unknown or identical accounts")
            if debit.currency != credit.currency:
                raise DomainError(409, f"currency mismatch: {debit.currency} and {credit.currency}")
            d, c = totals[debit.id], totals[credit.id]
            if debit.flags & DEBITS_MUST_NOT_EXCEED_CREDITS and d[0] + d[1] + amount > d[3]:
                raise DomainError(409, f"insufficient funds in account {debit.id}")
            if credit.flags & CREDITS_MUST_NOT_EXCEED_DEBITS and c[0] + c[3] + amount > c[1]:
                raise DomainError(409, f"account {credit.id} may not be credited beyond its debits")
            column = 0 if kind == PENDING else 1
            if d[column] + amount > MAX_TOTAL or c[column + 2] + amount > MAX_TOTAL:
                raise DomainError(409, "an account total would overflow")
            d[column] += amount
            c[column + 2] += amount
            touched |= {debit.id, credit.id}
        except DomainError as refusal:
            results.append(BatchResult(request.id, refusal.detail, refusal.status_code))
            continue
        row = {
            "id": request.id,
            "debit_account_id": debit.id,
            "credit_account_id": credit.id,
            "amount": amount,
            "currency": debit.currency,
            "flags": request.flags,
            "pending_id": None,
            "expires_at": now + request.timeout if kind == PENDING else None,
            "code": request.code,
            "order_id": request.order_id,
            "reference": request.reference,
            "event_tx": None,
            "event_log": None,
            "created_at": now_s(),
        }
        rows.append(row)
        existing[request.id] = LedgerTransfer(**row)  # a twin later in the batch is a replay
        results.append(BatchResult(request.id, "created"))
    if rows:
        session.execute(insert(LedgerTransfer.__table__), rows)
        table = LedgerAccount.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("account_id"))
            .values(
                debits_pending=bindparam("dn"),
                debits_posted=bindparam("dp"),
                credits_pending=bindparam("cn"),
                credits_posted=bindparam("cp"),
            ),
            [
                {"account_id": i, "dn": totals[i][0], "dp": totals[i][1], "cn": totals[i][2], "cp": totals[i][3]}
                for i in touched
            ],
        )
        for account_id in touched:  # the identity map must not keep the old totals
            session.expire(accounts[account_id])
    return results
