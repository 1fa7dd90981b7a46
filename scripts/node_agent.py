"""The node agent: a permissioned node of the desk's network, as its own process.

    python -m scripts.node_agent run --platform http://127.0.0.1:8000 --port 8600
    ape run node_agent run --platform ...      (the same command through ape)
    python -m scripts.node_agent address       (the node's address; makes the key if missing)

It makes or loads its key (a V3 keystore file, password from SENTINEL_NODE_KEY_PASSWORD),
gathers a hardware report, asks every authority the platform names for a challenge,
answers each within its deadline, and waits until NodeRegistry admits it (quorum of the
authorities). Meanwhile and after it serves a small HTTP API: the platform POSTs a user's
signed action to /relay; the node checks it, simulates it, sends it from its own key and
returns the transaction hash. Once admitted it sends signed heartbeats to the platform.
"""

import json
import logging
import os
import platform as host
import shutil
import subprocess
import threading
import time
from pathlib import Path

import click
import httpx
import psutil
from eth_account import Account
from web3 import Web3

from backend.chain.contracts import Deployment
from backend.chain.deps import ChainContext, rpc_provider
from backend.nodes import challenge as work
from backend.nodes.schemas import HardwareReport

log = logging.getLogger("sentinel.node_agent")

PASSWORD_ENV = "SENTINEL_NODE_KEY_PASSWORD"
DEFAULT_KEYFILE = Path("run") / "node-agent.key"
# Revocation is final for the challenge flow: retrying would only add refusals.
FINAL_CHECKS = {"revoked"}


# ------------------------------------------------------------------- the key


def load_or_create_key(keyfile: Path):
    """The node's account from its keystore; a new random key (saved 0600) if there is none.
    The key is never printed: only the address."""
    password = os.environ.get(PASSWORD_ENV, "")
    if keyfile.exists():
        return Account.from_key(Account.decrypt(json.loads(keyfile.read_text()), password))
    account = Account.create()
    keystore = Account.encrypt(account.key, password, kdf="scrypt", iterations=2**14)
    keyfile.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(keystore, out)
    return account


# ----------------------------------------------------------- the hardware report


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()[:128]
    except OSError:
        pass
    return (host.processor() or host.machine() or "unknown")[:128]


def _gpus() -> list[dict]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, _, memory = line.rpartition(",")
        if name.strip():
            gpus.append({"name": name.strip()[:128], "memory_mb": int(float(memory.strip() or 0))})
    return gpus


def hardware_report(data_dir: Path) -> HardwareReport:
    return HardwareReport(
        cpu_cores=psutil.cpu_count(logical=True) or 0,
        cpu_model=_cpu_model(),
        memory_mb=psutil.virtual_memory().total // 2**20,
        disk_free_gb=round(psutil.disk_usage(str(data_dir)).free / 2**30, 2),
        gpus=_gpus(),
        os=host.platform()[:128],
    )


# ------------------------------------------------------------------ the agent


