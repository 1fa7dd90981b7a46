"""Shared by the benchmarks: a fresh Anvil with the contracts, and bulk transactions.

Bulk traffic goes through JSON-RPC batches of eth_sendTransaction from Anvil's unlocked
accounts with automine off, then `anvil_mine`: thousands of escrow events in seconds.
"""

import contextlib
import itertools
import json
import os
import tempfile

import requests
from ape import accounts, networks
from ape.logging import logger
from eth_utils import keccak
from web3 import Web3

from scripts.deploy import deploy_stack

UNIT = 10**6


@contextlib.contextmanager
def deployed_chain():
    """Yields (rpc_url, manifest, manifest_path) for a fresh Anvil with everything deployed."""
    logger.set_level("ERROR")
    with networks.ethereum.local.use_provider("foundry") as provider:
        admin = accounts.test_accounts[0]
        provider.make_request("anvil_setCoinbase", [admin.address])
        manifest = deploy_stack(admin, local=True)
        # A local deploy turns the escrow's KYC switch on: the traders of the traffic are attested.
        from ape import chain, project

        registry = project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])
        expires = chain.pending_timestamp + 365 * 86_400
        for trader in accounts.test_accounts[1:9]:
            registry.attest(trader, 2, expires, keccak(text=f"bench-kyc-{trader.address}"), sender=admin)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{manifest['chain_id']}.json")
            with open(path, "w") as f:
                json.dump(manifest, f)
            yield provider.uri, manifest, path


class Traffic:
    """Sends escrow transactions in JSON-RPC batches, mining a block per batch."""

    def __init__(self, rpc_url: str, manifest: dict):
        self.url = rpc_url
        self.http = requests.Session()
        self.w3 = Web3(Web3.HTTPProvider(rpc_url))
        self.escrow = self.w3.eth.contract(
            address=manifest["contracts"]["OtcEscrow"]["address"], abi=manifest["contracts"]["OtcEscrow"]["abi"]
        )
        self.token = self.w3.eth.contract(address=manifest["tokens"][0]["address"], abi=manifest["token_abi"])
        self.ids = itertools.count(1)
        self.nonces: dict[str, int] = {}

    def _nonce(self, sender: str) -> str:
        if sender not in self.nonces:
            self.nonces[sender] = self.w3.eth.get_transaction_count(sender, "pending")
        self.nonces[sender] += 1
        return hex(self.nonces[sender] - 1)

    def rpc(self, method, params):
        return self.http.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()

    def send_batch(self, calls, mine=True):
        """calls: [(sender, contract function call)]; returns the tx hashes."""
        batch = []
        for sender, fn in calls:
            tx = {
                "from": sender,
                "to": fn.address,
                "data": fn._encode_transaction_data(),
                "gas": hex(400_000),
                "nonce": self._nonce(sender),
            }
            batch.append({"jsonrpc": "2.0", "id": next(self.ids), "method": "eth_sendTransaction", "params": [tx]})
        answers = self.http.post(self.url, json=batch).json()
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise RuntimeError(f"{len(errors)} transactions refused, first: {errors[0]}")
        if mine:
            self.rpc("anvil_mine", [1])
        return [a["result"] for a in answers]

    def automine(self, on: bool):
        self.rpc("evm_setAutomine", [on])

    def fund(self, addresses, amount=10_000 * UNIT):
        calls = []
        for address in addresses:
            calls += [
                (address, self.token.functions.faucet(amount)),
                (address, self.token.functions.approve(self.escrow.address, 2**256 - 1)),
            ]
        self.send_batch(calls)


def seller_ad_args(
    token,
    amount=5_000 * UNIT,
    price=725,
    fiat=b"USD",
    min_amount=1 * UNIT,
    max_amount=1_000 * UNIT,
    methods=0b1,
    terms=keccak(text="bench"),
):
    return (token, amount, price, fiat, min_amount, max_amount, 3600, methods, terms)
