"""The face workers: a process pool, so dlib's CPU-bound work never runs on the event loop
and never holds the GIL that the other requests need."""

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.errors import DomainError
from backend.kyc import faces


class FacePool:
    """Started at the first application, not at app start: most processes never need dlib."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn, not fork: the app has threads (indexer, thread pool) whose locks a
                # forked child would inherit held.
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=faces.warm,
                )
            return self._executor

    async def run(self, fn, *args):
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor(), partial(fn, *args))
        except BrokenProcessPool:
            with self._lock:  # a worker died (out of memory?): the next call gets a fresh pool
                self._executor = None
            raise DomainError(503, "the face check is unavailable right now: try again in a minute") from None

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


async def get_face_pool(connection: HTTPConnection) -> FacePool:
    return connection.app.state.face_pool


FacePoolDep = Annotated[FacePool, Depends(get_face_pool)]
