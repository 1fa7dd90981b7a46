"""Deploy Sentinel OTC: `ape run deploy --network <ecosystem:network:provider or URL>`.

Deploys the registries and the escrow, wires the roles and writes the deployment
manifest (chain id, addresses, deploy block, ABIs, modes) that the backend and the
frontend read. Everything that can be checked is checked before the first transaction
(addresses, tokens, the account's funds, how it will sign). On a local chain it also
deploys the test stablecoin, funds and KYC-attests a few of Anvil's well-known
accounts, posts a sell ad from each and a buy ad from two of them (`--no-demo-ads` or
SENTINEL_DEMO_ADS=0 to skip), so the desk can be tried at once from either side.

Re-running against a chain that already has the manifest's contracts reuses them. The
options given on that re-run are compared with the chain: the fee, its recipient, the
arbitrator, new tokens and the relayer are applied with the account's admin role; a
different authority set needs a quorum, so that re-run is refused with the way to do it
(`ape run admin ...`, or `--fresh` to deploy anew). Nothing is ever silently ignored.
"""

import time

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand, account_option, ape_cli_context
from ape.exceptions import ContractLogicError
from click.core import ParameterSource
from eth_utils import keccak

from scripts._checks import (
    CALL_GAS,
    PROPOSE_GAS,
    Refusal,
    address,
    check_funds,
    deploy_gas,
    prepare_signer,
    token_entry,
)
from scripts._manifest import (
    DEFAULT_MANIFEST_DIR,
    LOCAL_CHAIN_IDS,
    load_manifest,
    manifest_path,
    refresh_relayer,
    write_manifest,
)

