"""The deployment of `ape run deploy` (the same `deploy_stack`), once per session, for the
suites that run the backend against it (tests/backend, tests/e2e)."""

import json

import pytest

from scripts.deploy import deploy_stack

__all__ = ["manifest", "escrow", "kyc_registry", "node_registry"]


@pytest.fixture(scope="session")
def manifest(chain, admin, tmp_path_factory):
    """The manifest, also written to a file (`manifest["path"]`) for the backend to read.

    The indexer trusts only blocks whose producer NodeRegistry authorizes: the deployer."""
    chain.provider.make_request("anvil_setCoinbase", [admin.address])
    manifest = deploy_stack(admin, local=True)
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
