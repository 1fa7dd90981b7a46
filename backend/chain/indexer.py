"""The chain indexer: follows the chain from a persisted checkpoint.

- reads the project's logs in `eth_getLogs` windows and the headers of the same blocks
  (JSON-RPC batches), waits `confirmations` blocks behind the head;
- trusts a block only if NodeRegistry authorizes its producer (coinbase) at that block
  (unless the producer check is off: a public network's producers are not in
  NodeRegistry); a refused block is recorded with the reason and nothing of it is
  ingested; a check that cannot be answered is an error to retry, never a "no";
- stores each window (blocks, events, projections, checkpoint) in one transaction, so a
  restart resumes where the last commit ended and nothing is lost or doubled;
- notices a reorg when a stored block hash no longer matches the chain, deletes what it
  had from the dropped blocks and replays the rest into the projections.
"""

import bisect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, text
from sqlmodel import Session, select
from web3 import Web3
from web3.exceptions import BlockNotFound

from backend.chain.contracts import Deployment, checksum, jsonable
from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock, utcnow
from backend.chain.projections import MissingRow, Projections, forget_rows

log = logging.getLogger("sentinel.indexer")

HEADER_BATCH = 250
# PostgreSQL advisory lock that one indexer holds while it writes a window, so that
# several app processes (each with its indexer) share a database safely.
WRITER_LOCK_KEY = 0x53454E54494E454C  # "SENTINEL"
# NodeRegistry events that change who may produce blocks.
MEMBERSHIP_EVENTS = {"NodeAdmitted", "NodeRevoked", "AuthorityAdded", "AuthorityRemoved"}
# A failing window is retried after poll_seconds, doubling up to this.
MAX_RETRY_SECONDS = 30.0


@dataclass
class Header:
    number: int
    hash: str
    parent_hash: str
    producer: str
    timestamp: int


