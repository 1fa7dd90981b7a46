"""`ape run deploy` as a deployer runs it: a subprocess against the test session's Anvil
(ape reverts the chain after each test, so what the script sends is undone too)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[2]
SIDE_SELL, SIDE_BUY = 1, 2


@pytest.fixture(autouse=True)
def _forget_contracts_at_reverted_addresses(chain):
    """The chain is reverted after each test, so a later test deploys other code at the addresses these
    tests look up; ape must not keep decoding them with the types cached here."""
    with chain.contracts.use_temporary_caches():
        yield


@pytest.fixture
def deploy(chain, tmp_path):
    """deploy(*options) -> (CompletedProcess, manifest or None) with the manifest in tmp_path."""

    def run(*options, env=None):
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(env or {}))
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "ape"),
                "run",
                "deploy",
                "--network",
                chain.provider.uri,
                "--manifest-dir",
                str(tmp_path),
                *options,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        path = tmp_path / f"{chain.chain_id}.json"
        return done, (json.loads(path.read_text()) if path.exists() else None)

    return run


def test_deploy__wires_everything_and_writes_the_manifest(deploy, project, chain, accounts):
    done, manifest = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert manifest["chain_id"] == chain.chain_id and manifest["deployer"] == accounts[0].address
    assert chain.blocks[manifest["deploy_block"]].hash.to_0x_hex() == manifest["deploy_block_hash"]
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    kyc = project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])
    nodes = project.NodeRegistry.at(manifest["contracts"]["NodeRegistry"]["address"])
    token = project.TestStablecoin.at(manifest["tokens"][0]["address"])
    assert escrow.kyc_registry() == kyc.address and escrow.node_registry() == nodes.address
    assert escrow.hasRole(keccak(text="ARBITRATOR_ROLE"), accounts[0])
    assert escrow.token_allowed(token) and manifest["tokens"][0]["decimals"] == 6
    # Locally the KYC switch is on (level 1) and the desk's officer key (the deployer) may attest.
    assert escrow.kyc_min_level() == 1 and kyc.hasRole(keccak(text="OFFICER_ROLE"), accounts[0])
    assert nodes.is_authority(accounts[0]) and nodes.is_authorized(accounts[9])
    # Three local authorities (accounts 0, 7, 8), all of whom admitted the local relayer.
    assert [nodes.is_authority(accounts[i]) for i in (0, 7, 8)] == [True] * 3 and nodes.quorum() == 3
    assert manifest["relayer"] == accounts[9].address
    for index in range(1, 5):  # the local demo traders (what they hold, or sell in their demo ad)
        ad_id = next(
            i
            for i in range(1, escrow.ad_count() + 1)
            if escrow.ads(i).maker == accounts[index].address and escrow.ads(i).side == SIDE_SELL
        )
        assert token.balanceOf(accounts[index]) + escrow.ads(ad_id).available == 10_000 * 10**6
        assert kyc.is_verified(accounts[index], 2)
    # Blocks come from an authorized producer, as the backend's indexer requires.
    assert chain.provider.web3.eth.get_block("latest")["miner"] == accounts[0].address
    abi_names = {item.get("name") for item in manifest["contracts"]["OtcEscrow"]["abi"]}
    assert {"create_ad", "open_order", "OrderReleased"} <= abi_names


def test_deploy__local_chain_gets_demo_ads_a_newcomer_can_buy_from_and_sell_to(deploy, project, accounts):
    done, manifest = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "posted demo ads [1, 2, 3, 4, 5, 6]" in done.stdout + done.stderr
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    ads = [escrow.ads(ad_id) for ad_id in range(1, escrow.ad_count() + 1)]
    sells, buys = ads[:4], ads[4:]
    assert [ad.side for ad in ads] == [SIDE_SELL] * 4 + [SIDE_BUY] * 2
    assert [ad.maker for ad in sells] == [accounts[i].address for i in range(1, 5)]
    assert [ad.maker for ad in buys] == [accounts[3].address, accounts[4].address]
    assert all(ad.active and ad.available > 0 and ad.token == manifest["tokens"][0]["address"] for ad in ads)
    assert {bytes(ad.fiat) for ad in sells} == {b"USD", b"CNY", b"EUR"}  # several currencies and methods
    assert len({ad.payment_methods for ad in sells}) == 4
    # Each buy ad bids under the lowest sell ad of its currency, for sane amounts.
    for ad in buys:
        assert ad.price < min(s.price for s in sells if s.fiat == ad.fiat)
        assert ad.available <= 1_000 * 10**6 and ad.min_amount <= ad.max_amount <= ad.available
    # The buy ads hold no tokens: the escrow holds exactly the sell ads' amounts.
    token = project.TestStablecoin.at(manifest["tokens"][0]["address"])
    assert token.balanceOf(escrow) == sum(ad.available for ad in sells)
    # A newcomer can open an order on one at once (the demo accounts are KYC-attested)...
    kyc = project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])
    kyc.attest(accounts[5], 1, 2**40, keccak(text="a newcomer"), sender=accounts[0])
    escrow.open_order(1, 20 * 10**6, ads[0].price, sender=accounts[5])
    assert escrow.ads(1).locked == 20 * 10**6
    # ... and sell into a buy ad.
    token.faucet(100 * 10**6, sender=accounts[5])
    token.approve(escrow, 20 * 10**6, sender=accounts[5])
    escrow.open_sell_order(5, 20 * 10**6, buys[0].price, sender=accounts[5])
    assert escrow.ads(5).locked == 20 * 10**6
    assert token.balanceOf(escrow) == sum(ad.available for ad in sells) + 20 * 10**6


@pytest.mark.parametrize("off", [{"env": {"SENTINEL_DEMO_ADS": "0"}}, {"options": ("--no-demo-ads",)}])
def test_deploy__demo_ads_turned_off(deploy, project, accounts, off):
    done, manifest = deploy(*off.get("options", ()), env=off.get("env"))
    assert done.returncode == 0, done.stdout + done.stderr
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    assert escrow.ad_count() == 0
    token = project.TestStablecoin.at(manifest["tokens"][0]["address"])
    assert token.balanceOf(accounts[1]) == 10_000 * 10**6  # still funded and attested


def test_deploy__demo_ads_refused_off_a_local_chain(deploy, project, chain):
    """The demo keys are public: never their ads on a real network."""
    from scripts._checks import Refusal
    from scripts.deploy import post_demo_ads

    _, manifest = deploy("--no-demo-ads")
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    height = chain.blocks.height
    with pytest.raises(Refusal, match="demo ads are for local chains only; chain 11155111 is not one"):
        post_demo_ads({**manifest, "chain_id": 11155111})
    assert chain.blocks.height == height and escrow.ad_count() == 0


def test_deploy__second_run_reuses_the_contracts(deploy, chain):
    _, first = deploy()
    height = chain.blocks.height
    done, second = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already deployed" in done.stdout + done.stderr
    assert second == first
    assert chain.blocks.height == height  # not a single transaction


def test_deploy__fresh_deploys_anew(deploy):
    _, first = deploy()
    done, second = deploy("--fresh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert second["contracts"]["OtcEscrow"]["address"] != first["contracts"]["OtcEscrow"]["address"]


def test_deploy__fee_above_cap_refused_before_sending(deploy, chain):
    height = chain.blocks.height
    done, manifest = deploy("--fee-bps", "201")
    assert done.returncode != 0 and manifest is None
    assert "201 is not in the range 0<=x<=200" in done.stdout + done.stderr
    assert chain.blocks.height == height


@pytest.fixture
def admin_script(chain, tmp_path):
    """admin_script(*args) -> (CompletedProcess, output): `ape run admin` on the same chain and manifest."""

    def run(*args):
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        done = subprocess.run(
            [str(Path(sys.executable).parent / "ape"), "run", "admin", *args, "--network", chain.provider.uri]
            + ["--manifest-dir", str(tmp_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done, done.stdout + done.stderr

    return run


def test_deploy__rerun_applies_changed_options(deploy, project, accounts):
    _, first = deploy()
    done, second = deploy(
        "--fee-bps", "50", "--fee-recipient", accounts[7].address, "--arbitrator", accounts[8].address
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "applied: fee 25 -> 50 bps" in output and "kept" not in output
    escrow = project.OtcEscrow.at(first["contracts"]["OtcEscrow"]["address"])
    assert escrow.fee_bps() == 50 and escrow.fee_recipient() == accounts[7].address
    assert escrow.hasRole(keccak(text="ARBITRATOR_ROLE"), accounts[8])
    assert not escrow.hasRole(keccak(text="ARBITRATOR_ROLE"), accounts[0])  # replaced, not added
    assert second["options"]["arbitrator"] == accounts[8].address


def test_admin__each_command_prints_what_it_sends_and_the_result(deploy, admin_script, project, accounts):
    _, manifest = deploy()
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    kyc = project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])
    token = manifest["tokens"][0]["address"]

    done, output = admin_script("set-fee", "60")
    assert done.returncode == 0, output
    assert "will send: OtcEscrow.set_fee(60)" in output and "result: fee is 60 bps" in output
    assert escrow.fee_bps() == 60

    done, output = admin_script("drop-token", token)
    assert done.returncode == 0 and "allowed=False" in output, output
    assert not escrow.token_allowed(token)

    done, output = admin_script("pause")
    assert done.returncode == 0 and "result: paused=True" in output and escrow.paused(), output

    done, output = admin_script("attest", accounts[6].address, "--level", "3")
    assert done.returncode == 0 and "verified at level 3=True" in output, output
    assert kyc.is_verified(accounts[6], 3)

    done, output = admin_script("grant-role", "officer", accounts[5].address)
    assert done.returncode == 0 and "has officer=True" in output, output

    # Someone without the role: refused in one line, before sending.
    done, output = admin_script("set-fee", "10", "--account", "TEST::6")
    assert done.returncode != 0 and "Traceback" not in output, output
    assert "does not hold the admin role on OtcEscrow" in output and escrow.fee_bps() == 60
