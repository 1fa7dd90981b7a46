"""The deployment of `ape run deploy` (the same `deploy_stack`), once per session, for the
suites that run the backend against it (tests/backend, tests/e2e)."""

import json

import pytest
from eth_utils import keccak

from scripts.deploy import deploy_stack

__all__ = ["manifest", "escrow", "kyc_registry", "node_registry"]

TEN_YEARS = 10 * 365 * 24 * 3600


@pytest.fixture(scope="session")
def manifest(chain, project, admin, seller, buyer, tmp_path_factory):
    """The manifest, also written to a file (`manifest["path"]`) for the backend to read.

    The indexer trusts only blocks whose producer NodeRegistry authorizes: the deployer."""
    chain.provider.make_request("anvil_setCoinbase", [admin.address])
    manifest = deploy_stack(admin, local=True)
    # A local deploy turns the escrow's KYC switch on (level 1), as `make run` has it: the
    # trading roles are attested like the demo accounts; `other` and the rest are not.
    registry = project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])
    for account in (seller, buyer):
        registry.attest(
            account, 2, chain.pending_timestamp + TEN_YEARS, keccak(text=f"test-kyc-{account}"), sender=admin
        )
    path = tmp_path_factory.mktemp("deployments") / f"{manifest['chain_id']}.json"
    path.write_text(json.dumps(manifest))
    manifest["path"] = str(path)
    return manifest


@pytest.fixture(scope="session")
def escrow(project, manifest):
    return project.OtcEscrow.at(manifest["contracts"]["OtcEscrow"]["address"])


@pytest.fixture(scope="session")
def kyc_registry(project, manifest):
    return project.KycRegistry.at(manifest["contracts"]["KycRegistry"]["address"])


@pytest.fixture(scope="session")
def node_registry(project, manifest):
    return project.NodeRegistry.at(manifest["contracts"]["NodeRegistry"]["address"])
