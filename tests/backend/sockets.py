"""What every socket test needs: a receive that fails instead of hanging, and the page's session cookie."""

import json

import anyio

from backend.auth.sessions import COOKIE_NAME


def receive_json(ws, timeout=15):
    """`ws.receive_json()` that fails instead of hanging when nothing arrives."""

    async def receive():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(receive)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def token_of(headers):
    return headers["Authorization"].removeprefix("Bearer ")


def session_cookie(headers):
    """The header a same-origin page of `headers`' session sends: the HTTP-only cookie, never a URL token."""
    return {"cookie": f"{COOKIE_NAME}={token_of(headers)}"} if headers else {}
