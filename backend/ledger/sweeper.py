"""Voids pending transfers past their timeout, in the background of the app."""

import logging
import threading

from sqlalchemy import Engine

from backend.ledger import service

log = logging.getLogger("sentinel.ledger")


class ExpirySweeper:
    def __init__(self, engine: Engine, interval: float):
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="ledger-expiry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                expired = service.expire_due(self.engine)
                if expired:
                    log.info("voided %s expired pending transfer(s)", expired)
            except Exception:  # the next sweep tries again; a failure must not end the thread
                log.exception("ledger expiry sweep failed")
