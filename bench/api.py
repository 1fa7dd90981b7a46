"""API benchmark: the ads listing with 1,000 ads on SQLite under 50 concurrent clients.

    make bench   (or: python -m bench.api [--ads 1000 --clients 50 --seconds 15])

The ads are real: created on Anvil and indexed by the backend's own indexer. The server
is uvicorn (one process) and the load generator runs on the same 2-core machine.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
from ape import accounts

from bench._chain import Traffic, deployed_chain, seller_ad_args

QUERIES = [
    {},
    {"fiat": "USD"},
    {"sort": "-price"},
    {"amount": str(50 * 10**6)},
    {"payment_method": 2},
    {"min_price": "700", "max_price": "740", "sort": "newest"},
    {"offset": 100, "limit": 20},
]


def create_ads(traffic: Traffic, count: int) -> None:
    sellers = [a.address for a in accounts.test_accounts[1:5]]
    traffic.automine(False)
    traffic.fund(sellers, amount=10_000 * 10**6)
    token = traffic.token.address
    calls = []
    for n in range(count):
        fiat = (b"USD", b"EUR", b"CNY")[n % 3]
        args = seller_ad_args(token, amount=(10 + n % 30) * 10**6, price=690 + n % 80, fiat=fiat,
                              min_amount=1 * 10**6, max_amount=(5 + n % 60) * 10**6, methods=1 << (n % 4))
        calls.append((sellers[n % 4], traffic.escrow.functions.create_ad(*args)))
    for i in range(0, len(calls), 250):
        traffic.send_batch(calls[i : i + 250])
    traffic.automine(True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(base: str, clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:

        async def worker(n: int):
            nonlocal errors
            i = n
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await http.get("/api/ads", params=QUERIES[i % len(QUERIES)])
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
                i += 1

        await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies, errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ads", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    with deployed_chain() as (rpc_url, manifest, manifest_path), tempfile.TemporaryDirectory() as tmp:
        create_ads(Traffic(rpc_url, manifest), args.ads)
        port = free_port()
        env = dict(os.environ, SENTINEL_RPC_URL=rpc_url, SENTINEL_MANIFEST_PATH=manifest_path,
                   SENTINEL_DATABASE_URL=f"sqlite:///{tmp}/api.db")
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "backend.main:create_app", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    if httpx.get(f"{base}/api/ads", params={"limit": 1}).json()["total"] >= args.ads:
                        break
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                time.sleep(0.5)
            else:
                raise SystemExit("the backend did not index the ads in time")
            asyncio.run(load(base, 5, 2))  # warm-up
            latencies, errors = asyncio.run(load(base, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    latencies.sort()
    pct = lambda q: latencies[int(q * (len(latencies) - 1))] * 1000  # noqa: E731
    print(f"ads listing, {args.ads} ads on SQLite, {args.clients} concurrent clients, {args.seconds:.0f} s, "
          f"{len(QUERIES)} query shapes:")
    print(f"  {len(latencies):,} requests, {errors} errors, {len(latencies) / args.seconds:,.0f} requests/s")
    print(f"  latency p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms "
          f"(target p95 <= 50 ms), mean {statistics.mean(latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
