// The notifications socket: the backend pushes each chain event and chat message to the
// accounts it names; the page re-reads the order (or the chat) when one is about it.

import { wsUrl } from "../api.js";
import { signedIn } from "../wallet.js";
import { chatLive, pollChat } from "./chat.js";
import { orderId, refresh } from "./state.js";

const notes = { ws: null, retry: 0 };

export function connectNotifications() {
  if (!signedIn() || notes.ws) return;
  const ws = new WebSocket(wsUrl("/notifications/ws"));
  notes.ws = ws;
  ws.addEventListener("open", () => {
    notes.retry = 0;
  });
  ws.addEventListener("message", (event) => {
    try {
      // backend/notifications/hub.py: {type: "chain_event" | "chat", order_id, ...}
      const push = JSON.parse(event.data);
      if (Number(push.order_id) !== orderId) return;
      if (push.type === "chain_event") refresh();
      else if (push.type === "chat" && !chatLive()) pollChat();
    } catch {
      // not for us
    }
  });
  ws.addEventListener("close", (event) => {
    if (notes.ws !== ws) return;
    notes.ws = null;
    if ([1008, 4401, 4403].includes(event.code)) return;
    notes.retry = Math.min(notes.retry + 1, 5);
    setTimeout(connectNotifications, 2000 * notes.retry);
  });
}

/** Start over, e.g. after a sign-in: the old session's socket is closed first. */
export function restartNotifications() {
  const old = notes.ws;
  notes.ws = null;
  old?.close();
  connectNotifications();
}
