"""Projections: domain tables derived from chain events only.

Each domain declares one `Projection` in its own package, with its tables and its
handlers (`@projection.on("OtcEscrow", "OrderPaid")`). The composition root
(`backend/projections.py`) lists them and hands the list to the indexer, so this module
names no domain. Because projections are a pure function of the stored events, a reorg
is undone by deleting the dropped events and replaying the rest (`rebuild`).
"""

from collections.abc import Callable, Iterable

from sqlmodel import Session, SQLModel, delete, select

from backend.chain.models import ChainEvent

Handler = Callable[[Session, ChainEvent], None]
PartiesResolver = Callable[[Session, ChainEvent], set[str]]


class MissingRow(LookupError):
    """An event refers to a row the projections do not hold (its creating event came
    from a refused block, say). The indexer records an incident and goes on."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class Projection:
    """One domain's tables and the handlers that keep them, keyed by (contract, event)."""

    def __init__(self, name: str, *, tables: Iterable[type[SQLModel]] = ()):
        self.name = name
        # Deletion order for a rebuild: rows that reference others first.
        self.tables = list(tables)
        self.handlers: dict[tuple[str, str], Handler] = {}
        self.resolvers: list[PartiesResolver] = []
        self.rebuilt: list[Callable[[Session], None]] = []

    def on(self, contract: str, event: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if (contract, event) in self.handlers:
                raise ValueError(f"projection {self.name!r} already handles {contract}.{event}")
            self.handlers[(contract, event)] = handler
            return handler

        return register

    def parties(self, resolver: PartiesResolver) -> PartiesResolver:
        """Registers who else an event concerns beyond the addresses in its arguments
        (`OrderPaid` names the buyer only, yet the seller must hear of it)."""
        self.resolvers.append(resolver)
        return resolver

    def after_rebuild(self, hook: Callable[[Session], None]) -> Callable[[Session], None]:
        """Registers a check run after a rebuild has replayed the events that remain: a
        domain whose rows outlive rebuilds (the ledger's money) looks there for what it
        did on an event that is now gone."""
        self.rebuilt.append(hook)
        return hook


class Projections:
    """The projections an indexer feeds, in the order the composition root gives."""

    def __init__(self, projections: Iterable[Projection]):
        self.items = list(projections)
        names = [p.name for p in self.items]
        if len(set(names)) != len(names):
            raise ValueError(f"a projection is listed twice: {names}")
        self._handlers: dict[tuple[str, str], list[Handler]] = {}
        for projection in self.items:
            for key, handler in projection.handlers.items():
                self._handlers.setdefault(key, []).append(handler)

    def apply(self, session: Session, event: ChainEvent) -> None:
        for handler in self._handlers.get((event.contract, event.name), ()):
            handler(session, event)

    def parties(self, session: Session, event: ChainEvent) -> set[str]:
        found: set[str] = set()
        for projection in self.items:
            for resolver in projection.resolvers:
                found |= resolver(session, event)
        return found

    def rebuild(self, session: Session, *, on_missing: Callable[[ChainEvent, MissingRow], None]) -> int:
        """Empty every projection and replay all stored events in chain order."""
        forget_rows(session)
        for projection in self.items:
            for model in projection.tables:
                session.exec(delete(model))
        session.flush()
        count = 0
        events = session.exec(select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index))
        for event in events:
            try:
                self.apply(session, event)
            except MissingRow as missing:
                on_missing(event, missing)
            count += 1
        for projection in self.items:
            for hook in projection.rebuilt:
                hook(session)
        return count


def get(session: Session, model: type[SQLModel], key):
    """A projection row by primary key, held for the rest of the window.

    The session's identity map keeps clean rows only weakly, so without this every
    event would reload its ad or order from the database.
    """
    cache = session.info.setdefault("projection_rows", {})
    row = cache.get((model, key))
    if row is None:
        row = session.get(model, key)
        if row is not None:
            cache[(model, key)] = row
    return row


def require(session: Session, model: type[SQLModel], key, what: str):
    """Like `get`, but a missing row raises `MissingRow`: handlers look up everything
    they need before they change anything, so a refusal leaves no half update."""
    row = get(session, model, key)
    if row is None:
        raise MissingRow(f"{what} {key} is unknown to the projections")
    return row


def add(session: Session, row: SQLModel, key) -> None:
    """A new projection row, visible to `get` before the window is flushed."""
    session.add(row)
    session.info.setdefault("projection_rows", {})[(type(row), key)] = row


def forget_rows(session: Session) -> None:
    session.info.pop("projection_rows", None)
