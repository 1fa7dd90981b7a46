"""Role fixtures shared by the three suites: the same Anvil test account plays the same
part everywhere. Each suite's conftest imports them (`from tests.roles import *`); the
suites run as separate pytest calls because their conftest modules share a name."""

import pytest

__all__ = ["admin", "seller", "buyer", "other", "relayer"]


@pytest.fixture(scope="session")
def admin(accounts):
    """The deployer, holder of the admin roles."""
    return accounts[0]


@pytest.fixture(scope="session")
def seller(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def buyer(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def other(accounts):
    """Someone with no part in the trade at hand."""
    return accounts[6]


@pytest.fixture(scope="session")
def relayer(accounts):
    """Account 9: the node that `ape run deploy` admits on a local chain and whose key
    the backend relays gasless actions with."""
    return accounts[9]
