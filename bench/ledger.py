"""Ledger benchmark: transfers per second on SQLite and PostgreSQL.

make bench   (or: python -m bench.ledger [--quick])

- SQLite, one writer, one committed transaction per transfer, WAL with synchronous=FULL
  (every commit synced), through the same `service.transfer` the API uses;
- SQLite, batched: `create_transfers` with 1,000 transfers per committed transaction;
- PostgreSQL (a throwaway server with fsync on, or SENTINEL_BENCH_PG_URL), 8 client
  processes each committing one transfer per transaction over 10,000 accounts;
- the same with all 8 clients on 2 hot accounts (every transfer waits for the row locks),
  counting errors (there must be none).

References (issue 8): a Python/Django ledger on PostgreSQL measured 288 single-row
updates/s; pgledger (all in PL/pgSQL) about 10,000 transfers/s on a laptop; TigerBeetle
about 1M/s.
"""

import argparse
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import insert, select
from sqlmodel import Session

from backend.db import make_engine
from backend.errors import DomainError
from backend.ledger import service
from backend.ledger.models import DEBITS_MUST_NOT_EXCEED_CREDITS, LedgerAccount
from backend.migrate import migrate
from bench._server import free_port

FUNDS = 10**9


def open_accounts(url: str, count: int) -> list[int]:
    """`count` user accounts funded from the bank, in two bulk statements."""
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        service.begin_write(session)
        bank = service.account_for(session, owner=service.BANK, currency="USD")
        now = service.now_s()
        session.execute(
            insert(LedgerAccount.__table__),
            [
                {
                    "owner": f"0x{n:040x}",
                    "currency": "USD",
                    "flags": DEBITS_MUST_NOT_EXCEED_CREDITS,
                    "debits_pending": 0,
                    "debits_posted": 0,
                    "credits_pending": 0,
                    "credits_posted": 0,
                    "created_at": now,
                }
                for n in range(count)
            ],
        )
        session.commit()
        table = LedgerAccount.__table__
        users = list(session.scalars(select(table.c.id).where(table.c.owner != service.BANK).order_by(table.c.id)))
        bank_id = bank.id
    for start in range(0, len(users), 1000):
        chunk = users[start : start + 1000]
        fund = [
            service.Transfer(id=f"fund:{i}", code="topup", debit_account_id=bank_id, credit_account_id=i, amount=FUNDS)
            for i in chunk
        ]
        service.run(engine, lambda session, fund=fund: service.create_transfers(session, fund))
    engine.dispose()
    return users


def _pairs(rng: random.Random, accounts: list[int], n: int):
    for _ in range(n):
        yield rng.sample(accounts, 2)


def single_writer(url: str, accounts: list[int], n: int) -> float:
    engine = make_engine(url)
    rng = random.Random(1)
    work = [
        service.Transfer(id=uuid.uuid4().hex, code="bench", debit_account_id=d, credit_account_id=c, amount=1)
        for d, c in _pairs(rng, accounts, n)
    ]
    started = time.perf_counter()
    for request in work:
        service.transfer(engine, request)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return n / elapsed


def batched(url: str, accounts: list[int], n: int, size: int = 1_000) -> float:
    engine = make_engine(url)
    rng = random.Random(2)
    work = [
        service.Transfer(id=uuid.uuid4().hex, code="bench", debit_account_id=d, credit_account_id=c, amount=1)
        for d, c in _pairs(rng, accounts, n)
    ]
    started = time.perf_counter()
    for start in range(0, n, size):
        batch = work[start : start + size]
        results = service.run(engine, lambda session, batch=batch: service.create_transfers(session, batch))
        assert all(r.result == "created" for r in results)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return n / elapsed


def _client(args) -> tuple[int, int]:
    url, accounts, n, seed, start_at = args
    engine = make_engine(url)
    rng = random.Random(seed)
    work = [
        service.Transfer(id=uuid.uuid4().hex, code="bench", debit_account_id=d, credit_account_id=c, amount=1)
        for d, c in _pairs(rng, accounts, n)
    ]
    while time.time() < start_at:  # all clients start together
        time.sleep(0.001)
    done = errors = 0
    for request in work:
        try:
            service.transfer(engine, request)
            done += 1
        except (DomainError, Exception):  # noqa: B014  counted: the hot-account figure must show none
            errors += 1
    engine.dispose()
    return done, errors


