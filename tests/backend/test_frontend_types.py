"""The frontend's type check (`make typecheck`) catches what it is there for: a page that
reads a field no API response declares, sends a body field the API does not take, calls a
path the API does not have, or compares an order with a status the protocol does not name.

Each probe is a small page module type-checked with the frontend under the project's
tsconfig.json, against types generated from the app's OpenAPI document as the target does.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"

pytestmark = pytest.mark.skipif(not (BIN / "tsc").exists(), reason="npm devDependencies not installed (make setup)")


@pytest.fixture(scope="module")
def schema_types(tmp_path_factory):
    """types/openapi.d.ts from the app's schema, as `make typecheck` writes it."""
    schema = tmp_path_factory.mktemp("schema") / "openapi.json"
    with schema.open("w") as out:
        subprocess.run([sys.executable, "-m", "scripts.openapi"], cwd=ROOT, stdout=out, check=True)
    subprocess.run(
        [BIN / "openapi-typescript", schema, "--output", ROOT / "types" / "openapi.d.ts"],
        check=True,
        capture_output=True,
    )
    stub = ROOT / "frontend" / "vendor" / "ethers.min.d.ts"
    if not stub.exists():  # the Makefile's stub: ethers' own types for the vendored bundle
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text('export * from "ethers";\n')
    return schema


ORDER = 'const order = await api("/orders/{order_id}", { params: { order_id: 1 } });\n'
POST_CHAT = 'await api("/orders/{order_id}/chat", { method: "POST", params: { order_id: 1 }, body: '
DEPLOYMENT = 'const deployment = await api("/chain/deployment");\n'

MISREADS = {
    "unknown-field": (ORDER + "order.messages;", "TS2339: Property 'messages' does not exist"),
    "unknown-field-of-a-post": (
        "const message = " + POST_CHAT + '{ body: "hi" } });\nmessage.message;',
        "TS2339: Property 'message' does not exist",
    ),
    "undeclared-body-field": (POST_CHAT + '{ text: "hi" } });', "'text' does not exist"),
    "unknown-path": ('await api("/orders/7");', "TS2345"),
    "unknown-status": (ORDER + 'if (order.status === "CLOSED") order.id;', "TS2367"),
    "protocol": (DEPLOYMENT + "deployment.protocol.dispute_grace;", "Property 'dispute_grace' does not exist"),
}
DECLARED_READS = (
    ORDER
    + 'if (order.status === "PAID") order.paid_at;\n'
    + DEPLOYMENT
    + "deployment.protocol.seller_dispute_grace + deployment.protocol.max_payment_window;"
)


@pytest.fixture(scope="module")
def tsc_errors(schema_types, tmp_path_factory) -> dict[str, list[str]]:
    """One tsc run over the frontend and every probe (a module each): its errors by file stem."""
    folder = tmp_path_factory.mktemp("probes")
    api = (ROOT / "frontend" / "js" / "api.js").as_posix()
    probes = {name: probe for name, (probe, _) in MISREADS.items()} | {"declared-reads": DECLARED_READS}
    for name, probe in probes.items():
        (folder / f"{name}.js").write_text(f'import {{ api }} from "{api}";\n\n{probe}\n')
    include = [str(ROOT / "frontend" / "js" / "**" / "*.js"), str(ROOT / "types" / "*.d.ts"), str(folder / "*.js")]
    config = folder / "tsconfig.json"
    config.write_text(json.dumps({"extends": str(ROOT / "tsconfig.json"), "include": include}))
    result = subprocess.run([BIN / "tsc", "-p", config], capture_output=True, text=True, cwd=ROOT)
    found: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if "error TS" in line:
            found.setdefault(Path(line.split("(")[0]).stem, []).append(line)
    return found


def test_frontend__and_declared_reads_pass(tsc_errors):
    assert {name: lines for name, lines in tsc_errors.items() if name not in MISREADS} == {}


@pytest.mark.parametrize("name", MISREADS)
def test_frontend__reading_what_the_schema_does_not_declare_fails(tsc_errors, name):
    expected = MISREADS[name][1]
    assert any(expected in line for line in tsc_errors.get(name, [])), tsc_errors.get(name)


def test_openapi_dump__is_the_served_schema():
    from fastapi.testclient import TestClient

    from backend.config import Settings
    from backend.main import create_app

    dumped = subprocess.run([sys.executable, "-m", "scripts.openapi"], cwd=ROOT, capture_output=True, check=True)
    # No chain here: the schema needs no start-up (and this module deploys nothing).
    served = TestClient(create_app(Settings())).get("/openapi.json").json()
    assert json.loads(dumped.stdout) == served
