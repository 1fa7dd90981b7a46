"""The chain as routes see it: web3, the deployment and its contracts."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection
from web3 import Web3
from web3.contract import Contract

from backend.chain.contracts import Deployment
from backend.chain.indexer import Indexer


@dataclass
class ChainContext:
    w3: Web3
    deployment: Deployment

    def contract(self, name: str) -> Contract:
        return self.deployment.contract(self.w3, name)


def get_chain(connection: HTTPConnection) -> ChainContext:
    return connection.app.state.chain


def get_indexer(connection: HTTPConnection) -> Indexer:
    return connection.app.state.indexer


ChainDep = Annotated[ChainContext, Depends(get_chain)]
IndexerDep = Annotated[Indexer, Depends(get_indexer)]
