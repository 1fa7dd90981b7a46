"""Every domain that follows the chain, in the order the indexer feeds them: the
composition root of the projections (as routers.py is of the routes)."""

from backend.chain.projections import Projections
from backend.kyc.projections import projection as kyc
from backend.market.projections import projection as market
from backend.monitoring.projections import projection as monitoring
from backend.nodes.projections import projection as nodes

PROJECTIONS = [market, monitoring, kyc, nodes]


def all_projections() -> Projections:
    return Projections(PROJECTIONS)
