"""Operator scripts for a deployed desk: `ape run admin COMMAND --network ... --account ALIAS`.

Each command reads the deployment manifest of the connected chain, checks what it can
before sending (addresses, the account's role, its funds), prints the transaction it
will send, sends it and prints the result as the chain now reports it. `--yes` signs
without asking, as in `ape run deploy` (APE_ACCOUNTS_<alias>_PASSPHRASE).

    ape run admin status
    ape run admin set-fee 30                 ape run admin set-fee-recipient 0x...
    ape run admin allow-token 0x...          ape run admin drop-token 0x...
    ape run admin grant-role arbitrator 0x.. ape run admin revoke-role pauser 0x...
    ape run admin pause                      ape run admin unpause
    ape run admin attest 0x... --level 2     ape run admin revoke-kyc 0x... --reason "..."
    ape run admin propose-node 0x... --endpoint https://node.example:8000
    ape run admin propose-revocation 0x... --reason "..."
    ape run admin propose-authority 0x...    ape run admin remove-authority 0x...
    ape run admin approve 3
"""

from dataclasses import dataclass

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand, account_option, ape_cli_context
from ape.exceptions import ContractLogicError
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

# role name -> (contract holding it, role id)
ROLES = {
    "admin": ("OtcEscrow", bytes(32)),
    "arbitrator": ("OtcEscrow", keccak(text="ARBITRATOR_ROLE")),
    "pauser": ("OtcEscrow", keccak(text="PAUSER_ROLE")),
    "officer": ("KycRegistry", keccak(text="OFFICER_ROLE")),
    "kyc-admin": ("KycRegistry", bytes(32)),
}
DAY = 24 * 3600
PROPOSAL_KINDS = {1: "admit node", 2: "revoke node", 3: "add authority", 4: "remove authority"}


@dataclass
class Desk:
    manifest: dict
    path: object
    account: object

    def contract(self, name):
        return getattr(project, name).at(self.manifest["contracts"][name]["address"])

    @property
    def escrow(self):
        return self.contract("OtcEscrow")

    @property
    def kyc(self):
        return self.contract("KycRegistry")

    @property
    def nodes(self):
        return self.contract("NodeRegistry")


@click.group()
def cli():
    """Operate a deployed Sentinel OTC desk (fees, tokens, roles, pause, KYC, nodes)."""


def operator_command(name, needs_account=True):
    """A subcommand connected to --network, with the account, --yes and --manifest-dir."""

    def wrap(function):
        function = click.option("--manifest-dir", default=str(DEFAULT_MANIFEST_DIR), show_default=True)(function)
        if needs_account:
            function = click.option("--yes", is_flag=True, help="Sign without asking (see `ape run deploy`).")(function)
            function = account_option(prompt=False)(function)
        function = ape_cli_context()(function)
        return cli.command(name=name, cls=ConnectedProviderCommand)(function)

    return wrap


def open_desk(manifest_dir, account=None, yes=False, *, needs_account=True) -> Desk:
    path = manifest_path(manifest_dir, chain.chain_id)
    manifest = load_manifest(path)
    if manifest is None:
        raise Refusal(f"no deployment manifest for chain {chain.chain_id} at {path}: run `ape run deploy` first")
    if not all(chain.provider.get_code(c["address"]) for c in manifest["contracts"].values()):
        raise Refusal(f"the contracts of {path} are not on chain {chain.chain_id}: deploy again with --fresh")
    return Desk(manifest=manifest, path=path, account=signer(account, yes) if needs_account else None)


def signer(account, yes):
    if account is None:
        if chain.chain_id not in LOCAL_CHAIN_IDS:
            raise Refusal("pass --account ALIAS (an account imported with `ape accounts import ALIAS`)")
        account = accounts.test_accounts[0]
    prepare_signer(account, yes)
    return account


def send(desk: Desk, contract_name: str, function: str, *args, gas=CALL_GAS):
    """Prints the call, checks the funds, sends it; a revert found before sending (ape
    estimates the gas first) is one sentence and costs nothing."""
    shown = ", ".join(_show(a) for a in args)
    click.echo(f"will send: {contract_name}.{function}({shown}) from {desk.account.address} on chain {chain.chain_id}")
    check_funds(desk.account, gas, "this transaction")
    contract = desk.contract(contract_name)
    try:
        receipt = getattr(contract, function)(*args, sender=desk.account)
    except ContractLogicError as error:
        raise Refusal(f"the contract refused it, nothing was sent: {error.message}") from None
    click.echo(f"sent: tx {receipt.txn_hash} in block {receipt.block_number}")
    return receipt


