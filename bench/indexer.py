"""Indexer benchmark: backfill speed over >= 10,000 escrow events, and head lag while following.

make bench   (or: python bench/indexer.py [--events 10000])
"""

import argparse
import statistics
import tempfile
import time

from ape import accounts
from sqlmodel import Session, func, select
from web3 import Web3

from backend.chain.contracts import Deployment
from backend.chain.indexer import Indexer
from backend.chain.models import ChainEvent
from backend.db import make_engine
from backend.migrate import migrate
from backend.projections import all_projections
from bench._chain import Traffic, deployed_chain, seller_ad_args

BATCH = 400  # transactions per block


def make_events(traffic: Traffic, count: int) -> int:
    """Trades by 4 sellers and 4 buyers: create, then open / mark paid / release cycles and top-ups."""
    sellers = [a.address for a in accounts.test_accounts[1:5]]
    buyers = [a.address for a in accounts.test_accounts[5:9]]
    traffic.automine(False)
    traffic.fund(sellers + buyers, amount=10_000 * 10**6)
    escrow, token = traffic.escrow.functions, traffic.token.address
    traffic.send_batch([(s, escrow.create_ad(*seller_ad_args(token, amount=9_000 * 10**6))) for s in sellers])
    sent, order_id = len(sellers), 0
    while sent < count:
        opens = []
        for i, buyer in enumerate(buyers):
            opens.append((buyer, escrow.open_order(1 + i, 1 * 10**6, 725)))
        traffic.send_batch(opens * 25)  # 100 orders, ids order_id+1 .. order_id+100
        first, order_id = order_id + 1, order_id + 100
        pays = [(buyers[(n - 1) % 4], escrow.mark_paid(n, b"\x01" * 32)) for n in range(first, order_id + 1)]
        releases = [(sellers[(n - 1) % 4], escrow.release(n)) for n in range(first, order_id + 1)]
        tops = [(s, escrow.top_up(1 + i, 1)) for i, s in enumerate(sellers)] * 25
        traffic.send_batch(pays)
        traffic.send_batch(releases + tops)
        sent += 400
    traffic.automine(True)
    return sent


def backfill(rpc_url, manifest_path, db_url) -> tuple[int, float]:
    migrate(db_url)
    engine = make_engine(db_url)
    indexer = Indexer(
        projections=all_projections(),
        engine=engine,
        w3=Web3(Web3.HTTPProvider(rpc_url)),
        deployment=Deployment.load(manifest_path),
    )
    started = time.perf_counter()
    events = indexer.catch_up()
    return events, time.perf_counter() - started


def follow_lag(rpc_url, manifest_path, db_url, traffic: Traffic, seconds: float, rate: float) -> list[float]:
    """Seconds from a transaction's receipt to its event being committed by a running indexer."""
    engine = make_engine(db_url)
    committed: dict[str, float] = {}
    indexer = Indexer(
        projections=all_projections(),
        engine=engine,
        w3=Web3(Web3.HTTPProvider(rpc_url)),
        deployment=Deployment.load(manifest_path),
        on_commit=lambda events: committed.update({e.tx_hash: time.perf_counter() for e in events}),
    )
    indexer.catch_up()
    indexer.start(poll_seconds=0.25)
    seller = accounts.test_accounts[1].address
    mined: dict[str, float] = {}
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            tx_hash = traffic.send_batch([(seller, traffic.escrow.functions.top_up(1, 1))], mine=False)[0]
            mined[tx_hash] = time.perf_counter()  # automine: the receipt exists when the call returns
            time.sleep(1 / rate)
        time.sleep(2)
    finally:
        indexer.stop()
    return [committed[h] - t for h, t in mined.items() if h in committed] + [
        float("inf") for h in mined if h not in committed
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--follow-seconds", type=float, default=15)
    args = parser.parse_args()
    with deployed_chain() as (rpc_url, manifest, manifest_path), tempfile.TemporaryDirectory() as tmp:
        traffic = Traffic(rpc_url, manifest)
        started = time.perf_counter()
        sent = make_events(traffic, args.events)
        print(f"generated {sent:,} escrow transactions in {time.perf_counter() - started:.1f} s")
        db_url = f"sqlite:///{tmp}/bench.db"
        events, elapsed = backfill(rpc_url, manifest_path, db_url)
        print(
            f"indexer backfill: {events:,} events in {elapsed:.2f} s = {events / elapsed:,.0f} events/s "
            f"(target >= 2,000/s)"
        )
        lags = sorted(follow_lag(rpc_url, manifest_path, db_url, traffic, args.follow_seconds, rate=10))
        p50, p95 = statistics.median(lags), lags[int(0.95 * (len(lags) - 1))]
        print(
            f"head lag while following ({len(lags)} txs at 10/s, poll 0.25 s): "
            f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms (target p95 <= 2 s)"
        )
        engine = make_engine(db_url)
        with Session(engine) as session:
            print(f"events in the database: {session.exec(select(func.count(ChainEvent.id))).one():,}")


if __name__ == "__main__":
    main()
