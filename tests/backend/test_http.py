"""The HTTP guards through a real uvicorn server (the test client neither streams a body
in chunks nor writes uvicorn's logs): every oversized body gets 413, and no query string
reaches the log."""

import http.client
import json
import logging
import socket
import threading
import time

import pytest
import uvicorn
from websockets.sync.client import connect

from backend.main import create_app

LIMIT = 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(settings, token):
    """(host, port) of the app served by uvicorn in a thread, with a small body limit."""
    settings.max_body_bytes = LIMIT
    port = free_port()
    # log_config=None: uvicorn's records propagate to the root logger, where caplog reads them.
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def post(server, body, *, chunked: bool):
    connection = http.client.HTTPConnection(*server, timeout=10)
    try:
        headers = {"Content-Type": "application/json"}
        if chunked:
            # An iterable body goes out as Transfer-Encoding: chunked, with no Content-Length.
            pieces = [body[i : i + 256] for i in range(0, len(body), 256)]
            connection.request("POST", "/api/auth/siwe", body=iter(pieces), headers=headers, encode_chunked=True)
        else:
            connection.request("POST", "/api/auth/siwe", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_body_limit__oversized_body_gets_413(server, chunked):
    body = json.dumps({"message": "x" * (LIMIT * 4), "signature": "0x00"}).encode()
    status, data = post(server, body, chunked=chunked)
    assert status == 413 and data == {"detail": f"request body too large: at most {LIMIT} bytes"}


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_body_limit__body_within_the_limit_reaches_the_route(server, chunked):
    status, data = post(server, json.dumps({"message": "hello", "signature": "0x00"}).encode(), chunked=chunked)
    # The route read it: its own verdict on a message that is no sign-in.
    assert status == 400 and data["detail"].startswith("malformed sign-in message"), data


def test_logs__no_query_string_in_uvicorns_lines(server, caplog):
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    host, port = server
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/api/chain/status?token=SECRET-IN-HTTP-QUERY")
    assert connection.getresponse().status == 200
    connection.close()
    # An old page's socket with its token in the URL: refused, and not logged either.
    with connect(f"ws://{host}:{port}/api/notifications/ws?token=SECRET-IN-WS-QUERY", open_timeout=10):
        pass
    deadline = time.monotonic() + 5
    lines = []
    while time.monotonic() < deadline:
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("uvicorn")]
        if any("WebSocket" in line for line in lines) and any("/api/chain/status" in line for line in lines):
            break
        time.sleep(0.05)
    assert any('"GET /api/chain/status HTTP/1.1" 200' in line for line in lines), lines
    assert any('"WebSocket /api/notifications/ws"' in line for line in lines), lines
    assert not any("SECRET" in line or "?" in line for line in lines), lines
