"""The chain indexer: follows the chain from a persisted checkpoint.

- reads the project's logs in `eth_getLogs` windows and the headers of the same blocks
  (JSON-RPC batches), waits `confirmations` blocks behind the head;
- trusts a block only if NodeRegistry authorizes its producer (coinbase) at that block;
  a refused block is recorded with the reason and nothing of it is ingested;
- stores each window (blocks, events, projections, checkpoint) in one transaction, so a
  restart resumes where the last commit ended and nothing is lost or doubled;
- notices a reorg when a stored block hash no longer matches the chain, deletes what it
  had from the dropped blocks and replays the rest into the projections.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, select
from web3 import Web3
from web3.exceptions import BlockNotFound

from backend.chain import projections
from backend.chain.contracts import Deployment, jsonable
from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock

log = logging.getLogger("sentinel.indexer")

HEADER_BATCH = 250
# NodeRegistry events that change who may produce blocks.
MEMBERSHIP_EVENTS = {"NodeAdmitted", "NodeRevoked", "AuthorityAdded", "AuthorityRemoved"}


@dataclass
class StepResult:
    blocks: int = 0
    events: int = 0
    refused: int = 0
    reorged_from: int | None = None


class Indexer:
    def __init__(
        self,
        *,
        engine: Engine,
        w3: Web3,
        deployment: Deployment,
        confirmations: int = 0,
        window: int = 2_000,
        on_commit: Callable[[list[ChainEvent]], None] | None = None,
    ):
        projections.load_all()
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment
        self.confirmations = confirmations
        self.window = window
        self.on_commit = on_commit
        self.registry = deployment.contract(w3, "NodeRegistry")
        self.addresses = list(deployment.addresses.values())
        self._authorized: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ public

    def checkpoint(self) -> int:
        with Session(self.engine) as session:
            return self._checkpoint(session)

    def step(self, max_blocks: int | None = None) -> StepResult:
        """Index the next window (at most `max_blocks` blocks); 0 blocks when caught up."""
        result = StepResult()
        with Session(self.engine) as session:
            fork = self._find_fork(session)
            if fork is not None:
                self._roll_back(session, fork)
                result.reorged_from = fork + 1
            start = self._checkpoint(session) + 1
            target = self.w3.eth.block_number - self.confirmations
            end = min(target, start + min(self.window, max_blocks or self.window) - 1)
            if end < start:
                session.commit()
                return result
            headers = self._headers(start, end)
            logs = self.w3.eth.get_logs({"fromBlock": start, "toBlock": end, "address": self.addresses})
            by_block: dict[int, list] = {}
            for entry in logs:
                by_block.setdefault(entry["blockNumber"], []).append(entry)
            new_events: list[ChainEvent] = []
            for header in headers:
                block_logs = by_block.get(header["number"], [])
                if any(entry["blockHash"] != header["hash"] for entry in block_logs):
                    # The chain moved under us between the two reads: try again next step.
                    session.rollback()
                    return StepResult(reorged_from=header["number"])
                accepted = self._ingest_block(session, header, block_logs, new_events)
                result.blocks += 1
                result.refused += 0 if accepted else 1
            session.commit()
            result.events = len(new_events)
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

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                result = self.step()
                if result.blocks:
                    continue  # more to do: no sleep while catching up
            except Exception:
                log.exception("indexer step failed; retrying")
            self._stop.wait(poll_seconds)

    def _checkpoint(self, session: Session) -> int:
        last = session.exec(select(func.max(IndexedBlock.number))).one()
        return last if last is not None else self.deployment.deploy_block - 1

    def _headers(self, start: int, end: int) -> list:
        headers = []
        for chunk_start in range(start, end + 1, HEADER_BATCH):
            chunk_end = min(end, chunk_start + HEADER_BATCH - 1)
            with self.w3.batch_requests() as batch:
                for number in range(chunk_start, chunk_end + 1):
                    batch.add(self.w3.eth.get_block(number))
                headers.extend(batch.execute())
        return headers

    def _ingest_block(self, session: Session, header, block_logs, new_events: list[ChainEvent]) -> bool:
        number = header["number"]
        producer = Web3.to_checksum_address(header["miner"])
        authorized = self._is_authorized(producer, number)
        reason = None if authorized else f"producer {producer} is not authorized by NodeRegistry"
        session.add(
            IndexedBlock(
                number=number,
                hash=header["hash"].to_0x_hex(),
                parent_hash=header["parentHash"].to_0x_hex(),
                producer=producer,
                timestamp=header["timestamp"],
                accepted=authorized,
                reason=reason,
            )
        )
        if not authorized:
            detail = f"{reason}; {len(block_logs)} log(s) ignored"
            session.add(ChainIncident(kind="unauthorized_producer", block_number=number, detail=detail))
            log.warning("block %s refused: %s", number, detail)
            return False
        for entry in block_logs:
            decoded = self.deployment.decode_log(entry)
            if decoded is None:
                continue
            spec, args = decoded
            event = self._store_event(session, header, entry, spec.contract, spec.name, args)
            if event is None:
                continue
            projections.apply(session, event)
            new_events.append(event)
            if spec.contract == "NodeRegistry" and spec.name in MEMBERSHIP_EVENTS:
                self._authorized.clear()
        return True

    def _store_event(self, session, header, entry, contract, name, args) -> ChainEvent | None:
        tx_hash = entry["transactionHash"].to_0x_hex()
        log_index = entry["logIndex"]
        exists = session.exec(
            select(ChainEvent.id).where(ChainEvent.tx_hash == tx_hash, ChainEvent.log_index == log_index)
        ).first()
        if exists is not None:
            return None
        clean = {key: jsonable(value) for key, value in args.items()}
        participants = sorted(
            {v.lower() for v in clean.values() if isinstance(v, str) and len(v) == 42 and v.startswith("0x")}
        )
        event = ChainEvent(
            tx_hash=tx_hash,
            log_index=log_index,
            block_number=header["number"],
            block_hash=header["hash"].to_0x_hex(),
            timestamp=header["timestamp"],
            contract=contract,
            name=name,
            args=clean,
            ad_id=args.get("ad_id"),
            order_id=args.get("order_id"),
            participants=(" " + " ".join(participants) + " ") if participants else "",
        )
        session.add(event)
        return event

    def _is_authorized(self, producer: str, block_number: int) -> bool:
        if producer not in self._authorized:
            try:
                ok = self.registry.functions.is_authorized(producer).call(block_identifier=block_number)
            except Exception:
                log.exception("NodeRegistry check failed at block %s", block_number)
                ok = False
            self._authorized[producer] = ok
        return self._authorized[producer]

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
        replayed = projections.rebuild(session)
        detail = f"reorg: blocks after {fork} dropped, {dropped} event(s) removed, {replayed} replayed"
        session.add(ChainIncident(kind="reorg", block_number=fork + 1, detail=detail))
        self._authorized.clear()
        log.warning(detail)
