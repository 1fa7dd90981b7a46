"""Browser journeys: Playwright drives Debian's Chromium through the real web app.

Run with `ape test tests/e2e -q` (its own pytest call: the suites' conftest modules share
a name). ape starts Anvil; the contracts are deployed once by the same code as `ape run
deploy`; every test then gets its own backend process (uvicorn, fresh SQLite, indexer
polling every 0.2 s) because ape reverts the chain to the post-deploy snapshot between
tests and an indexer that had followed the old chain would be wrong.

Each browser context carries an injected wallet (wallet.js): an EIP-1193 provider that
announces itself by EIP-6963 and sets window.ethereum. It signs and sends through
Python (eth_account with the ape test account's key) and forwards everything else to
Anvil, so the pages run the same code as with MetaMask.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from playwright.sync_api import expect, sync_playwright
from web3 import Web3

from tests.deployment import *  # noqa: F403  manifest, escrow, kyc_registry, node_registry
from tests.roles import *  # noqa: F403  admin, seller, buyer, other, relayer

ROOT = Path(__file__).resolve().parents[2]
# The committed shots (the README shows some) change only when asked: SENTINEL_SCREENSHOTS=1.
COMMITTED_SCREENSHOTS = Path(__file__).parent / "screenshots"
WALLET_JS = (Path(__file__).parent / "wallet.js").read_text()

UNIT = 10**6
PRICE = 725
USD = b"USD"
HOUR = 3600
TERMS_HASH = keccak(text="bank transfer")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}

expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def token(project, manifest, seller, buyer):
    """The test stablecoin; seller and buyer hold 10,000 each and have approved nothing."""
    contract = project.TestStablecoin.at(manifest["tokens"][0]["address"])
    for account in (seller, buyer):
        contract.faucet(10_000 * UNIT, sender=account)
    return contract


@pytest.fixture
def create_ad(escrow, token, seller):
    """An ad made on chain directly (journeys that are not about creating ads)."""

    def create(
        amount=1_000 * UNIT,
        *,
        price=PRICE,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=0b101,
    ):
        token.approve(escrow, amount, sender=seller)
        tx = escrow.create_ad(
            token,
            amount,
            price,
            USD,
            min_amount,
            max_amount,
            payment_window,
            payment_methods,
            TERMS_HASH,
            sender=seller,
        )
        return tx.decode_logs(escrow.AdCreated)[0].ad_id

    return create


@pytest.fixture
def open_order(escrow, buyer):
    def open_(ad_id, amount=100 * UNIT, *, max_price=PRICE):
        tx = escrow.open_order(ad_id, amount, max_price, sender=buyer)
        return tx.decode_logs(escrow.OrderOpened)[0].order_id

    return open_


# -------------------------------------------------------------- backend


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_vendor_ethers():
    """The page imports ethers from frontend/vendor/ (`make setup-node` copies it there)."""
    target = ROOT / "frontend" / "vendor" / "ethers.min.js"
    if not target.exists():
        source = ROOT / "node_modules" / "ethers" / "dist" / "ethers.min.js"
        if not source.exists():
            pytest.fail("node_modules/ethers is missing: run `make setup-node`")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


@dataclass
class Backend:
    url: str
    process: subprocess.Popen
    log_path: Path
    chain: object

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_indexed(self, timeout=20.0):
        """Until the indexer has caught up with the chain head (after txs sent from Python)."""
        head = self.chain.blocks.height
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = httpx.get(f"{self.url}/api/chain/status", timeout=5).json()
            if status["indexed"] >= head:
                return
            time.sleep(0.1)
        raise AssertionError(f"indexer did not reach block {head}:\n{self.log()}")


@pytest.fixture
def backend(manifest, chain, token, tmp_path):
    """The real backend in its own process, on a free port, with a fresh database."""
    _ensure_vendor_ethers()
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SENTINEL_RPC_URL": chain.provider.uri,
        "SENTINEL_MANIFEST_PATH": manifest["path"],
        "SENTINEL_DATABASE_URL": f"sqlite:///{tmp_path / 'sentinel.db'}",
        "SENTINEL_SIWE_DOMAINS": json.dumps([f"127.0.0.1:{port}"]),
        "SENTINEL_PUBLIC_ORIGIN": origin,
        "SENTINEL_INDEXER_POLL_SECONDS": "0.2",
        "SENTINEL_RELAY_FALLBACK_TO_OWN_KEY": "true",  # no node agent in these journeys
    }
    log_path = tmp_path / "backend.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "backend.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Backend(url=origin, process=process, log_path=log_path, chain=chain)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"backend exited with {process.returncode}:\n{server.log()}")
            try:
                if httpx.get(f"{origin}/api/chain/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"backend did not start:\n{server.log()}")
            time.sleep(0.1)
        server.wait_indexed()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup-browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def camera_browser(browser, tmp_path_factory):
    """Chromium whose fake camera plays a video of the shared face photos (three poses of
    one man, 0.8 s each, looped). Launched from the same Playwright as `browser`: a second
    sync Playwright cannot run beside the first."""
    from tests.faces import MOVING_FRAMES, y4m_from_photos

    video = y4m_from_photos(tmp_path_factory.mktemp("camera") / "faces.y4m", MOVING_FRAMES)
    yield from launched_with_camera(browser, video)


def launched_with_camera(browser, video):
    """Yields a Chromium whose camera plays `video` (y4m), closed afterwards."""
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    camera = browser.browser_type.launch(executable_path=CHROMIUM, args=args)
    yield camera
    camera.close()


@pytest.fixture
def page_browser(browser):
    """The browser `open_page` opens its contexts in; a module overrides it (KYC: `camera_browser`)."""
    return browser


@dataclass
class TestWallet:
    """The Python half of the injected wallet: holds the key, signs, sends raw txs."""

    __test__ = False  # not a test class, whatever its name

    address: str
    private_key: str
    rpc_url: str
    chain_id: int
    requests: list = field(default_factory=list)

    def __post_init__(self):
        self.w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 30}))
        self.keys = {self.address.lower(): self.private_key}

    def add_account(self, account):
        """Another account in the same wallet (the page switches to it by accountsChanged)."""
        self.keys[account.address.lower()] = account.private_key

    def _key(self, address=None) -> str:
        # Like a real wallet: sign with the account the dapp names, if the wallet holds it.
        if address is None:
            return self.private_key
        key = self.keys.get(str(address).lower())
        if key is None:
            raise ValueError(f"the wallet does not hold {address}")
        return key

    def handle(self, method: str, params_json: str) -> str:
        self.requests.append(method)
        params = json.loads(params_json)
        try:
            result = getattr(self, method)(*params)
        except Exception as err:  # the page gets a wallet-style error, as with MetaMask
            message = getattr(err, "message", None) or str(err)
            data = getattr(err, "data", None)
            return json.dumps(
                {"error": {"code": -32603, "message": message, "data": data if isinstance(data, str) else None}}
            )
        return json.dumps({"result": result})

    def personal_sign(self, data, address=None):
        message = encode_defunct(hexstr=data) if data.startswith("0x") else encode_defunct(text=data)
        return Account.sign_message(message, self._key(address)).signature.to_0x_hex()

    def eth_signTypedData_v4(self, address, typed):
        payload = json.loads(typed) if isinstance(typed, str) else typed
        return Account.sign_typed_data(self._key(address), full_message=payload).signature.to_0x_hex()

    def eth_sendTransaction(self, tx):
        sender = Web3.to_checksum_address(tx.get("from") or self.address)
        key = self._key(sender)
        latest = self.w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas") or 0
        tip = 10**9
        call = {
            "from": sender,
            "to": Web3.to_checksum_address(tx["to"]),
            "data": tx.get("data", "0x"),
            "value": int(tx.get("value", "0x0"), 16),
        }
        full = {
            **call,
            "chainId": self.chain_id,
            "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
            "gas": int(tx["gas"], 16) if tx.get("gas") else self.w3.eth.estimate_gas(call),
            "maxFeePerGas": 2 * base_fee + tip,
            "maxPriorityFeePerGas": tip,
            "type": 2,
        }
        del full["from"]
        signed = Account.sign_transaction(full, key)
        return self.w3.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()


@dataclass
class WalletPage:
    page: object
    wallet: TestWallet
    console: list


@pytest.fixture
def open_page(page_browser, backend, manifest, chain):
    """open_page(account, mobile=False, wallet_chain=None) -> WalletPage: a browser context with
    that account's wallet. With `wallet_chain` (a chain id) the wallet starts on that network
    and does not know the deployment's chain yet."""
    contexts = []
    opened = []

    def open_(account, *, mobile=False, wallet_chain=None):
        wallet = TestWallet(
            address=account.address,
            private_key=account.private_key,
            rpc_url=chain.provider.uri,
            chain_id=manifest["chain_id"],
        )
        context = page_browser.new_context(
            viewport=MOBILE if mobile else DESKTOP,
            device_scale_factor=2 if mobile else 1,
            is_mobile=mobile,
            has_touch=mobile,
            base_url=backend.url,
            locale="en-US",
            timezone_id="UTC",
        )
        contexts.append(context)
        context.expose_function("__sentinelTestWallet", wallet.handle)
        config = {
            "address": account.address,
            "chainId": manifest["chain_id"],
            "chainIdHex": hex(manifest["chain_id"]),
            "rpcUrl": chain.provider.uri,
        }
        if wallet_chain is not None:
            config.update(startChainIdHex=hex(wallet_chain), knownChains=[hex(wallet_chain)])
        context.add_init_script(script=WALLET_JS.replace("__WALLET_CONFIG__", json.dumps(config)))
        page = context.new_page()
        page.set_default_timeout(20_000)
        console = []
        page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
        page.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
        handle = WalletPage(page=page, wallet=wallet, console=console)
        opened.append(handle)
        return handle

    yield open_
    # Shown by pytest only when the test failed: what the pages said and the backend log.
    for handle in opened:
        print(f"--- console of {handle.wallet.address}:", *handle.console[-40:], sep="\n")
    print("--- backend log:", backend.log(), sep="\n")
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory):
    """Where shots go: a temporary directory, or with SENTINEL_SCREENSHOTS=1 the committed
    tests/e2e/screenshots (shown in the README), so a plain test run leaves the tree clean."""
    if os.environ.get("SENTINEL_SCREENSHOTS") == "1":
        return COMMITTED_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshots_dir):
    """screenshot(page, name): <screenshots_dir>/<name>.png."""

    def shoot(page, name):
        screenshots_dir.mkdir(parents=True, exist_ok=True)
        # A full-page shot keeps the sticky header where the scroll left it: scroll up first.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(screenshots_dir / f"{name}.png"), full_page=True)

    return shoot


