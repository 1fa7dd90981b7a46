"""What `ape run deploy` and `ape run admin` check before they send anything, and how
they sign without a terminal. Each refusal is one sentence and sends nothing."""

import os
import sys

import click
from ape import chain
from eth_abi import decode as abi_decode
from eth_utils import is_address, to_checksum_address

ZERO_ADDRESS = "0x" + "00" * 20
DECIMALS = bytes.fromhex("313ce567")  # decimals()
BALANCE_OF = bytes.fromhex("70a08231")  # balanceOf(address)
SYMBOL = bytes.fromhex("95d89b41")  # symbol()
NAME = bytes.fromhex("06fdde03")  # name()
# Gas of one admin call (role grant, allowlist entry, fee change): generous on purpose,
# the check is there to stop a deploy that would run dry half-way.
CALL_GAS = 100_000
PROPOSE_GAS = 400_000


class Refusal(click.ClickException):
    """A reason not to go on, shown as one line (`Error: ...`), exit status 1."""


def address(value: str, what: str) -> str:
    """A checksummed address, or a refusal that names the option."""
    if not isinstance(value, str) or not is_address(value):
        raise Refusal(f"{what} {value!r} is not an address (0x followed by 40 hex digits)")
    checksummed = to_checksum_address(value)
    if checksummed == ZERO_ADDRESS:
        raise Refusal(f"{what} is the zero address")
    return checksummed


def _call(to: str, data: bytes) -> bytes | None:
    try:
        return bytes(chain.provider.web3.eth.call({"to": to, "data": "0x" + data.hex()}))
    except Exception:
        return None


def token_entry(value: str) -> dict:
    """The manifest entry of a token, after checking that it is an ERC-20 contract."""
    token = address(value, "--token")
    if not chain.provider.get_code(token):
        raise Refusal(f"--token {token} is not a contract on chain {chain.chain_id}")
    decimals = _call(token, DECIMALS)
    if decimals is None or len(decimals) != 32 or int.from_bytes(decimals, "big") > 255:
        raise Refusal(f"--token {token} does not answer decimals(): it is not an ERC-20 token")
    balance = _call(token, BALANCE_OF + bytes(12) + bytes.fromhex(token[2:]))
    if balance is None or len(balance) != 32:
        raise Refusal(f"--token {token} does not answer balanceOf(address): it is not an ERC-20 token")
    return {
        "address": token,
        "symbol": _text(_call(token, SYMBOL)) or "?",
        "decimals": int.from_bytes(decimals, "big"),
        "name": _text(_call(token, NAME)) or "",
    }


def _text(answer: bytes | None) -> str:
    """A string result, or the bytes32 some old tokens (MKR) return instead."""
    if not answer:
        return ""
    try:
        return abi_decode(["string"], answer)[0]
    except Exception:
        return answer[:32].rstrip(b"\0").decode("utf-8", "replace")


def prepare_signer(account, yes: bool) -> None:
    """Keyfile accounts ask `Sign: [y/N]` for every transaction. With --yes they sign on
    their own (ape's auto-sign), unlocked by APE_ACCOUNTS_<alias>_PASSPHRASE; with
    neither --yes nor a terminal, say so instead of ending in `Aborted!`."""
    from ape_accounts import KeyfileAccount
    from ape_accounts.accounts import InvalidPasswordError

    if not isinstance(account, KeyfileAccount):
        return  # test accounts sign without asking; hardware wallets ask on the device
    variable = f"APE_ACCOUNTS_{account.alias}_PASSPHRASE"
    interactive = sys.stdin.isatty()
    if not yes:
        if not interactive:
            raise Refusal(
                f"no terminal to confirm each transaction of '{account.alias}': "
                f"run with --yes and the passphrase in {variable}"
            )
        return
    passphrase = os.environ.get(variable)
    if passphrase is None and not interactive:
        raise Refusal(f"--yes needs the passphrase of '{account.alias}' in {variable} (there is no terminal to ask)")
    try:
        account.set_autosign(True, passphrase=passphrase)
    except InvalidPasswordError:
        raise Refusal(f"the passphrase in {variable} does not unlock '{account.alias}'") from None


def fee_per_gas() -> int:
    """What a transaction may be charged per gas: twice the base fee plus the tip, as
    wallets bid; a legacy chain's gas price otherwise."""
    w3 = chain.provider.web3
    block = w3.eth.get_block("latest")
    base = block.get("baseFeePerGas")
    if base is None:
        return w3.eth.gas_price
    try:
        tip = w3.eth.max_priority_fee
    except Exception:
        tip = 10**9
    return 2 * base + tip


def check_funds(account, gas: int, what: str) -> None:
    price = fee_per_gas()
    needed = gas * price
    balance = chain.provider.get_balance(account.address)
    if balance < needed:
        raise Refusal(
            f"{account.address} holds {balance / 1e18:.6f} ETH but {what} needs about {needed / 1e18:.6f} ETH "
            f"({gas:,} gas at {price / 1e9:.2f} gwei): fund the account first"
        )


def deploy_gas(account, container, *args) -> int:
    """Estimated gas of deploying `container` with `args` (nothing is sent)."""
    bytecode = container.contract_type.deployment_bytecode.bytecode
    data = bytes.fromhex(bytecode.removeprefix("0x")) + bytes(container.constructor.encode_input(*args))
    try:
        return chain.provider.web3.eth.estimate_gas({"from": account.address, "data": "0x" + data.hex()})
    except Exception as error:
        raise Refusal(f"deploying {container.contract_type.name} would fail: {error}") from None