def _show(value):
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else str(value)


def need_role(desk: Desk, role: str):
    contract_name, role_id = ROLES[role]
    if not desk.contract(contract_name).hasRole(role_id, desk.account.address):
        raise Refusal(
            f"{desk.account.address} does not hold the {role} role on {contract_name}: use --account of one that does"
        )


def need_authority(desk: Desk):
    if not desk.nodes.is_authority(desk.account.address):
        raise Refusal(f"{desk.account.address} is not a NodeRegistry authority: use --account of an authority")


# ------------------------------------------------------------------ status


@operator_command("status", needs_account=False)
def status(cli_ctx, manifest_dir):
    """Show the desk's settings as the chain has them."""
    desk = open_desk(manifest_dir, needs_account=False)
    escrow, nodes = desk.escrow, desk.nodes
    click.echo(f"chain id        {chain.chain_id}  (manifest {desk.path})")
    click.echo(f"fee             {escrow.fee_bps()} bps to {escrow.fee_recipient()}")
    click.echo(f"paused          {escrow.paused()}")
    click.echo(f"kyc min level   {escrow.kyc_min_level()}")
    for token in desk.manifest["tokens"]:
        allowed = "allowed" if escrow.token_allowed(token["address"]) else "dropped"
        click.echo(f"token {token['symbol']:<9} {token['address']} {allowed}")
    click.echo(f"authorities     {nodes.authority_count()}, quorum {nodes.quorum()}")
    for proposal_id in range(1, nodes.proposal_count() + 1):
        p = nodes.proposals(proposal_id)
        state = "executed" if p.executed else f"{p.approvals} of {nodes.quorum()} approvals"
        click.echo(f"proposal {proposal_id:<6} {PROPOSAL_KINDS.get(p.kind, p.kind)} {p.subject}: {state}")
    relayer = desk.manifest.get("relayer_status")
    if relayer:
        click.echo(f"relayer         {relayer['address']} authorized={nodes.is_authorized(relayer['address'])}")
    click.echo(f"producer check  {'on' if desk.manifest.get('producer_check', True) else 'off'}")


# -------------------------------------------------------------------- fees


@operator_command("set-fee")
@click.argument("bps", type=click.IntRange(0, 200))
def set_fee(cli_ctx, account, yes, manifest_dir, bps):
    """Set the fee on each release, in basis points (at most 200)."""
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "admin")
    send(desk, "OtcEscrow", "set_fee", bps)
    click.echo(f"result: fee is {desk.escrow.fee_bps()} bps")


@operator_command("set-fee-recipient")
@click.argument("recipient")
def set_fee_recipient(cli_ctx, account, yes, manifest_dir, recipient):
    """Set the account that receives the fees."""
    recipient = address(recipient, "the fee recipient")
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "admin")
    send(desk, "OtcEscrow", "set_fee_recipient", recipient)
    click.echo(f"result: fees go to {desk.escrow.fee_recipient()}")


# ------------------------------------------------------------------ tokens


@operator_command("deploy-test-token")
@click.option("--name", default="Test USD", show_default=True)
@click.option("--symbol", default="TUSD", show_default=True)
def deploy_test_token(cli_ctx, account, yes, manifest_dir, name, symbol):
    """Deploy the 6-decimals test stablecoin, whose faucet lets anyone mint (test networks
    only); allow it with `ape run deploy --token ADDRESS` or `allow-token`."""
    account = signer(account, yes)
    click.echo(
        f"will send: deploy TestStablecoin({name!r}, {symbol!r}) from {account.address} on chain {chain.chain_id}"
    )
    check_funds(account, deploy_gas(account, project.TestStablecoin, name, symbol), "this deployment")
    token = account.deploy(project.TestStablecoin, name, symbol)
    click.echo(f"result: {symbol} deployed at {token.address}")