def concurrent(url: str, accounts: list[int], clients: int, per_client: int) -> tuple[float, int]:
    start_at = time.time() + 2.0
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        jobs = [(url, accounts, per_client, seed, start_at) for seed in range(clients)]
        async_result = pool.map_async(_client, jobs)
        results = async_result.get(timeout=1_800)
    elapsed = time.time() - start_at
    done = sum(r[0] for r in results)
    return done / elapsed, sum(r[1] for r in results)


@contextmanager
def postgres():
    """A URL of a fresh database: SENTINEL_BENCH_PG_URL, or a throwaway Debian PostgreSQL
    server with durable settings (fsync on, synchronous_commit on)."""
    given = os.environ.get("SENTINEL_BENCH_PG_URL")
    if given:
        yield given
        return
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bindirs:
        raise SystemExit("PostgreSQL is missing: run `make setup-db` or set SENTINEL_BENCH_PG_URL")
    bindir = bindirs[-1].parent
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="sentinel-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        [*as_server, str(bindir / "initdb"), "-D", str(data), "-U", "sentinel", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=50"
    subprocess.run(
        [*as_server, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="sentinel", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        yield f"postgresql+psycopg://sentinel@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_server, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def disk_commit_ceiling(folder: str, n: int = 300) -> float:
    """Bare sqlite3 commits (one update, one insert, synchronous=FULL) on the same disk:
    what the disk's fsync allows at most, whatever the ledger does above it."""
    import sqlite3

    db = sqlite3.connect(f"{folder}/ceiling.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, b INTEGER)")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
    db.execute("INSERT INTO a VALUES (1, 0)")
    started = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE a SET b = b + 1 WHERE id = 1")
        db.execute("INSERT INTO t (a) VALUES (?)", (i,))
        db.execute("COMMIT")
    rate = n / (time.perf_counter() - started)
    db.close()
    return rate


def check_books(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as session:
        report = service.check(session)
    engine.dispose()
    return "ok" if report.ok else "FAILED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer transfers (a smoke run)")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0

    with tempfile.TemporaryDirectory(prefix="sentinel-bench-ledger-") as tmp:
        url = f"sqlite:///{tmp}/ledger.db"
        accounts = open_accounts(url, 1_000)
        rate = single_writer(url, accounts, int(3_000 * scale))
        print(
            "ledger SQLite one writer, one committed tx per transfer (synchronous=FULL): "
            f"{rate:,.0f} transfers/s (target >= 500/s)"
        )
        rate = batched(url, accounts, int(50_000 * scale))
        print(f"ledger SQLite batched, 1,000 transfers per tx: {rate:,.0f} transfers/s (target >= 5,000/s)")
        print(f"ledger SQLite books after: {check_books(url)}")
        ceiling = disk_commit_ceiling(tmp)
        print(f"context: bare sqlite3 synchronous=FULL commits on this disk: {ceiling:,.0f} tx/s (no target)")

    with postgres() as url:
        accounts = open_accounts(url, 10_000)
        rate, errors = concurrent(url, accounts, 8, int(1_500 * scale))
        print(
            "ledger PostgreSQL 8 clients over 10,000 accounts: "
            f"{rate:,.0f} transfers/s, {errors} errors (target >= 1,000/s)"
        )
        hot = accounts[:2]
        rate, errors = concurrent(url, hot, 8, int(500 * scale))
        print(
            "ledger PostgreSQL 8 clients on 2 hot accounts: "
            f"{rate:,.0f} transfers/s, {errors} errors (target >= 200/s, 0 errors)"
        )
        print(f"ledger PostgreSQL books after: {check_books(url)}")
    print(
        "references: a Python/Django ledger on PostgreSQL 288 single-row updates/s; "
        "pgledger (PL/pgSQL) ~10,000 transfers/s on a laptop; TigerBeetle ~1,000,000 transfers/s"
    )


if __name__ == "__main__":
    main()