class Agent:
    def __init__(self, *, account, platform: str, rpc_url: str, manifest: Path | None, endpoint: str, data_dir: Path):
        self.account = account
        self.address = account.address
        self.platform = platform.rstrip("/")
        self.endpoint = endpoint.rstrip("/")
        self.data_dir = data_dir
        self.http = httpx.Client(base_url=self.platform, timeout=30)
        w3 = Web3(rpc_provider(rpc_url))
        deployment = Deployment.load(manifest) if manifest else self._platform_deployment()
        self.chain = ChainContext(w3=w3, deployment=deployment)
        self.registry = self.chain.contract("NodeRegistry")
        self.state = "starting"
        self.outcomes: list[dict] = []
        self.relayed = 0
        self.stop = threading.Event()

    def _platform_deployment(self) -> Deployment:
        d = self.http.get("/api/chain/deployment").raise_for_status().json()
        return Deployment(
            chain_id=d["chain_id"],
            deploy_block=d["deploy_block"],
            addresses={k: Web3.to_checksum_address(v) for k, v in d["contracts"].items()},
            abis=d["abis"],
            tokens=d["tokens"],
            token_abi=d["token_abi"],
            relayer=d["relayer"],
        )

    def admitted(self) -> bool:
        return bool(self.registry.functions.nodes(self.address).call()[4])

    # -------------------------------------------------------------- admission

    def answer_one(self, authority: str, report: HardwareReport) -> dict:
        """One challenge from one authority key, solved and answered."""
        response = self.http.post("/api/nodes/challenges", json={"candidate": self.address, "authority": authority})
        if response.status_code != 201:
            return {"authority": authority, "outcome": "refused", "status": response.status_code, **_json(response)}
        c = response.json()
        started = time.perf_counter()
        results = work.solve(nonce=c["nonce"], packets=c["packets"], difficulty_bits=c["difficulty_bits"])
        solve_ms = int((time.perf_counter() - started) * 1000)
        data = work.answer_typed_data(
            chain_id=c["chain_id"],
            registry=c["registry"],
            digest=c["digest"],
            candidate=self.address,
            endpoint=self.endpoint,
            results=work.results_hash(results),
            report=work.report_hash(report.model_dump(mode="json")),
        )
        body = {
            "results": results,
            "hardware": report.model_dump(mode="json"),
            "endpoint": self.endpoint,
            "signature": work.sign_typed(self.account.key, data),
        }
        answer = self.http.post(f"/api/nodes/challenges/{c['id']}/answer", json=body)
        outcome = {"authority": authority, "status": answer.status_code, "solve_ms": solve_ms, **_json(answer)}
        outcome.setdefault("outcome", "accepted" if answer.status_code == 200 else "refused")
        log.info(
            "authority %s: %s (solved in %d ms)", authority, outcome.get("reason") or outcome.get("detail"), solve_ms
        )
        return outcome

    def admit(self, *, wait_seconds: float, retry_seconds: float) -> bool:
        """Challenge rounds until NodeRegistry admits this node (or a refusal is final)."""
        deadline = time.monotonic() + wait_seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self.admitted():
                self.state = "admitted"
                return True
            self.state = "admitting"
            report = hardware_report(self.data_dir)
            try:
                authorities = self.http.get("/api/nodes/authorities").raise_for_status().json()
            except httpx.HTTPError as err:
                log.warning("platform unreachable: %s", err)
                authorities = []
            for authority in authorities:
                if self.admitted():
                    break
                outcome = self.answer_one(authority["address"], report)
                self.outcomes.append(outcome)
                if outcome.get("check") in FINAL_CHECKS or "revoked" in str(outcome.get("detail", "")):
                    self.state = "refused"
                    log.error("admission refused for good: %s", outcome.get("detail"))
                    return False
            # Quorum may need authorities elsewhere: poll the registry, then try again.
            poll_until = time.monotonic() + retry_seconds
            while time.monotonic() < min(poll_until, deadline) and not self.stop.is_set():
                if self.admitted():
                    self.state = "admitted"
                    log.info("admitted by NodeRegistry as %s", self.address)
                    return True
                time.sleep(0.25)
        self.state = "admitted" if self.admitted() else "not admitted"
        return self.state == "admitted"

    # ------------------------------------------------------------- heartbeats

    def heartbeat(self) -> int:
        sent_ms = work.now_ms()
        signature = work.sign_heartbeat(
            self.account.key,
            chain_id=self.chain.deployment.chain_id,
            node=self.address,
            endpoint=self.endpoint,
            sent_at=sent_ms,
        )
        body = {
            "node": self.address,
            "endpoint": self.endpoint,
            "sent_ms": sent_ms,
            "hardware": hardware_report(self.data_dir).model_dump(mode="json"),
            "signature": signature,
        }
        return self.http.post("/api/nodes/heartbeats", json=body).status_code

    def heartbeats(self, every: float) -> None:
        while not self.stop.is_set():
            try:
                status = self.heartbeat()
                if status == 403 and not self.admitted():
                    # Revoked by the authorities: no more heartbeats, /relay refuses from now on.
                    self.state = "revoked"
                    log.error("node %s was revoked by NodeRegistry", self.address)
                    return
                if status != 200:
                    log.warning("heartbeat answered %s", status)
            except httpx.HTTPError as err:
                log.warning("heartbeat failed: %s", err)
            self.stop.wait(every)

    def lifecycle(self, *, wait_seconds: float, retry_seconds: float, heartbeat_seconds: float) -> None:
        try:
            if self.admit(wait_seconds=wait_seconds, retry_seconds=retry_seconds):
                self.heartbeats(heartbeat_seconds)
        except Exception:  # the HTTP API stays up and /health says what happened
            log.exception("node lifecycle failed")
            self.state = "failed"


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:500]}
    return body if isinstance(body, dict) else {"detail": body}