@dataclass
class NewEvent:
    """An event ingested in this window: the same fields as a stored ChainEvent row."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    timestamp: int
    contract: str
    name: str
    args: dict
    ad_id: int | None
    order_id: int | None
    participants: str


@dataclass
class StepResult:
    blocks: int = 0
    events: int = 0
    refused: int = 0
    reorged_from: int | None = None
    locked_out: bool = False  # another indexer was writing: nothing done


class ProducerCheckError(RuntimeError):
    """NodeRegistry could not answer whether a producer is authorized (no code at that
    block, a node error): the window fails and is retried, nothing is refused."""


@dataclass(frozen=True)
class IndexerFailure:
    """The error that keeps the indexer from committing, and since when."""

    error: str
    since: datetime


class Indexer:
    def __init__(
        self,
        *,
        engine: Engine,
        w3: Web3,
        deployment: Deployment,
        projections: Projections,
        confirmations: int = 0,
        window: int = 2_000,
        producer_check: bool = True,
        on_commit: Callable[[list[NewEvent]], None] | None = None,
        on_change: Callable[[], None] | None = None,
    ):
        self.projections = projections
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment
        self.confirmations = confirmations
        self.window = window
        self.on_commit = on_commit
        # Called after every commit that changed what the projections say (new events
        # or a reorg's rollback), before on_commit: read caches drop their pages.
        self.on_change = on_change
        self.registry = deployment.contract(w3, "NodeRegistry")
        self.addresses = list(deployment.addresses.values())
        self.producer_check = producer_check
        # producer -> (authorized?, the block it was checked at). An answer holds until
        # the next membership change after that block; the changes are read from the
        # window's raw logs, refused blocks included (an admission in a refused block
        # must still count), before any block of the window is checked.
        self._authorized: dict[str, tuple[bool, int]] = {}
        self._membership_changes: list[int] = []  # block numbers, ascending
        registry = deployment.addresses["NodeRegistry"].lower()
        self._membership_topics = {
            topic
            for (address, topic), spec in deployment.events.items()
            if address == registry and spec.name in MEMBERSHIP_EVENTS
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: IndexerFailure | None = None

    # ------------------------------------------------------------ public

    def checkpoint(self) -> int:
        with Session(self.engine) as session:
            return self._checkpoint(session)

    def step(self, max_blocks: int | None = None) -> StepResult:
        """Index the next window (at most `max_blocks` blocks); 0 blocks when caught up."""
        result = StepResult()
        # expire_on_commit=False: on_commit reads the new events after the session closes.
        with Session(self.engine, expire_on_commit=False) as session:
            if not self._take_writer_lock(session):
                return StepResult(locked_out=True)
            fork = self._find_fork(session)
            if fork is not None:
                self._roll_back(session, fork)
                result.reorged_from = fork + 1
            start = self._checkpoint(session) + 1
            target = self.w3.eth.block_number - self.confirmations
            end = min(target, start + min(self.window, max_blocks or self.window) - 1)
            if end < start:
                session.commit()
                if result.reorged_from is not None:
                    self._changed()
                return result
            headers = self._headers(start, end)
            by_block: dict[int, list] = {}
            for entry in self._logs(start, end):
                by_block.setdefault(int(entry["blockNumber"], 16), []).append(entry)
            new_events: list[NewEvent] = []
            blocks: list[dict] = []
            known = self._known_events(session, start, end)
            self._note_membership_changes(by_block)
            for header in headers:
                block_logs = by_block.get(header.number, [])
                if any(entry["blockHash"] != header.hash for entry in block_logs):
                    # The chain moved under us between the two reads: try again next step.
                    session.rollback()
                    return StepResult(reorged_from=header.number)
                with session.no_autoflush:  # one flush per window
                    accepted = self._ingest_block(session, header, block_logs, new_events, known, blocks)
                result.blocks += 1
                result.refused += 0 if accepted else 1
            # Raw rows in two bulk inserts: the ORM's per-object cost dominated the backfill.
            session.execute(insert(IndexedBlock), blocks)
            if new_events:
                session.execute(insert(ChainEvent), [vars(e) for e in new_events])
            session.commit()
            forget_rows(session)
            result.events = len(new_events)
        if new_events or result.reorged_from is not None:
            self._changed()
        if new_events and self.on_commit:
            try:
                self.on_commit(new_events)
            except Exception:  # a push failing must not stop the indexer
                log.exception("on_commit subscriber failed")
        return result

    def catch_up(self) -> int:
        """Index until the head; returns the events ingested."""
        total = 0
        while True:
            result = self.step()
            total += result.events
            if result.blocks == 0 and result.reorged_from is None:
                return total

    def start(self, poll_seconds: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(poll_seconds,), name="indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    # ----------------------------------------------------------- private

    def _take_writer_lock(self, session: Session) -> bool:
        """On PostgreSQL, the transaction-scoped advisory lock (released at commit or
        rollback); SQLite has one writer at a time anyway."""
        if session.get_bind().dialect.name != "postgresql":
            return True
        return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY}).scalar())

    def _changed(self) -> None:
        if self.on_change:
            try:
                self.on_change()
            except Exception:
                log.exception("on_change subscriber failed")

    def _run(self, poll_seconds: float) -> None:
        delay = poll_seconds
        while not self._stop.is_set():
            result = self.run_once()
            if result is not None and result.blocks:
                delay = poll_seconds
                continue  # more to do: no sleep while catching up
            delay = self.next_delay(delay, poll_seconds)
            self._stop.wait(delay)

    def next_delay(self, previous: float, poll_seconds: float) -> float:
        """The poll interval, doubled after each failed step up to MAX_RETRY_SECONDS."""
        if self.failure is None:
            return poll_seconds
        return min(MAX_RETRY_SECONDS, max(previous, poll_seconds) * 2)

    def run_once(self) -> StepResult | None:
        """One guarded step; None when it failed. A failure leaves the window
        uncommitted, but is never silent: it is kept in `failure` (served by the status
        route) and, once per distinct error, logged and written as an incident in a
        transaction of its own, so the window's rollback does not erase it."""
        try:
            result = self.step()
        except Exception as error:
            message = f"{type(error).__name__}: {error}"[:1000]
            if self.failure is None or self.failure.error != message:
                log.exception("indexer step failed; retrying with back-off")
                self.failure = IndexerFailure(error=message, since=self.failure.since if self.failure else utcnow())
                self._record_incident(
                    ChainIncident(kind="indexer_error", block_number=self._safe_checkpoint() + 1, detail=message)
                )
            return None
        if self.failure is not None:
            log.warning("indexer recovered after: %s", self.failure.error)
            self.failure = None
        return result

    def _safe_checkpoint(self) -> int:
        try:
            return self.checkpoint()
        except Exception:
            return -1

    def _record_incident(self, incident: ChainIncident) -> None:
        try:
            with Session(self.engine) as session:
                session.add(incident)
                session.commit()
        except Exception:
            log.exception("could not record the indexer incident")

    def _checkpoint(self, session: Session) -> int:
        last = session.exec(select(func.max(IndexedBlock.number))).one()
        return last if last is not None else self.deployment.deploy_block - 1

    # Raw JSON-RPC: web3's result formatters cost more than the indexing itself.
    def _headers(self, start: int, end: int) -> list[Header]:
        headers = []
        for chunk_start in range(start, end + 1, HEADER_BATCH):
            chunk_end = min(end, chunk_start + HEADER_BATCH - 1)
            answers = self.w3.provider.make_batch_request(
                [("eth_getBlockByNumber", [hex(n), False]) for n in range(chunk_start, chunk_end + 1)]
            )
            if not isinstance(answers, list):
                raise RuntimeError(f"block header batch failed: {answers}")
            for answer in sorted(answers, key=lambda a: a["id"]):
                block = answer.get("result")
                if block is None:
                    raise RuntimeError(f"block header missing: {answer.get('error')}")
                headers.append(
                    Header(
                        number=int(block["number"], 16),
                        hash=block["hash"],
                        parent_hash=block["parentHash"],
                        producer=checksum(block["miner"]),
                        timestamp=int(block["timestamp"], 16),
                    )
                )
        return headers

    def _logs(self, start: int, end: int) -> list[dict]:
        answer = self.w3.provider.make_request(
            "eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": self.addresses}]
        )
        if "error" in answer:
            raise RuntimeError(f"eth_getLogs failed: {answer['error']}")
        return answer["result"]

    def _known_events(self, session: Session, start: int, end: int) -> set[tuple[str, int]]:
        """(tx_hash, log_index) already stored in the window: normally none, after a crash maybe some."""
        rows = session.exec(
            select(ChainEvent.tx_hash, ChainEvent.log_index).where(
                ChainEvent.block_number >= start, ChainEvent.block_number <= end
            )
        ).all()
        return {(tx_hash, log_index) for tx_hash, log_index in rows}

    def _ingest_block(self, session, header: Header, block_logs, new_events, known, blocks) -> bool:
        authorized = not self.producer_check or self._is_authorized(header.producer, header.number)
        reason = None if authorized else f"producer {header.producer} is not authorized by NodeRegistry"
        blocks.append(
            {
                "number": header.number,
                "hash": header.hash,
                "parent_hash": header.parent_hash,
                "producer": header.producer,
                "timestamp": header.timestamp,
                "accepted": authorized,
                "reason": reason,
                "desk_logs": len(block_logs),
            }
        )
        if not authorized:
            detail = f"{reason}; {len(block_logs)} log(s) ignored"
            session.add(ChainIncident(kind="unauthorized_producer", block_number=header.number, detail=detail))
            log.warning("block %s refused: %s", header.number, detail)
            return False
        for entry in block_logs:
            key = (entry["transactionHash"], int(entry["logIndex"], 16))
            if key in known:
                continue
            decoded = self.deployment.decode_log(entry)
            if decoded is None:
                continue
            known.add(key)
            spec, args = decoded
            clean = {name: jsonable(value) for name, value in args.items()}
            event = NewEvent(
                tx_hash=key[0],
                log_index=key[1],
                block_number=header.number,
                block_hash=header.hash,
                timestamp=header.timestamp,
                contract=spec.contract,
                name=spec.name,
                args=clean,
                ad_id=args.get("ad_id"),
                order_id=args.get("order_id"),
                participants="",
            )
            try:
                self.projections.apply(session, event)
            except MissingRow as missing:
                self._record_gap(session, event, missing)
            # After apply: an order's parties are known once its OrderOpened is projected.
            named = {v for v in clean.values() if isinstance(v, str) and len(v) == 42 and v.startswith("0x")}
            everyone = sorted({a.lower() for a in named | self.projections.parties(session, event)})
            event.participants = (" " + " ".join(everyone) + " ") if everyone else ""
            new_events.append(event)
        return True

    def _record_gap(self, session: Session, event, missing: MissingRow) -> None:
        """An event the projections cannot place (its subject came from a refused block):
        recorded once, and the window goes on."""
        exists = session.exec(
            select(ChainIncident.id).where(
                ChainIncident.kind == "projection_gap",
                ChainIncident.tx_hash == event.tx_hash,
                ChainIncident.log_index == event.log_index,
            )
        ).first()
        if exists is not None:
            return
        detail = f"{event.contract}.{event.name} not projected: {missing.what}"
        session.add(
            ChainIncident(
                kind="projection_gap",
                block_number=event.block_number,
                tx_hash=event.tx_hash,
                log_index=event.log_index,
                detail=detail,
            )
        )
        log.warning("block %s: %s", event.block_number, detail)

    def _note_membership_changes(self, by_block: dict[int, list]) -> None:
        last = self._membership_changes[-1] if self._membership_changes else -1
        for number in sorted(by_block):
            if number > last and any(_topic0(entry) in self._membership_topics for entry in by_block[number]):
                self._membership_changes.append(number)
                last = number

    def _is_authorized(self, producer: str, block_number: int) -> bool:
        """NodeRegistry's answer at `block_number` (the state after it). A cached answer
        is reused only while no membership change lies between its block and this one."""
        cached = self._authorized.get(producer)
        if cached is not None:
            ok, checked_at = cached
            following = bisect.bisect_right(self._membership_changes, checked_at)
            no_change_between = (
                following == len(self._membership_changes) or self._membership_changes[following] > block_number
            )
            if checked_at <= block_number and no_change_between:
                return ok
        try:
            ok = bool(self.registry.functions.is_authorized(producer).call(block_identifier=block_number))
        except Exception as error:
            raise ProducerCheckError(self._check_failure(producer, block_number, error)) from error
        self._authorized[producer] = (ok, block_number)
        return ok

    def _check_failure(self, producer: str, block_number: int, error: Exception) -> str:
        try:
            has_code = bool(self.w3.eth.get_code(self.registry.address, block_identifier=block_number))
        except Exception:
            has_code = True  # unknown: report the call's own error
        if not has_code:
            return (
                f"NodeRegistry {self.registry.address} has no code at block {block_number}: the manifest's "
                "deploy block precedes the deployment (redeploy, or correct deploy_block)"
            )
        return f"could not check producer {producer} at block {block_number}: {type(error).__name__}: {error}"

    def _find_fork(self, session: Session) -> int | None:
        """The highest stored block still on the chain, if some stored block is not."""
        checkpoint = self._checkpoint(session)
        if checkpoint < self.deployment.deploy_block:
            return None
        head = self.w3.eth.block_number
        number = min(checkpoint, head)
        if number == checkpoint and self._chain_hash(number) == self._stored_hash(session, number):
            return None
        while number >= self.deployment.deploy_block:
            if self._chain_hash(number) == self._stored_hash(session, number):
                return number
            number -= 1
        return self.deployment.deploy_block - 1

    def _chain_hash(self, number: int) -> str | None:
        try:
            return self.w3.eth.get_block(number)["hash"].to_0x_hex()
        except BlockNotFound:
            return None

    def _stored_hash(self, session: Session, number: int) -> str | None:
        block = session.get(IndexedBlock, number)
        return block.hash if block else None

    def _roll_back(self, session: Session, fork: int) -> None:
        dropped = session.exec(select(func.count(ChainEvent.id)).where(ChainEvent.block_number > fork)).one()
        session.exec(delete(ChainEvent).where(ChainEvent.block_number > fork))
        session.exec(delete(IndexedBlock).where(IndexedBlock.number > fork))
        replayed = self.projections.rebuild(
            session, on_missing=lambda event, missing: self._record_gap(session, event, missing)
        )
        detail = f"reorg: blocks after {fork} dropped, {dropped} event(s) removed, {replayed} replayed"
        session.add(ChainIncident(kind="reorg", block_number=fork + 1, detail=detail))
        self._authorized.clear()
        self._membership_changes = [n for n in self._membership_changes if n <= fork]
        log.warning(detail)


def _topic0(entry: dict) -> bytes | None:
    topics = entry.get("topics") or []
    if not topics:
        return None
    first = topics[0]
    return bytes.fromhex(first[2:]) if isinstance(first, str) else bytes(first)