@operator_command("allow-token")
@click.argument("token")
def allow_token(cli_ctx, account, yes, manifest_dir, token):
    """Allow an ERC-20 token in the escrow (and list it in the manifest)."""
    desk = open_desk(manifest_dir, account, yes)
    entry = token_entry(token)
    need_role(desk, "admin")
    send(desk, "OtcEscrow", "set_token_allowed", entry["address"], True)
    if all(t["address"] != entry["address"] for t in desk.manifest["tokens"]):
        desk.manifest["tokens"].append(entry)
        write_manifest(desk.path, desk.manifest)
    click.echo(f"result: {entry['symbol']} allowed={desk.escrow.token_allowed(entry['address'])}")


@operator_command("drop-token")
@click.argument("token")
def drop_token(cli_ctx, account, yes, manifest_dir, token):
    """Stop new ads in a token (ads already open keep working to the end)."""
    token = address(token, "the token")
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "admin")
    send(desk, "OtcEscrow", "set_token_allowed", token, False)
    click.echo(f"result: {token} allowed={desk.escrow.token_allowed(token)}")


# ------------------------------------------------------------------- roles


@operator_command("grant-role")
@click.argument("role", type=click.Choice(sorted(ROLES)))
@click.argument("grantee")
def grant_role(cli_ctx, account, yes, manifest_dir, role, grantee):
    """Grant admin, arbitrator or pauser (escrow), officer or kyc-admin (KycRegistry)."""
    grantee = address(grantee, "the grantee")
    desk = open_desk(manifest_dir, account, yes)
    contract_name, role_id = ROLES[role]
    need_role(desk, "admin" if contract_name == "OtcEscrow" else "kyc-admin")
    send(desk, contract_name, "grantRole", role_id, grantee)
    click.echo(f"result: {grantee} has {role}={desk.contract(contract_name).hasRole(role_id, grantee)}")


@operator_command("revoke-role")
@click.argument("role", type=click.Choice(sorted(ROLES)))
@click.argument("holder")
def revoke_role(cli_ctx, account, yes, manifest_dir, role, holder):
    """Revoke a role granted with grant-role."""
    holder = address(holder, "the holder")
    desk = open_desk(manifest_dir, account, yes)
    contract_name, role_id = ROLES[role]
    need_role(desk, "admin" if contract_name == "OtcEscrow" else "kyc-admin")
    send(desk, contract_name, "revokeRole", role_id, holder)
    click.echo(f"result: {holder} has {role}={desk.contract(contract_name).hasRole(role_id, holder)}")


# ------------------------------------------------------------------- pause


@operator_command("pause")
def pause(cli_ctx, account, yes, manifest_dir):
    """Stop new ads and orders (open orders can still be settled)."""
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "pauser")
    send(desk, "OtcEscrow", "pause")
    click.echo(f"result: paused={desk.escrow.paused()}")


@operator_command("unpause")
def unpause(cli_ctx, account, yes, manifest_dir):
    """Resume new ads and orders."""
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "pauser")
    send(desk, "OtcEscrow", "unpause")
    click.echo(f"result: paused={desk.escrow.paused()}")


# --------------------------------------------------------------------- KYC


@operator_command("attest")
@click.argument("subject")
@click.option("--level", type=click.IntRange(1, 3), default=2, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True, help="Valid for.")
@click.option("--record", default="attested by hand", show_default=True, help="Text whose hash is put on chain.")
def attest(cli_ctx, account, yes, manifest_dir, subject, level, days, record):
    """Attest an account's KYC by hand (officer role; only a hash of --record goes on chain)."""
    subject = address(subject, "the account")
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "officer")
    expires = chain.pending_timestamp + days * DAY
    send(desk, "KycRegistry", "attest", subject, level, expires, keccak(text=record))
    click.echo(f"result: {subject} verified at level {level}={desk.kyc.is_verified(subject, level)}")


@operator_command("revoke-kyc")
@click.argument("subject")
@click.option("--reason", required=True, help="Why (at most 128 characters, public on chain).")
def revoke_kyc(cli_ctx, account, yes, manifest_dir, subject, reason):
    """Revoke an account's KYC attestation (officer role)."""
    subject = address(subject, "the account")
    if len(reason.encode()) > 128:
        raise Refusal("--reason is longer than 128 bytes")
    desk = open_desk(manifest_dir, account, yes)
    need_role(desk, "officer")
    send(desk, "KycRegistry", "revoke", subject, reason)
    click.echo(f"result: {subject} verified={desk.kyc.is_verified(subject, 1)}")


