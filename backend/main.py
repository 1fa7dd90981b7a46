"""The FastAPI application: `uvicorn --factory backend.main:create_app` (or `make run`)."""

import asyncio
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from requests.exceptions import RequestException
from starlette.middleware.gzip import GZipMiddleware
from web3 import Web3

from backend.chain.contracts import Deployment
from backend.chain.deps import ChainContext, rpc_provider
from backend.chain.indexer import Indexer
from backend.config import Settings, check_keys_for_chain, get_settings, with_manifest_modes
from backend.db import make_engine
from backend.errors import DomainError
from backend.frontend import Frontend
from backend.http import ApiCacheControl, BodySizeLimit, keep_query_strings_out_of_logs
from backend.kyc.pool import FacePool
from backend.ledger.sweeper import ExpirySweeper
from backend.market.cache import PageCache
from backend.market.fastpath import AdsFromCache
from backend.migrate import migrate
from backend.monitoring.center import MonitoringCenter
from backend.negotiation.push import chat_feed
from backend.negotiation.rooms import rooms_of
from backend.notifications.hub import NotificationHub
from backend.projections import all_projections
from backend.push import Follower
from backend.routers import ROUTERS

log = logging.getLogger("sentinel")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keep_query_strings_out_of_logs()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.database_url.startswith("sqlite:///"):
            from pathlib import Path

            Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        migrate(settings.database_url)
        app.state.engine = make_engine(settings.database_url)
        deployment = Deployment.load(settings.manifest_path)
        check_keys_for_chain(settings, deployment.chain_id)
        app.state.settings = effective = with_manifest_modes(settings, deployment.raw)
        w3 = Web3(rpc_provider(settings.rpc_url))
        app.state.chain = ChainContext(w3=w3, deployment=deployment)
        try:
            app.state.chain.rules()
        except RequestException:
            log.warning("the chain node is unreachable: the escrow's rules will be read on first use")
        hub = NotificationHub()
        hub.bind(asyncio.get_running_loop())
        app.state.hub = hub
        # Every process pushes every chain event and chat message to its own sockets,
        # whichever process (or standalone indexer) wrote it: see backend/push.py.
        follower = app.state.follower = Follower(
            engine=app.state.engine,
            feeds=[hub.chain_feed(), chat_feed(rooms_of(app), hub)],
            poll_seconds=settings.push_poll_seconds,
        )
        follower.start()
        app.state.ads_cache = PageCache(engine=app.state.engine)
        app.state.face_pool = FacePool(settings.kyc_workers)
        app.state.indexer = Indexer(
            engine=app.state.engine,
            w3=w3,
            deployment=deployment,
            projections=all_projections(),
            confirmations=settings.confirmations,
            window=settings.indexer_window_blocks,
            producer_check=effective.producer_check,
            on_commit=lambda _events: follower.wake(),
            on_change=app.state.ads_cache.invalidate,
        )
        app.state.monitoring = MonitoringCenter(engine=app.state.engine, settings=settings)
        await app.state.monitoring.start(sweep=settings.indexer_enabled)
        if settings.indexer_enabled:
            app.state.indexer.start(settings.indexer_poll_seconds)
        sweeper = ExpirySweeper(app.state.engine, settings.ledger_expiry_poll_seconds)
        sweeper.start()
        # What start-up built (modules, ABIs, models: some 300k objects) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it, which
        # under load stalled every request in flight for a tenth of a second or more.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # a process that makes apps one after another (the tests) frees their cycles
            sweeper.stop()
            app.state.indexer.stop()
            follower.stop()
            await app.state.monitoring.stop()
            app.state.face_pool.shutdown()
            app.state.engine.dispose()

    app = FastAPI(
        title="Sentinel OTC",
        version="0.1.0",
        description="Peer-to-peer / OTC desk: market, orders, sign-in, explorer, negotiation, relay.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Added first, so innermost: cached ads pages skip routing, but still pass through the
    # body limit, gzip and cache headers added after it.
    app.add_middleware(AdsFromCache)
    # KYC uploads carry several photos: their route has its own, larger bound.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        overrides={"/api/kyc/applications": settings.kyc_max_upload_bytes},
    )
    # Text compresses 3-5x (ethers.min.js 522 KB -> 161 KB): what a phone on a slow network
    # waits for. Level 6: nearly level 9's size for a fraction of its CPU on every response.
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(ApiCacheControl)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    @app.exception_handler(RequestException)
    async def chain_unreachable(_request: Request, _exc: RequestException):
        return JSONResponse(status_code=503, content={"detail": "the chain node is unreachable: try again shortly"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        # One readable sentence first, the details after: clients show `detail`.
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = first.get("loc", ())
        # Drop only the location prefix: a field may itself be named "body".
        where = ".".join(str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path") else loc))
        message = f"{where}: {first.get('msg', 'invalid input')}" if where else first.get("msg", "invalid input")
        return JSONResponse(
            status_code=422,
            content={
                "detail": message,
                "errors": [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in errors],
            },
        )

    for router in ROUTERS:
        app.include_router(router, prefix="/api")

    if settings.frontend_dir.is_dir():
        app.mount("/", Frontend(settings.frontend_dir), name="frontend")
    return app
