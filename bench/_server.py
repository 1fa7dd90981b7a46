"""The backend (or another ASGI app) in its own uvicorn process, for the HTTP benchmarks."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(factory: str, env: dict) -> tuple[subprocess.Popen, str]:
    """`uvicorn --factory <factory>` on a free port: the process and its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        env=env,
        cwd=ROOT,
    )
    return server, f"http://127.0.0.1:{port}"


def backend_env(env: dict, *, rpc_url: str, manifest_path: str, database: Path) -> dict:
    return dict(
        env,
        SENTINEL_RPC_URL=rpc_url,
        SENTINEL_MANIFEST_PATH=manifest_path,
        SENTINEL_DATABASE_URL=f"sqlite:///{database}",
    )


def wait_for_ads(base: str, count: int, timeout: float = 120) -> None:
    """Until the backend has indexed `count` ads; on a timeout, exits with the chain status."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/api/ads", params={"limit": 1}).json()["total"] >= count:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the backend did not index the ads in time: {httpx.get(f'{base}/api/chain/status').text}")
