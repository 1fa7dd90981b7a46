"""Deploy Sentinel OTC: `ape run deploy --network <ecosystem:network:provider>`.

Deploys the registries and the escrow, wires the roles and writes the deployment
manifest (chain id, addresses, deploy block, ABIs) that the backend and the frontend
read. Re-running against a chain that already has the manifest's contracts reuses them.
On a local chain it also deploys the test stablecoin and funds and KYC-attests a few of
Anvil's well-known accounts, so the desk can be tried at once.
"""

import time

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand, account_option, ape_cli_context
from eth_utils import keccak

from scripts._manifest import DEFAULT_MANIFEST_DIR, load_manifest, manifest_path, write_manifest

ARBITRATOR_ROLE = keccak(text="ARBITRATOR_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
OFFICER_ROLE = keccak(text="OFFICER_ROLE")

LOCAL_CHAIN_IDS = {1337, 31337}
DEMO_ACCOUNTS = range(1, 5)  # Anvil accounts 1..4 trade in the demo
DEMO_FUNDING = 10_000 * 10**6
YEAR = 365 * 24 * 3600


@click.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option(prompt=False)
@click.option("--fee-bps", type=click.IntRange(0, 200), default=25, show_default=True, help="Fee on each release.")
@click.option("--fee-recipient", default=None, help="Receives the fees (default: the deployer).")
@click.option("--arbitrator", default=None, help="Resolves disputes (default: the deployer).")
@click.option(
    "--authority", "authorities", multiple=True, help="NodeRegistry authority (repeat; default: the deployer)."
)
@click.option("--token", "tokens", multiple=True, help="Token address to allow in the escrow (repeat).")
@click.option(
    "--relayer", default=None, help="Node admitted at once to relay gasless actions (local default: account 9)."
)
@click.option("--manifest-dir", default=str(DEFAULT_MANIFEST_DIR), show_default=True)
@click.option("--fresh", is_flag=True, help="Deploy anew even if the manifest's contracts exist.")
def cli(cli_ctx, account, fee_bps, fee_recipient, arbitrator, authorities, tokens, relayer, manifest_dir, fresh):
    chain_id = chain.chain_id
    local = chain_id in LOCAL_CHAIN_IDS
    if account is None:
        if not local:
            raise click.UsageError("pass --account on a non-local network")
        account = accounts.test_accounts[0]

    if local:
        _set_local_producer(cli_ctx, account)
    path = manifest_path(manifest_dir, chain_id)
    existing = None if fresh else load_manifest(path)
    if existing and _manifest_is_live(existing):
        cli_ctx.logger.success(f"contracts already deployed on chain {chain_id}; manifest {path} kept")
        _print_summary(existing)
        return

    manifest = deploy_stack(
        account,
        local=local,
        fee_bps=fee_bps,
        fee_recipient=fee_recipient,
        arbitrator=arbitrator,
        authorities=authorities,
        tokens=tokens,
        relayer=relayer,
    )
    if local:
        _seed_local_demo(cli_ctx, account, manifest)
    write_manifest(path, manifest)
    cli_ctx.logger.success(f"deployment manifest written to {path}")
    _print_summary(manifest)


def deploy_stack(
    account, *, local, fee_bps=25, fee_recipient=None, arbitrator=None, authorities=(), tokens=(), relayer=None
) -> dict:
    """Deploy and wire the contracts; returns the manifest (also used by the backend tests)."""
    chain_id = chain.chain_id
    deploy_block = chain.blocks.height + 1
    # NodeRegistry first: the indexer checks every block from deploy_block on against it.
    nodes = account.deploy(project.NodeRegistry, list(authorities) or [account])
    kyc = account.deploy(project.KycRegistry, account)
    escrow = account.deploy(project.OtcEscrow, kyc, nodes, fee_recipient or account, fee_bps)
    escrow.grantRole(ARBITRATOR_ROLE, arbitrator or account, sender=account)
    escrow.grantRole(PAUSER_ROLE, account, sender=account)

    if local:
        # The KYC switch on: both parties of new ads and orders need a level-1 attestation.
        escrow.set_kyc_min_level(1, sender=account)
        stable = account.deploy(project.TestStablecoin, "Test USD", "TUSD")
        tokens = (stable.address, *tokens)
        relayer = relayer or accounts.test_accounts[9].address
    token_entries = []
    for address in tokens:
        escrow.set_token_allowed(address, True, sender=account)
        token_entries.append(_token_entry(address))
    if relayer and nodes.is_authority(account) and not nodes.is_authorized(relayer):
        nodes.propose_node(relayer, "local-relayer", keccak(text="local"), keccak(text="local"), sender=account)

    return {
        "chain_id": chain_id,
        "network": f"{chain.provider.network.ecosystem.name}:{chain.provider.network.name}",
        "deploy_block": deploy_block,
        "deploy_block_hash": chain.blocks[deploy_block].hash.to_0x_hex(),
        "deployer": account.address,
        "relayer": relayer,
        "deployed_at": int(time.time()),
        "contracts": {
            name: {"address": contract.address, "abi": _abi(contract)}
            for name, contract in (("OtcEscrow", escrow), ("KycRegistry", kyc), ("NodeRegistry", nodes))
        },
        "tokens": token_entries,
        "token_abi": _abi(project.TestStablecoin),
    }


def _set_local_producer(cli_ctx, account):
    """Anvil mines with coinbase 0x0 by default; the indexer trusts only blocks whose
    producer NodeRegistry authorizes, so the deployer (an authority) produces them."""
    try:
        chain.provider.make_request("anvil_setCoinbase", [account.address])
    except Exception as err:  # not Anvil: the network's own producers apply
        cli_ctx.logger.warning(f"could not set the block producer: {err}")


def _manifest_is_live(manifest) -> bool:
    """The manifest describes this chain: the deploy block is the same and the code is there."""
    try:
        block = chain.blocks[manifest["deploy_block"]]
    except Exception:
        return False
    if block.hash.to_0x_hex() != manifest["deploy_block_hash"]:
        return False
    return all(chain.provider.get_code(c["address"]) for c in manifest["contracts"].values())


def _seed_local_demo(cli_ctx, admin, manifest):
    """Fund and KYC-attest Anvil's well-known accounts 1..4 (local chains only)."""
    stable = project.TestStablecoin.at(manifest["tokens"][0]["address"])
    kyc = project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])
    expires = chain.pending_timestamp + YEAR
    for index in DEMO_ACCOUNTS:
        trader = accounts.test_accounts[index]
        stable.faucet(DEMO_FUNDING, sender=trader)
        kyc.attest(trader, 2, expires, keccak(text=f"demo-kyc-record-{index}"), sender=admin)
    cli_ctx.logger.info(f"funded and KYC-attested demo accounts {list(DEMO_ACCOUNTS)}")


def _token_entry(address):
    token = project.TestStablecoin.at(address)
    return {"address": address, "symbol": token.symbol(), "decimals": token.decimals(), "name": token.name()}


def _abi(contract_or_container):
    return [item.model_dump(mode="json", by_alias=True) for item in contract_or_container.contract_type.abi]


def _print_summary(manifest):
    click.echo(f"chain id      {manifest['chain_id']}")
    for name, entry in manifest["contracts"].items():
        click.echo(f"{name:<13} {entry['address']}")
    for token in manifest["tokens"]:
        click.echo(f"token {token['symbol']:<7} {token['address']}")
    click.echo(f"deploy block  {manifest['deploy_block']}")
