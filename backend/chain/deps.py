"""The chain as routes see it: web3, the deployment and its contracts."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection
from web3 import Web3
from web3.contract import Contract

from backend.chain.contracts import Deployment
from backend.chain.indexer import Indexer
from backend.chain.rules import EscrowRules


def rpc_provider(url: str) -> Web3.HTTPProvider:
    """web3 asks eth_chainId before every call and transaction: one RPC endpoint keeps
    its chain id, so that answer is cached (and nothing else)."""
    return Web3.HTTPProvider(
        url, request_kwargs={"timeout": 30}, cache_allowed_requests=True, cacheable_requests={"eth_chainId"}
    )


@dataclass
class ChainContext:
    w3: Web3
    deployment: Deployment
    _rules: EscrowRules | None = field(default=None, init=False, repr=False)
    _contracts: dict[str, Contract] = field(default_factory=dict, repr=False)

    def contract(self, name: str) -> Contract:
        # Building a web3 Contract parses its whole ABI (tens of ms): once per name.
        found = self._contracts.get(name)
        if found is None:
            found = self._contracts[name] = self.deployment.contract(self.w3, name)
        return found

    def rules(self) -> EscrowRules:
        """Read from the chain once: at start-up, or on first use when the node was down then."""
        if self._rules is None:
            self._rules = EscrowRules.read(self.contract("OtcEscrow"))
        return self._rules


async def get_chain(connection: HTTPConnection) -> ChainContext:
    return connection.app.state.chain


async def get_indexer(connection: HTTPConnection) -> Indexer:
    return connection.app.state.indexer


ChainDep = Annotated[ChainContext, Depends(get_chain)]
IndexerDep = Annotated[Indexer, Depends(get_indexer)]
