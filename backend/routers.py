"""Every domain's router, mounted under /api by main.py."""

from backend.auth.routes import router as auth_router
from backend.chain.routes import router as chain_router
from backend.explorer.routes import router as explorer_router
from backend.kyc.routes import router as kyc_router
from backend.ledger.routes import router as ledger_router
from backend.market.routes import router as market_router
from backend.monitoring.routes import router as monitoring_router
from backend.negotiation.routes import router as negotiation_router
from backend.nodes.routes import router as nodes_router
from backend.notifications.routes import router as notifications_router
from backend.payments.routes import router as payments_router
from backend.relay.routes import router as relay_router
from backend.reputation.routes import router as reputation_router

ROUTERS = [
    auth_router,
    chain_router,
    market_router,
    explorer_router,
    relay_router,
    negotiation_router,
    notifications_router,
    nodes_router,
    ledger_router,
    payments_router,
    monitoring_router,
    kyc_router,
    reputation_router,
]