@pytest.fixture
def connect():
    """connect(page): connect the injected wallet and sign in (SIWE) from the header."""

    def connect_(page):
        page.get_by_test_id("connect-wallet").click()
        expect(page.get_by_test_id("sign-out")).to_be_visible()

    return connect_


@pytest.fixture
def confirm():
    """confirm(page, tick=False): answer the confirmation dialog that release, "I have paid"
    and cancel open (frontend/js/confirm.js) with its main button, ticking its box first
    when asked; returns the dialog's text."""

    def confirm_(page, *, tick=False):
        dialog = page.get_by_test_id("confirm-dialog")
        expect(dialog).to_be_visible()
        text = dialog.inner_text()
        if tick:
            dialog.get_by_test_id("confirm-tick").check()
        dialog.get_by_test_id("confirm-ok").click()
        expect(dialog).to_have_count(0)
        return text

    return confirm_


# -------------------------------------------------------------- accessibility

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# What fails a journey: axe's two worst levels. WCAG 2.2's 24 px touch targets are off in
# axe's defaults; a phone user needs them, so they are on here.
A11Y_IMPACTS = ("critical", "serious")
AXE_OPTIONS = {"rules": {"target-size": {"enabled": True}}, "resultTypes": ["violations"]}


def a11y_violations(page) -> list[dict]:
    """axe-core's critical and serious violations on the page as it is now."""
    if not AXE_JS.exists():
        pytest.fail("node_modules/axe-core is missing: run `make setup-node` (npm devDependency)")
    if not page.evaluate("Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        """async ([options, impacts]) => {
            const { violations } = await window.axe.run(document, options);
            return violations
              .filter((v) => impacts.includes(v.impact))
              .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`) }));
        }""",
        [AXE_OPTIONS, list(A11Y_IMPACTS)],
    )


@pytest.fixture
def check_a11y():
    """check_a11y(page, where): fails listing axe-core's critical and serious violations."""

    def check(page, where=""):
        violations = a11y_violations(page)
        if violations:
            lines = [f"{len(violations)} accessibility violation(s) on {where or page.url}:"]
            for v in violations:
                lines.append(f"- [{v['impact']}] {v['id']}: {v['help']}")
                lines += [f"    {node}" for node in v["nodes"]]
            pytest.fail("\n".join(lines))

    return check
