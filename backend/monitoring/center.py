"""The monitoring center's moving parts in one process: the live feed and the sweeper.

The feed reads alerts from the database (new ones and new revisions) rather than taking
pushes from whoever raised them: alerts come from the indexer thread, from request
threads and from other processes sharing the database, and the table sees them all.
A raiser in this process calls `nudge()` after its commit so the feed looks at once;
otherwise it looks every `monitoring_feed_poll_seconds` while someone is watching.
"""

import asyncio
import logging
import threading
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from backend.auth.service import aware
from backend.chain.models import utcnow
from backend.config import Settings
from backend.monitoring import camera, frames, rules, service
from backend.monitoring.camera import FrameGate
from backend.monitoring.models import Alert

log = logging.getLogger("sentinel.monitoring")

# A row's updated_at is set before its transaction commits: look back this far so a slow
# commit is not missed, and send each (alert, revision) once.
LOOKBACK = timedelta(seconds=5)


class MonitoringCenter:
    def __init__(self, *, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.config = rules.RuleConfig.from_settings(settings)
        rules.configure(engine, self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue] = set()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._cursor = utcnow()
        self._sent: dict[int, tuple[int, object]] = {}
        self.frame_gate = FrameGate(settings.monitoring_camera_min_interval_seconds)
        # Verified faces' embeddings by (application id, record hash): computed once per
        # process from the sealed KYC selfie, never stored.
        self._references: dict[tuple, list[float]] = {}

    async def reference(self, key: tuple, selfie: bytes, pool) -> list[float]:
        found = self._references.get(key)
        if found is None:
            found = await pool.run(frames.reference_encoding, selfie, camera.frame_params(self.settings))
            if len(self._references) > 10_000:
                self._references.clear()
            self._references[key] = found
        return found

    # ----------------------------------------------------------- lifecycle

    async def start(self, *, sweep: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._feed_loop(), name="monitoring-feed")
        if sweep:
            self._sweeper = threading.Thread(target=self._sweep_loop, name="monitoring-sweeper", daemon=True)
            self._sweeper.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)

    # ---------------------------------------------------------------- feed

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=512)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def nudge(self) -> None:
        """Thread-safe: something changed, look now."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def publish(self, message: dict) -> None:
        """Thread-safe: send `message` to every open feed as it is."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._fan_out, [message])

    def _fan_out(self, messages: list[dict]) -> None:
        for queue in list(self._subscribers):
            for message in messages:
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:  # a stalled page loses pushes, never the server
                    pass

    async def _feed_loop(self) -> None:
        from backend.monitoring.schemas import AlertPublic

        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.monitoring_feed_poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self._subscribers:
                self._cursor = utcnow()
                self._sent.clear()
                continue
            try:
                alerts = await run_in_threadpool(self._changed_alerts)
            except Exception:
                log.exception("monitoring feed could not read alerts")
                continue
            messages = [{"type": "alert", "alert": AlertPublic.of(a).model_dump(mode="json")} for a in alerts]
            if messages:
                self._fan_out(messages)

    def _changed_alerts(self) -> list[Alert]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(Alert)
                .where(Alert.updated_at >= self._cursor - LOOKBACK)
                .order_by(col(Alert.updated_at), col(Alert.id))
            ).all()
        fresh = []
        for alert in rows:
            if self._sent.get(alert.id, (0, None))[0] >= alert.revision:
                continue
            # SQLite hands datetimes back without a zone; everything is stored in UTC.
            updated = aware(alert.updated_at)
            self._sent[alert.id] = (alert.revision, updated)
            fresh.append(alert)
            if updated > self._cursor:
                self._cursor = updated
        horizon = self._cursor - LOOKBACK * 2
        for alert_id in [i for i, (_, at) in self._sent.items() if at < horizon]:
            del self._sent[alert_id]
        return fresh

    # ------------------------------------------------------------- sweeper

    def sweep(self) -> int:
        with Session(self.engine) as session:
            raised = service.sweep(session, config=self.config)
            camera.erase_expired(session, retention_days=self.settings.monitoring_camera_retention_days)
        if raised:
            self.nudge()
        return raised

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.monitoring_sweep_seconds):
            try:
                self.sweep()
            except Exception:
                log.exception("monitoring sweep failed")