# ------------------------------------------------------------------- nodes


def _report_proposal(desk: Desk, receipt):
    nodes = desk.nodes
    created = receipt.decode_logs(nodes.ProposalCreated)
    approved = receipt.decode_logs(nodes.ProposalApproved)
    proposal_id = created[0].proposal_id if created else approved[0].proposal_id
    p = nodes.proposals(proposal_id)
    if p.executed:
        click.echo(f"result: proposal {proposal_id} ({PROPOSAL_KINDS[p.kind]} {p.subject}) reached quorum and is done")
    else:
        click.echo(
            f"result: proposal {proposal_id} ({PROPOSAL_KINDS[p.kind]} {p.subject}) has {p.approvals} of "
            f"{nodes.quorum()} approvals; each other authority runs `ape run admin approve {proposal_id}`"
        )
    if refresh_relayer(desk.manifest, nodes):
        write_manifest(desk.path, desk.manifest)
        click.echo(f"result: relayer {desk.manifest['relayer']} is admitted; manifest {desk.path} updated")


@operator_command("propose-node")
@click.argument("node")
@click.option("--endpoint", required=True, help="The node's URL.")
@click.option("--hardware-hash", default=None, help="bytes32 hash of its hardware report (default: of the endpoint).")
@click.option("--challenge-digest", default=None, help="bytes32 digest of the challenge it passed.")
def propose_node(cli_ctx, account, yes, manifest_dir, node, endpoint, hardware_hash, challenge_digest):
    """Propose to admit a node (your approval counts; admitted at quorum)."""
    node = address(node, "the node")
    hardware = _bytes32(hardware_hash, "--hardware-hash") or keccak(text=f"hardware declared for {endpoint}")
    challenge = _bytes32(challenge_digest, "--challenge-digest") or keccak(text=f"admitted by hand: {endpoint}")
    desk = open_desk(manifest_dir, account, yes)
    need_authority(desk)
    _report_proposal(
        desk, send(desk, "NodeRegistry", "propose_node", node, endpoint, hardware, challenge, gas=PROPOSE_GAS)
    )


@operator_command("propose-revocation")
@click.argument("node")
@click.option("--reason", required=True)
def propose_revocation(cli_ctx, account, yes, manifest_dir, node, reason):
    """Propose to revoke an admitted node."""
    node = address(node, "the node")
    desk = open_desk(manifest_dir, account, yes)
    need_authority(desk)
    _report_proposal(desk, send(desk, "NodeRegistry", "propose_revocation", node, reason, gas=PROPOSE_GAS))


@operator_command("propose-authority")
@click.argument("authority")
def propose_authority(cli_ctx, account, yes, manifest_dir, authority):
    """Propose to add an authority."""
    authority = address(authority, "the authority")
    desk = open_desk(manifest_dir, account, yes)
    need_authority(desk)
    _report_proposal(desk, send(desk, "NodeRegistry", "propose_authority", authority, True, gas=PROPOSE_GAS))


@operator_command("remove-authority")
@click.argument("authority")
def remove_authority(cli_ctx, account, yes, manifest_dir, authority):
    """Propose to remove an authority."""
    authority = address(authority, "the authority")
    desk = open_desk(manifest_dir, account, yes)
    need_authority(desk)
    _report_proposal(desk, send(desk, "NodeRegistry", "propose_authority", authority, False, gas=PROPOSE_GAS))


@operator_command("approve")
@click.argument("proposal_id", type=click.IntRange(1))
def approve(cli_ctx, account, yes, manifest_dir, proposal_id):
    """Approve a NodeRegistry proposal (the approval that reaches quorum carries it out)."""
    desk = open_desk(manifest_dir, account, yes)
    need_authority(desk)
    if proposal_id > desk.nodes.proposal_count():
        raise Refusal(f"there is no proposal {proposal_id} (the last is {desk.nodes.proposal_count()})")
    _report_proposal(desk, send(desk, "NodeRegistry", "approve", proposal_id, gas=PROPOSE_GAS))


def _bytes32(value, what):
    if value is None:
        return None
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise Refusal(f"{what} must be 32 bytes in hex (0x followed by 64 hex digits)")
    return raw
