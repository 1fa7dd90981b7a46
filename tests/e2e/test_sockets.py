"""The order page's sockets in a real browser: signed in by the tab's own session in a
cookie of the handshake, never a token in the URL, and nothing of it left behind."""

import re

from playwright.sync_api import expect


def test_sockets__order_page_signs_in_its_sockets_without_a_token_in_the_url(
    open_page, connect, backend, create_ad, open_order, buyer
):
    order_id = open_order(create_ad())
    backend.wait_indexed()
    b = open_page(buyer)
    bp = b.page
    sockets = []
    bp.on("websocket", lambda ws: sockets.append(ws.url))
    bp.goto("/")
    connect(bp)
    token = bp.evaluate("JSON.parse(sessionStorage.getItem('sentinel.session')).token")
    # The browser's HTTP-only cookie now holds another (dead) session, as after a sign-in in
    # another tab: the page's sockets must still be this tab's.
    bp.context.add_cookies([{"name": "sentinel_session", "value": "another-tab", "url": backend.url}])

    bp.goto(f"/order.html?id={order_id}")
    expect(bp.get_by_test_id("chat-conn")).to_have_text("live")
    bp.get_by_test_id("chat-input").fill("over the socket")
    bp.get_by_test_id("chat-send").click()
    expect(bp.get_by_test_id("chat-message")).to_contain_text(["over the socket"])

    chat_sockets = [url for url in sockets if f"/api/orders/{order_id}/chat/ws" in url]
    assert chat_sockets and any("/api/notifications/ws" in url for url in sockets), sockets
    for url in sockets:
        assert token not in url and "token=" not in url, url
        assert re.search(r"\?ws_key=[0-9a-f]{24}$", url), url
    # Each socket cookie went with its handshake's answer.
    assert not [c for c in bp.context.cookies() if c["name"].startswith("sentinel_ws_")]
    assert token not in backend.log()
