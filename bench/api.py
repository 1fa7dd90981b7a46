"""API benchmark: the ads listing with 1,000 ads on SQLite under 50 concurrent clients.

    make bench   (or: python -m bench.api [--ads 1000 --clients 50 --seconds 15])

The ads are real: created on Anvil and indexed by the backend's own indexer. The server
is uvicorn (one process, the indexer inside it); the load comes from wrk, closed loop,
on the same 2-core machine. Two runs: the market's query shapes again and again (what
the page cache is for), and every request a page not asked for before (built from the
database; only the count of matching ads is shared between pages of the same filters).

A third run measures the floor of this stack on this machine: a FastAPI app whose one
route answers a real ads page held in memory, served by the same uvicorn under the same
load. No ads route can be faster than that, whatever it caches.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from ape import accounts

from bench._chain import Traffic, deployed_chain, seller_ad_args
from bench._server import backend_env, start_server, wait_for_ads

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
        args = seller_ad_args(
            token,
            amount=(10 + n % 30) * 10**6,
            price=690 + n % 80,
            fiat=fiat,
            min_amount=1 * 10**6,
            max_amount=(5 + n % 60) * 10**6,
            methods=1 << (n % 4),
        )
        calls.append((sellers[n % 4], traffic.escrow.functions.create_ad(*args)))
    # One block per batch: 60 transactions of 400k gas stay inside Anvil's 30M block gas limit
    # (more would be left pending and never reach the backend).
    for i in range(0, len(calls), 60):
        traffic.send_batch(calls[i : i + 60])
    traffic.automine(True)


def floor_app():
    """`uvicorn --factory bench.api:floor_app`: one route, a fixed body read at start-up."""
    from fastapi import FastAPI, Response

    body = Path(os.environ["BENCH_FLOOR_BODY"]).read_bytes()
    app = FastAPI()

    @app.get("/api/ads")
    async def ads() -> Response:
        return Response(body, media_type="application/json")

    return app


WRK_SCRIPT = """
local paths = {%(paths)s}
local unique = %(unique)s
local i = 0
request = function()
  i = i + 1
  if unique then
    -- every request a page nobody asked for yet: the page cache never helps
    return wrk.format("GET", string.format("/api/ads?offset=%%d&limit=%%d", i %% 980, 1 + math.floor(i / 980) %% 100))
  end
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000))
end
"""


def wrk(base: str, clients: int, seconds: float, *, unique: bool) -> dict:
    """Closed-loop load from wrk (C, one thread), so the load generator costs little CPU."""
    paths = ", ".join(f'"/api/ads?{urlencode(q)}"' for q in QUERIES)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"paths": paths, "unique": "true" if unique else "false"})
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, errors, micros = (int(x) for x in fields[:3])
    p50, p95, p99, mean = (float(x) for x in fields[3:])
    return {
        "requests": requests,
        "errors": errors,
        "rps": requests / (micros / 1e6),
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "mean": mean,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ads", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    with deployed_chain() as (rpc_url, manifest, manifest_path), tempfile.TemporaryDirectory() as tmp:
        create_ads(Traffic(rpc_url, manifest), args.ads)
        env = backend_env(os.environ, rpc_url=rpc_url, manifest_path=manifest_path, database=Path(tmp) / "api.db")
        server, base = start_server("backend.main:create_app", env)
        try:
            wait_for_ads(base, args.ads)
            wrk(base, 5, 2, unique=False)  # warm-up
            results = {
                "repeated query shapes": wrk(base, args.clients, args.seconds, unique=False),
                "every page new (cache misses)": wrk(base, args.clients, args.seconds, unique=True),
            }
            floor_body = os.path.join(tmp, "page.json")
            with open(floor_body, "wb") as out:
                # The misses ask for 1 to 100 ads a page: the floor answers a page of 50.
                out.write(httpx.get(f"{base}/api/ads", params={"limit": 50}).content)
        finally:
            server.terminate()
            server.wait(10)
        floor, floor_base = start_server("bench.api:floor_app", dict(os.environ, BENCH_FLOOR_BODY=floor_body))
        try:
            _wait_up(floor_base)
            wrk(floor_base, 5, 2, unique=False)
            results["floor: fixed page, no work"] = wrk(floor_base, args.clients, args.seconds, unique=False)
        finally:
            floor.terminate()
            floor.wait(10)
    print(
        f"ads listing, {args.ads} ads on SQLite, {args.clients} concurrent clients (wrk), {args.seconds} s each, "
        "one uvicorn process, load generator on the same 2 cores:"
    )
    for name, r in results.items():
        target = "no target: the least any route costs here" if name.startswith("floor") else "target <= 50 ms"
        print(f"ads {name} p95: {r['p95']:.1f} ms ({target})")
        print(
            f"ads {name} throughput: {r['rps']:,.0f} req/s (p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
            f"{r['requests']:,} requests, {r['errors']} errors)"
        )


def _wait_up(base: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/api/ads").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not start")


if __name__ == "__main__":
    main()
