"""Schemathesis against the app's own OpenAPI schema: whatever a client sends that the
schema allows (and much it does not), the answer is never a 5xx.

The calls go through the ASGI app in-process, signed in as a buyer so the routes behind
the session are exercised too, against the real Anvil deployment of the other tests.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture
def api_schema(client):
    # `client` has run the app's lifespan (database, chain context); the schema's own
    # transport calls the same app object.
    return schemathesis.openapi.from_asgi("/openapi.json", client.app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api__no_server_errors(case, login_as, buyer):
    response = case.call(headers=login_as(buyer))
    case.validate_response(response, checks=[not_a_server_error])
