"""Every domain that follows the chain, in the order the indexer feeds them: the
composition root of the projections (as routers.py is of the routes)."""

from backend.chain.projections import Projections
from backend.kyc.projections import projection as kyc
from backend.ledger.projections import projection as ledger
from backend.market.projections import projection as market
from backend.monitoring.projections import projection as monitoring
from backend.nodes.projections import projection as nodes

PROJECTIONS = [market, ledger, monitoring, kyc, nodes]  # ledger and monitoring after market: they read the order


def all_projections() -> Projections:
    return Projections(PROJECTIONS)
