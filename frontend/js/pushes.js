// The notifications socket, one per page: the backend pushes each chain event and chat
// message to the accounts it names (backend/notifications/hub.py), and every module that
// cares (the header's to-dos, the order page) listens to the same socket.

import { wsUrl } from "./api.js";
import { signedIn } from "./wallet.js";

/** @typedef {{type: string, order_id?: number | null, [key: string]: any}} Push */

/** @type {Set<(push: Push) => void>} */
const listeners = new Set();
const socket = { /** @type {WebSocket | null} */ ws: null, retry: 0, /** @type {any} */ timer: null };
let started = false;

/** `listener(push)` for every push; opens the socket if the user is signed in. */
export function onPush(listener) {
  listeners.add(listener);
  if (!started) {
    started = true;
    // A new session (or none): the socket opens again under it.
    window.addEventListener("sentinel:session", restart);
  }
  connect();
}

function connect() {
  if (!signedIn() || socket.ws) return;
  const ws = new WebSocket(wsUrl("/notifications/ws"));
  socket.ws = ws;
  ws.addEventListener("open", () => {
    socket.retry = 0;
  });
  ws.addEventListener("message", (event) => {
    let push;
    try {
      push = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const listener of listeners) listener(push);
  });
  ws.addEventListener("close", (event) => {
    if (socket.ws !== ws) return;
    socket.ws = null;
    // Refused for good (policy, signed out, forbidden): no retry until the session changes.
    if ([1008, 4401, 4403].includes(event.code)) return;
    socket.retry = Math.min(socket.retry + 1, 5);
    socket.timer = setTimeout(connect, 2000 * socket.retry);
  });
}

function restart() {
  clearTimeout(socket.timer);
  const old = socket.ws;
  socket.ws = null;
  old?.close();
  connect();
}