# -------------------------------------------------------------- the HTTP API


def make_app(agent: Agent):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from requests.exceptions import RequestException

    from backend.errors import DomainError
    from backend.relay import service as relay
    from backend.relay.schemas import RelaySubmitRequest

    app = FastAPI(title="Sentinel OTC node agent", version="0.1.0")

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})

    @app.exception_handler(RequestException)
    async def chain_unreachable(_request: Request, _exc: RequestException):
        return JSONResponse(status_code=503, content={"detail": "the node's chain RPC is unreachable"})

    @app.get("/health")
    def health():
        return {
            "node": agent.address,
            "state": agent.state,
            "endpoint": agent.endpoint,
            "chain_id": agent.chain.deployment.chain_id,
            "relayed": agent.relayed,
            "admission": agent.outcomes[-6:],
        }

    @app.post("/relay")
    def relay_action(body: RelaySubmitRequest):
        if agent.state != "admitted":
            raise DomainError(503, f"node {agent.address} is {agent.state}, not admitted: it relays nothing yet")
        # The node trusts nobody, the platform included: the same checks again, then its own gas.
        signer = relay.check_signed(chain=agent.chain, request=body)
        tx_hash = relay.send_signed(chain=agent.chain, account=agent.account, request=body, signer=signer)
        agent.relayed += 1
        return {"tx_hash": tx_hash, "node": agent.address, "signer": signer}

    return app


# ------------------------------------------------------------------- commands


@click.group()
def cli():
    """A permissioned node of Sentinel OTC."""


@cli.command()
@click.option("--keyfile", type=click.Path(path_type=Path), default=DEFAULT_KEYFILE, show_default=True)
def address(keyfile):
    """Print the node's address (making its key if there is none)."""
    click.echo(load_or_create_key(keyfile).address)


@cli.command()
@click.option("--platform", "platform_url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--rpc", "rpc_url", default="http://127.0.0.1:8545", show_default=True)
@click.option("--manifest", type=click.Path(path_type=Path), default=None, help="Default: the platform's deployment.")
@click.option("--keyfile", type=click.Path(path_type=Path), default=DEFAULT_KEYFILE, show_default=True)
@click.option("--host", "bind_host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8600, show_default=True)
@click.option("--endpoint", default=None, help="URL the platform reaches this node at (default: http://host:port).")
@click.option("--heartbeat-seconds", default=5.0, show_default=True)
@click.option("--admission-wait-seconds", default=600.0, show_default=True)
@click.option("--retry-seconds", default=10.0, show_default=True)
def run(
    platform_url,
    rpc_url,
    manifest,
    keyfile,
    bind_host,
    port,
    endpoint,
    heartbeat_seconds,
    admission_wait_seconds,
    retry_seconds,
):
    """Be admitted, then relay and send heartbeats until stopped."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per heartbeat says nothing
    account = load_or_create_key(keyfile)
    agent = Agent(
        account=account,
        platform=platform_url,
        rpc_url=rpc_url,
        manifest=manifest,
        endpoint=endpoint or f"http://{bind_host}:{port}",
        data_dir=keyfile.resolve().parent,
    )
    log.info("node %s, endpoint %s, platform %s", agent.address, agent.endpoint, agent.platform)
    threading.Thread(
        target=agent.lifecycle,
        kwargs={
            "wait_seconds": admission_wait_seconds,
            "retry_seconds": retry_seconds,
            "heartbeat_seconds": heartbeat_seconds,
        },
        name="node-lifecycle",
        daemon=True,
    ).start()
    try:
        uvicorn.run(make_app(agent), host=bind_host, port=port, log_level="warning")
    finally:
        agent.stop.set()


if __name__ == "__main__":
    cli()
