"""Web benchmark: Lighthouse 12 (mobile) on the market and explorer pages.

    make bench   (or: python -m bench.web [--runs 3 --ads 20])

A fresh Anvil with the contracts, a few real ads (so the market has cards to paint), the
backend in its own uvicorn process, then Lighthouse (npm devDependency) driving Debian's
Chromium headless with its default mobile profile: a mid-range phone on slow 4G, simulated
throttling. Each page runs `--runs` times; the median score is printed (one run on a shared
2-core machine is noisy).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from ape import accounts

from bench._chain import UNIT, Traffic, deployed_chain, seller_ad_args
from bench._server import backend_env, start_server, wait_for_ads

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME = "/usr/bin/chromium"
PAGES = {"market": "/", "explorer": "/explorer.html"}
TARGET = 95


def create_ads(traffic: Traffic, count: int) -> None:
    sellers = [a.address for a in accounts.test_accounts[1:3]]
    traffic.fund(sellers)
    token = traffic.token.address
    calls = [
        (sellers[n % 2], traffic.escrow.functions.create_ad(*seller_ad_args(token, amount=200 * UNIT, price=700 + n)))
        for n in range(count)
    ]
    traffic.send_batch(calls)


def ensure_vendor_ethers() -> None:
    """The pages import ethers from frontend/vendor/ (`make setup-node` copies it there)."""
    target = ROOT / "frontend" / "vendor" / "ethers.min.js"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "node_modules" / "ethers" / "dist" / "ethers.min.js", target)


def lighthouse(url: str, out: Path) -> dict:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--only-categories=performance",
            "--output=json",
            f"--output-path={out}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            "--quiet",
        ],
        env={**os.environ, "CHROME_PATH": CHROME},
        check=True,
    )
    report = json.loads(out.read_text())
    audits = report["audits"]
    return {
        "score": round(report["categories"]["performance"]["score"] * 100),
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "fcp": audits["first-contentful-paint"]["numericValue"],
        "tbt": audits["total-blocking-time"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ads", type=int, default=20)
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("lighthouse is missing: `make setup-node` installs it (npm devDependency)")
    ensure_vendor_ethers()
    with deployed_chain() as (rpc_url, manifest, manifest_path), tempfile.TemporaryDirectory() as tmp:
        create_ads(Traffic(rpc_url, manifest), args.ads)
        env = backend_env(os.environ, rpc_url=rpc_url, manifest_path=manifest_path, database=Path(tmp) / "web.db")
        server, base = start_server("backend.main:create_app", env)
        results = {}
        try:
            wait_for_ads(base, args.ads)
            for name, path in PAGES.items():
                results[name] = [lighthouse(base + path, Path(tmp) / f"{name}-{n}.json") for n in range(args.runs)]
        finally:
            server.terminate()
            server.wait(10)
    print(f"Lighthouse 12, mobile profile (simulated slow 4G, 4x CPU slowdown), median of {args.runs} runs:")
    for name, runs in results.items():
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        scores = ", ".join(str(r["score"]) for r in runs)
        print(f"{name} page Lighthouse mobile performance: {median['score']:.0f} (target >= {TARGET}; runs: {scores})")
        print(f"{name} page largest contentful paint: {median['lcp'] / 1000:.1f} s (target <= 2.5 s)")
        print(f"{name} page first contentful paint: {median['fcp'] / 1000:.1f} s (target <= 1.8 s)")
        print(f"{name} page total blocking time: {median['tbt']:.0f} ms (target <= 200 ms)")
        print(f"{name} page transfer size: {median['bytes'] / 1024:.0f} KB (target <= 300 KB)")


if __name__ == "__main__":
    main()