ARBITRATOR_ROLE = keccak(text="ARBITRATOR_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
OFFICER_ROLE = keccak(text="OFFICER_ROLE")
DEFAULT_ADMIN_ROLE = bytes(32)

DEMO_ACCOUNTS = range(1, 5)  # Anvil accounts 1..4 trade in the demo
DEMO_FUNDING = 10_000 * 10**6
# With the deployer (account 0), Anvil accounts 7 and 8 are the three local NodeRegistry
# authorities that admit node agents (the backend holds their keys in development).
LOCAL_AUTHORITY_ACCOUNTS = (7, 8)
# Demo ads a newcomer can buy from at once on a local chain (sell side; amounts in whole
# tokens, prices in fiat minor units per token): (account, amount, price, fiat, min, max, methods).
DEMO_ADS = (
    (1, 1_000, 100, "USD", 10, 500, 0b1000001),  # bank transfer, desk balance
    (2, 800, 725, "CNY", 10, 400, 0b0000110),  # Alipay, WeChat Pay
    (3, 600, 93, "EUR", 20, 300, 0b0001001),  # bank transfer, card
    (4, 300, 101, "USD", 5, 300, 0b1010000),  # cash, desk balance
)
# Demo buy ads a newcomer can sell into at once (same fields; the amount is what the maker
# wants, nothing is locked). Priced a little under the sell ads of the same currency, as a
# desk's bid sits under its ask.
DEMO_BUY_ADS = (
    (3, 500, 99, "USD", 10, 250, 0b1000001),  # bank transfer, desk balance
    (4, 400, 720, "CNY", 10, 200, 0b0000110),  # Alipay, WeChat Pay
)
DEMO_AD_WINDOW = 3600
YEAR = 365 * 24 * 3600
MAX_AUTHORITIES = 32  # NodeRegistry's constructor limit
KIND_ADMIT_NODE = 1

# The options a re-run compares with the chain (only those given on its command line).
COMPARED = ("fee_bps", "fee_recipient", "arbitrator", "authorities", "tokens", "relayer", "producer_check")


@click.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option(prompt=False)
@click.option(
    "--yes",
    is_flag=True,
    help="Sign every transaction without asking (keyfile accounts read APE_ACCOUNTS_<alias>_PASSPHRASE).",
)
@click.option("--fee-bps", type=click.IntRange(0, 200), default=25, show_default=True, help="Fee on each release.")
@click.option("--fee-recipient", default=None, help="Receives the fees (default: the deployer).")
@click.option("--arbitrator", default=None, help="Resolves disputes (default: the deployer).")
@click.option(
    "--authority", "authorities", multiple=True, help="NodeRegistry authority (repeat; default: the deployer)."
)
@click.option("--token", "tokens", multiple=True, help="ERC-20 token address to allow in the escrow (repeat).")
@click.option(
    "--relayer",
    default=None,
    help="Node proposed at once to relay gasless actions; admitted if the deployer's approval is a quorum "
    "(local default: account 9).",
)
@click.option(
    "--producer-check/--no-producer-check",
    default=None,
    help="Whether the backend refuses blocks whose producer NodeRegistry does not authorize "
    "(default: on for local chains, off elsewhere).",
)
@click.option(
    "--demo-ads/--no-demo-ads",
    default=None,
    envvar="SENTINEL_DEMO_ADS",
    help="On a local chain, post a few sell and buy ads from demo accounts 1-4 so a whole trade can be tried "
    "at once (default: on for local chains; SENTINEL_DEMO_ADS=0 turns it off). Refused on other chains.",
)
@click.option("--manifest-dir", default=str(DEFAULT_MANIFEST_DIR), show_default=True)
@click.option("--fresh", is_flag=True, help="Deploy anew even if the manifest's contracts exist.")
def cli(
    cli_ctx,
    account,
    yes,
    fee_bps,
    fee_recipient,
    arbitrator,
    authorities,
    tokens,
    relayer,
    producer_check,
    demo_ads,
    manifest_dir,
    fresh,
):
    ctx = click.get_current_context()
    given = {
        name
        for name in COMPARED
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    }
    chain_id = chain.chain_id
    local = chain_id in LOCAL_CHAIN_IDS
    if account is None:
        if not local:
            raise Refusal(
                f"chain {chain_id} is not a local chain: pass --account ALIAS "
                "(an account imported with `ape accounts import ALIAS`)"
            )
        account = accounts.test_accounts[0]

    # Checks that read nothing from the chain come first.
    fee_recipient = address(fee_recipient, "--fee-recipient") if fee_recipient else None
    arbitrator = address(arbitrator, "--arbitrator") if arbitrator else None
    relayer = address(relayer, "--relayer") if relayer else None
    authorities = [address(a, "--authority") for a in authorities]
    if len(set(authorities)) != len(authorities):
        raise Refusal("an --authority is given twice")
    if len(authorities) > MAX_AUTHORITIES:
        raise Refusal(f"NodeRegistry takes at most {MAX_AUTHORITIES} authorities at deploy")
    for token in tokens:
        address(token, "--token")
    if producer_check is None:
        producer_check = local
    if demo_ads and not local:
        raise Refusal(f"--demo-ads is for local chains only; chain {chain_id} is not one (unset SENTINEL_DEMO_ADS)")
    demo_ads = local if demo_ads is None else demo_ads
    prepare_signer(account, yes)

    path = manifest_path(manifest_dir, chain_id)
    existing = None if fresh else load_manifest(path)
    if local:
        _set_local_producer(cli_ctx, account)
    if existing and _manifest_is_live(existing):
        options = dict(
            fee_bps=fee_bps,
            fee_recipient=fee_recipient,
            arbitrator=arbitrator,
            authorities=authorities,
            tokens=tokens,
            relayer=relayer,
            producer_check=producer_check,
        )
        _rerun(cli_ctx, account, existing, path, {k: v for k, v in options.items() if k in given})
        return

    for token in tokens:
        token_entry(token)
    _check_deploy_funds(account, local=local, fee_bps=fee_bps, authorities=authorities, tokens=tokens, relayer=relayer)

    manifest = deploy_stack(
        account,
        local=local,
        fee_bps=fee_bps,
        fee_recipient=fee_recipient,
        arbitrator=arbitrator,
        authorities=authorities,
        tokens=tokens,
        relayer=relayer,
        producer_check=producer_check,
    )
    if local:
        _seed_local_demo(cli_ctx, account, manifest)
        if demo_ads:
            ad_ids = post_demo_ads(manifest)
            cli_ctx.logger.info(
                f"posted demo ads {ad_ids} (sell, then buy) from demo accounts 1-4 (--no-demo-ads to skip)"
            )
    write_manifest(path, manifest)
    cli_ctx.logger.success(f"deployment manifest written to {path}")
    _print_summary(manifest)


def deploy_stack(
    account,
    *,
    local,
    fee_bps=25,
    fee_recipient=None,
    arbitrator=None,
    authorities=(),
    tokens=(),
    relayer=None,
    producer_check=None,
) -> dict:
    """Deploy and wire the contracts; returns the manifest (also used by the backend tests)."""
    chain_id = chain.chain_id
    if local and not authorities:
        # Three local authorities, so admission needs a real quorum (more than 2/3).
        others = [accounts.test_accounts[i].address for i in LOCAL_AUTHORITY_ACCOUNTS]
        authorities = [account.address, *(a for a in others if a != account.address)]
    authorities = list(authorities) or [account.address]
    fee_recipient = fee_recipient or account.address
    arbitrator = arbitrator or account.address
    # NodeRegistry first: the indexer starts at its block and checks every block's
    # producer against it, and its constructor's AuthorityAdded events start the record.
    nodes = account.deploy(project.NodeRegistry, authorities)
    kyc = account.deploy(project.KycRegistry, account)
    escrow = account.deploy(project.OtcEscrow, kyc, nodes, fee_recipient, fee_bps)
    escrow.grantRole(ARBITRATOR_ROLE, arbitrator, sender=account)
    escrow.grantRole(PAUSER_ROLE, account, sender=account)

    if local:
        # The KYC switch on: both parties of new ads and orders need a level-1 attestation.
        escrow.set_kyc_min_level(1, sender=account)
        stable = account.deploy(project.TestStablecoin, "Test USD", "TUSD")
        tokens = (stable.address, *tokens)
        relayer = relayer or accounts.test_accounts[9].address
    token_entries = []
    for token in tokens:
        escrow.set_token_allowed(token, True, sender=account)
        token_entries.append(token_entry(token))
    relayer_status = propose_relayer(account, nodes, relayer, local=local) if relayer else None
    if local and relayer_status and relayer_status["status"] == "proposed":
        # The other local authorities make the quorum.
        for index in LOCAL_AUTHORITY_ACCOUNTS:
            other = accounts.test_accounts[index]
            if nodes.is_authority(other) and not nodes.proposals(relayer_status["proposal_id"]).executed:
                nodes.approve(relayer_status["proposal_id"], sender=other)
        if nodes.is_authorized(relayer):
            relayer_status = {**relayer_status, "status": "admitted", "approvals": relayer_status["quorum"]}

    contracts = (("OtcEscrow", escrow), ("KycRegistry", kyc), ("NodeRegistry", nodes))
    blocks = {name: _creation_block(contract) for name, contract in contracts}
    # The block NodeRegistry was created in, from its receipt (never a guess made before
    # sending): the registry has code at every block the indexer checks.
    deploy_block = blocks["NodeRegistry"]
    return {
        "chain_id": chain_id,
        "network": f"{chain.provider.network.ecosystem.name}:{chain.provider.network.name}",
        "deploy_block": deploy_block,
        "deploy_block_hash": chain.blocks[deploy_block].hash.to_0x_hex(),
        "complete_block": max(blocks.values()),
        "deployer": account.address,
        "relayer": relayer if relayer_status and relayer_status["status"] == "admitted" else None,
        "relayer_status": relayer_status,
        "producer_check": local if producer_check is None else bool(producer_check),
        "options": {
            "fee_bps": fee_bps,
            "fee_recipient": fee_recipient,
            "arbitrator": arbitrator,
            "authorities": authorities,
        },
        "deployed_at": int(time.time()),
        "contracts": {
            name: {"address": contract.address, "block": blocks[name], "abi": _abi(contract)}
            for name, contract in contracts
        },
        "tokens": token_entries,
        "token_abi": _abi(project.TestStablecoin),
    }


def propose_relayer(account, nodes, relayer, *, local=False) -> dict:
    """Proposes `relayer` as a node (the deployer's approval counts); admitted only at
    quorum. Returns what the manifest records: admitted, proposed, or not proposed."""
    status = {"address": relayer, "status": "admitted", "proposal_id": None, "approvals": None, "quorum": None}
    if nodes.is_authorized(relayer):
        return status
    quorum = nodes.quorum()
    pending = _pending_admission(nodes, relayer)
    if pending is not None:
        return {
            **status,
            "status": "proposed",
            "proposal_id": pending,
            "approvals": nodes.proposals(pending).approvals,
            "quorum": quorum,
        }
    if not nodes.is_authority(account.address):
        return {**status, "status": "not proposed", "quorum": quorum}
    endpoint = "local-relayer" if local else "relayer proposed by ape run deploy"
    receipt = nodes.propose_node(
        relayer, endpoint, keccak(text="declared by the deployer"), keccak(text="admitted at deploy"), sender=account
    )
    proposal_id = receipt.decode_logs(nodes.ProposalCreated)[0].proposal_id
    if nodes.is_authorized(relayer):
        return {**status, "proposal_id": proposal_id, "approvals": quorum, "quorum": quorum}
    approvals = nodes.proposals(proposal_id).approvals
    return {**status, "status": "proposed", "proposal_id": proposal_id, "approvals": approvals, "quorum": quorum}


def _pending_admission(nodes, node) -> int | None:
    epoch = nodes.authority_epoch()
    for proposal_id in range(nodes.proposal_count(), 0, -1):
        proposal = nodes.proposals(proposal_id)
        if (
            proposal.kind == KIND_ADMIT_NODE
            and proposal.subject == node
            and not proposal.executed
            and proposal.epoch == epoch
        ):
            return proposal_id
    return None


def _creation_block(contract) -> int:
    metadata = contract.creation_metadata
    if metadata is not None:
        return metadata.block
    return chain.provider.get_receipt(contract.txn_hash).block_number


def _check_deploy_funds(account, *, local, fee_bps, authorities, tokens, relayer):
    placeholder = account.address  # the escrow's constructor only stores the registries
    gas = (
        deploy_gas(account, project.NodeRegistry, authorities or [account.address])
        + deploy_gas(account, project.KycRegistry, account.address)
        + deploy_gas(account, project.OtcEscrow, placeholder, placeholder, account.address, fee_bps)
        + 2 * CALL_GAS
        + len(tokens) * CALL_GAS
        + (PROPOSE_GAS if relayer or local else 0)
    )
    if local:
        gas += deploy_gas(account, project.TestStablecoin, "Test USD", "TUSD") + CALL_GAS
    check_funds(account, gas, "the deployment")


# ---------------------------------------------------------------- re-runs


def _rerun(cli_ctx, account, manifest, path, options):
    """The contracts exist: apply the options given that differ from the chain's state,
    or refuse (sending nothing) when one of them cannot be applied by this account."""
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    nodes = project.NodeRegistry.at(manifest["contracts"]["NodeRegistry"]["address"])
    changes: list[tuple[str, object]] = []  # (what, how: a callable, or None for the manifest only)
    escrow_changes = 0
    refusals = []
    recorded = manifest.setdefault("options", {})

    if "authorities" in options:
        wanted = options["authorities"] or [account.address]
        same = nodes.authority_count() == len(wanted) and all(nodes.is_authority(a) for a in wanted)
        if not same:
            refusals.append(
                "the NodeRegistry authority set changes only by quorum: propose each change with "
                "`ape run admin propose-authority ADDRESS` (or `remove-authority`), let the authorities "
                "`ape run admin approve ID`, or deploy anew with --fresh"
            )
    if "fee_bps" in options and options["fee_bps"] != escrow.fee_bps():
        old, new = escrow.fee_bps(), options["fee_bps"]
        changes.append((f"fee {old} -> {new} bps", lambda new=new: escrow.set_fee(new, sender=account)))
        recorded["fee_bps"] = new
        escrow_changes += 1
    if "fee_recipient" in options and options["fee_recipient"] != escrow.fee_recipient():
        old, new = escrow.fee_recipient(), options["fee_recipient"]
        changes.append((f"fee recipient {old} -> {new}", lambda new=new: escrow.set_fee_recipient(new, sender=account)))
        recorded["fee_recipient"] = new
        escrow_changes += 1
    if "arbitrator" in options and not escrow.hasRole(ARBITRATOR_ROLE, options["arbitrator"]):
        new, old = options["arbitrator"], recorded.get("arbitrator")
        changes.append(
            (
                f"arbitrator role granted to {new}",
                lambda new=new: escrow.grantRole(ARBITRATOR_ROLE, new, sender=account),
            )
        )
        if old and old != new and escrow.hasRole(ARBITRATOR_ROLE, old):
            changes.append(
                (
                    f"arbitrator role revoked from {old}",
                    lambda old=old: escrow.revokeRole(ARBITRATOR_ROLE, old, sender=account),
                )
            )
        recorded["arbitrator"] = new
        escrow_changes += 1
    for token in options.get("tokens", ()):
        entry = token_entry(token)
        if escrow.token_allowed(entry["address"]):
            continue
        changes.append(
            (
                f"token {entry['symbol']} {entry['address']} allowed",
                lambda t=entry["address"]: escrow.set_token_allowed(t, True, sender=account),
            )
        )
        manifest["tokens"] = [*manifest["tokens"], entry]
        escrow_changes += 1
    if "relayer" in options:
        relayer = options["relayer"]
        current = (manifest.get("relayer_status") or {}).get("address")
        if relayer != current or not nodes.is_authorized(relayer):
            if not nodes.is_authorized(relayer) and not nodes.is_authority(account.address):
                refusals.append(
                    f"{account.address} is not a NodeRegistry authority, so it cannot propose the relayer "
                    f"{relayer}: an authority runs `ape run admin propose-node {relayer} --endpoint URL`"
                )
            else:

                def set_relayer(relayer=relayer):
                    status = propose_relayer(account, nodes, relayer)
                    manifest["relayer_status"] = status
                    manifest["relayer"] = relayer if status["status"] == "admitted" else None

                changes.append((f"relayer {relayer} proposed", set_relayer))
    if "producer_check" in options and options["producer_check"] != manifest.get("producer_check"):
        mode = "on" if options["producer_check"] else "off"
        changes.append((f"producer check {mode} (manifest only: the backend reads it)", None))
        manifest["producer_check"] = options["producer_check"]

    if escrow_changes and not escrow.hasRole(DEFAULT_ADMIN_ROLE, account.address):
        refusals.append(f"{account.address} does not hold the escrow's admin role: re-run with the admin's --account")
    if refusals:
        raise Refusal("nothing was sent: " + "; and ".join(refusals))

    sent = [how for _, how in changes if how is not None]
    if sent:
        check_funds(account, len(sent) * PROPOSE_GAS, "applying the options")
    refreshed = refresh_relayer(manifest, nodes)
    if not changes and not refreshed:
        cli_ctx.logger.success(
            f"contracts already deployed on chain {manifest['chain_id']} and they match the options given; "
            f"manifest {path} kept"
        )
        _print_summary(manifest)
        return
    for what, how in changes:
        if how is not None:
            try:
                how()
            except ContractLogicError as error:
                # The changes echoed above stand; a re-run compares with the chain again.
                raise Refusal(
                    f"{what} was refused by the contract ({error.message}); the changes above stand"
                ) from None
        click.echo(f"applied: {what}")
    if refreshed:
        click.echo(f"relayer {manifest['relayer']} is admitted now")
    write_manifest(path, manifest)
    cli_ctx.logger.success(
        f"contracts already deployed on chain {manifest['chain_id']}; options applied, manifest {path} updated"
    )
    _print_summary(manifest)


# ------------------------------------------------------------------ local


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


def post_demo_ads(manifest) -> list[int]:
    """Sell ads from Anvil's accounts 1..4 (funded and attested first), then buy ads from two of
    them, on the manifest's local chain; returns their ids in that order. Refused anywhere else:
    those keys are public, so are their ads."""
    if manifest["chain_id"] not in LOCAL_CHAIN_IDS or chain.chain_id not in LOCAL_CHAIN_IDS:
        raise Refusal(f"demo ads are for local chains only; chain {manifest['chain_id']} is not one")
    token = manifest["tokens"][0]
    stable = project.TestStablecoin.at(token["address"])
    escrow = project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])
    unit = 10 ** token["decimals"]
    ad_ids = []
    for index, amount, price, fiat, low, high, methods in DEMO_ADS:
        trader = accounts.test_accounts[index]
        stable.approve(escrow, amount * unit, sender=trader)
        receipt = escrow.create_ad(
            stable,
            amount * unit,
            price,
            fiat.encode(),
            low * unit,
            high * unit,
            DEMO_AD_WINDOW,
            methods,
            keccak(text=f"demo ad terms of account {index}"),
            sender=trader,
        )
        ad_ids.append(receipt.decode_logs(escrow.AdCreated)[0].ad_id)
    for index, amount, price, fiat, low, high, methods in DEMO_BUY_ADS:
        # A buy ad pulls nothing: no approval.
        receipt = escrow.create_buy_ad(
            stable,
            amount * unit,
            price,
            fiat.encode(),
            low * unit,
            high * unit,
            DEMO_AD_WINDOW,
            methods,
            keccak(text=f"demo buy ad terms of account {index}"),
            sender=accounts.test_accounts[index],
        )
        ad_ids.append(receipt.decode_logs(escrow.AdCreated)[0].ad_id)
    return ad_ids


