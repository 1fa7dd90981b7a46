"""The chain as routes see it: web3, the deployment and its contracts."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from web3 import Web3
from web3.contract import Contract

from backend.chain.contracts import Deployment


@dataclass
class ChainContext:
    w3: Web3
    deployment: Deployment

    def contract(self, name: str) -> Contract:
        return self.deployment.contract(self.w3, name)


def get_chain(request: Request) -> ChainContext:
    return request.app.state.chain


ChainDep = Annotated[ChainContext, Depends(get_chain)]
