"""Projections: domain tables derived from chain events only.

Each domain registers handlers with `@on(contract, event)` and its derived tables with
`register_tables`. Because projections are a pure function of the stored events, a reorg
is undone by deleting the dropped events and replaying the rest (`rebuild`).
"""

from collections.abc import Callable

from sqlmodel import Session, SQLModel, delete, select

from backend.chain.models import ChainEvent

Handler = Callable[[Session, ChainEvent], None]

_handlers: dict[tuple[str, str], list[Handler]] = {}
_tables: list[type[SQLModel]] = []
_party_resolvers: list[Callable[[Session, ChainEvent], set[str]]] = []


def on(contract: str, event: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _handlers.setdefault((contract, event), []).append(handler)
        return handler

    return register


def parties_resolver(resolver: Callable[[Session, ChainEvent], set[str]]):
    """Registers who else an event concerns beyond the addresses in its arguments
    (`OrderPaid` names the buyer only, yet the seller must hear of it)."""
    _party_resolvers.append(resolver)
    return resolver


def parties(session: Session, event: ChainEvent) -> set[str]:
    found: set[str] = set()
    for resolver in _party_resolvers:
        found |= resolver(session, event)
    return found


def register_tables(*models: type[SQLModel]) -> None:
    _tables.extend(m for m in models if m not in _tables)


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


def add(session: Session, row: SQLModel, key) -> None:
    """A new projection row, visible to `get` before the window is flushed."""
    session.add(row)
    session.info.setdefault("projection_rows", {})[(type(row), key)] = row


def forget_rows(session: Session) -> None:
    session.info.pop("projection_rows", None)


def apply(session: Session, event: ChainEvent) -> None:
    for handler in _handlers.get((event.contract, event.name), ()):
        handler(session, event)


def rebuild(session: Session) -> int:
    """Empty every projection and replay all stored events in chain order."""
    forget_rows(session)
    for model in _tables:
        session.exec(delete(model))
    session.flush()
    count = 0
    events = session.exec(select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index))
    for event in events:
        apply(session, event)
        count += 1
    return count


def load_all() -> None:
    """Import the domains that project chain events (registration happens on import)."""
    import backend.kyc.projections  # noqa: F401
    import backend.market.projections  # noqa: F401
    import backend.nodes.projections  # noqa: F401
