"""Chain-event rules as a projection, fed by the indexer after the market's.

`tables=[]` on purpose: a rebuild must not wipe alerts staff have worked on. The alerts'
dedupe keys (rule, subject, tx hash and log index) make a replay raise nothing twice.
"""

from sqlmodel import Session

from backend.chain.models import ChainEvent
from backend.chain.projections import Projection
from backend.monitoring import rules, service

projection = Projection("monitoring", tables=[])


def _apply(session: Session, event: ChainEvent) -> None:
    service.apply_chain_rules(session, event)


for _contract, _event in rules.CHAIN_RULES:
    projection.on(_contract, _event)(_apply)