def _abi(contract_or_container):
    return [item.model_dump(mode="json", by_alias=True) for item in contract_or_container.contract_type.abi]


def _print_summary(manifest):
    click.echo(f"chain id        {manifest['chain_id']}")
    for name, entry in manifest["contracts"].items():
        click.echo(f"{name:<15} {entry['address']}")
    for token in manifest["tokens"]:
        click.echo(f"token {token['symbol']:<9} {token['address']}")
    click.echo(f"deploy block    {manifest['deploy_block']}")
    status = manifest.get("relayer_status")
    if status and status["status"] == "admitted":
        click.echo(f"relayer         {status['address']} (admitted)")
    elif status and status["status"] == "proposed":
        click.echo(
            f"relayer         {status['address']} PROPOSED, not admitted: proposal {status['proposal_id']} has "
            f"{status['approvals']} of {status['quorum']} approvals; each other authority runs "
            f"`ape run admin approve {status['proposal_id']} --account ALIAS`"
        )
    elif status:
        click.echo(
            f"relayer         {status['address']} NOT PROPOSED: the deployer is not an authority; an authority "
            f"runs `ape run admin propose-node {status['address']} --endpoint URL`"
        )
    mode = manifest.get("producer_check", True)
    click.echo(
        "producer check  "
        + (
            "on: the backend refuses blocks whose producer NodeRegistry does not authorize"
            if mode
            else "off: the backend accepts every block (public network)"
        )
    )
