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


@dataclass
class ChainContext:
    w3: Web3
    deployment: Deployment
    _rules: EscrowRules | None = field(default=None, init=False, repr=False)

    def contract(self, name: str) -> Contract:
        return self.deployment.contract(self.w3, name)

    def rules(self) -> EscrowRules:
        """Read from the chain once: at start-up, or on first use when the node was down then."""
        if self._rules is None:
            self._rules = EscrowRules.read(self.contract("OtcEscrow"))
        return self._rules


def get_chain(connection: HTTPConnection) -> ChainContext:
    return connection.app.state.chain


def get_indexer(connection: HTTPConnection) -> Indexer:
    return connection.app.state.indexer


ChainDep = Annotated[ChainContext, Depends(get_chain)]
IndexerDep = Annotated[Indexer, Depends(get_indexer)]
