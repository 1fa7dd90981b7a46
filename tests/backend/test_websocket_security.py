"""Both WebSockets (chat, notifications): signed in by cookie, never by a token in the URL,
and opened only by pages of the desk's own origins."""

import pytest
from starlette.websockets import WebSocketDisconnect

from backend.config import Settings
from tests.backend.sockets import receive_json, token_of

NOTIFICATIONS = "/api/notifications/ws"


def chat_path(order_id):
    return f"/api/orders/{order_id}/chat/ws"


@pytest.fixture
def order_id(create_ad, open_order, sync):
    order = open_order(create_ad())
    sync()
    return order


@pytest.fixture
def paths(order_id):
    """Each socket and the first frame a party of the order gets from it."""
    return [(NOTIFICATIONS, "subscribed"), (chat_path(order_id), "history")]


# ----------------------------------------------------------- signing in


def test_ws_auth__a_token_in_the_url_is_not_read(client, login_as, buyer, paths):
    token = token_of(login_as(buyer))
    for path, _first in paths:
        with client.websocket_connect(f"{path}?token={token}") as ws, pytest.raises(WebSocketDisconnect) as refused:
            receive_json(ws)
        assert refused.value.code == 4401, path


def test_ws_auth__the_http_only_session_cookie_signs_in(client, login_as, buyer, paths):
    cookie = {"cookie": f"sentinel_session={token_of(login_as(buyer))}"}
    for path, first in paths:
        with client.websocket_connect(path, headers=cookie) as ws:
            assert receive_json(ws)["type"] == first, path


def test_ws_auth__the_pages_socket_cookie_signs_in_and_is_deleted_by_the_handshake(
    client, login_as, buyer, seller, paths
):
    # The tab is the buyer's; the browser's latest sign-in (the HTTP-only cookie) the seller's.
    cookies = f"sentinel_session={token_of(login_as(seller))}; sentinel_ws_0123abcd4567ef89={token_of(login_as(buyer))}"
    for path, first in paths:
        with client.websocket_connect(f"{path}?ws_key=0123abcd4567ef89", headers={"cookie": cookies}) as ws:
            frame = receive_json(ws)
            assert frame["type"] == first
            if first == "subscribed":
                assert frame["address"] == buyer.address  # the tab's account, not the cookie's
            set_cookie = dict(ws.extra_headers or [])[b"set-cookie"].decode()
            assert set_cookie.startswith("sentinel_ws_0123abcd4567ef89=;") and "Max-Age=0" in set_cookie
            assert f"Path={path}" in set_cookie


@pytest.mark.parametrize("key", ["0123abcd4567ef89", "bad key!", ""])
def test_ws_auth__a_named_socket_cookie_that_is_missing_is_no_fallback(client, login_as, seller, paths, key):
    # A page that named its socket cookie is never signed in as the browser's other session.
    cookie = {"cookie": f"sentinel_session={token_of(login_as(seller))}"}
    for path, _first in paths:
        with (
            client.websocket_connect(f"{path}?ws_key={key}", headers=cookie) as ws,
            pytest.raises(WebSocketDisconnect) as refused,
        ):
            receive_json(ws)
        assert refused.value.code == 4401, path


# -------------------------------------------------------------- origins


def test_ws_origin__desk_origins_from_settings():
    from backend.auth.deps import desk_origins

    settings = Settings(
        public_origin="https://desk.example/",
        siwe_domains=["desk.example", "localhost:8000"],
        allowed_origins=["https://App.Partner.example"],
    )
    assert desk_origins(settings) == {
        "https://desk.example",
        "http://desk.example",
        "http://localhost:8000",
        "https://localhost:8000",
        "https://app.partner.example",
    }


@pytest.mark.parametrize("origin", ["https://evil.example", "http://testserver.evil.example", "null"])
def test_ws_origin__foreign_page_refused_at_the_handshake(client, login_as, buyer, paths, origin):
    cookie = f"sentinel_session={token_of(login_as(buyer))}"
    for path, _first in paths:
        # Refused before accepting: the handshake fails and no frame is ever sent.
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(path, headers={"cookie": cookie, "origin": origin}),
        ):
            pass
        assert refused.value.code == 4403, path


@pytest.mark.parametrize("origin", ["http://testserver", "HTTP://TESTSERVER/", "https://testserver", None])
def test_ws_origin__desk_pages_and_non_browser_clients_let_through(client, login_as, buyer, paths, origin):
    headers = {"cookie": f"sentinel_session={token_of(login_as(buyer))}"}
    if origin:
        headers["origin"] = origin
    for path, first in paths:
        with client.websocket_connect(path, headers=headers) as ws:
            assert receive_json(ws)["type"] == first, path


def test_ws_origin__allowed_origins_setting(client, login_as, buyer):
    headers = {"cookie": f"sentinel_session={token_of(login_as(buyer))}", "origin": "https://app.partner.example"}
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(NOTIFICATIONS, headers=headers):
        pass
    client.app.state.settings.allowed_origins = ["https://app.partner.example"]  # read per handshake
    with client.websocket_connect(NOTIFICATIONS, headers=headers) as ws:
        assert receive_json(ws)["type"] == "subscribed"
