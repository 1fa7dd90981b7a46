// The chat with the other party: a socket, with polling while it is down.

import { api, ApiError, wsUrl } from "../api.js";
import { formatTime, sameAddress, shortAddress, shortHash } from "../format.js";
import { t } from "../i18n.js";
import { requireSession } from "../shell.js";
import { el, errorBox } from "../ui.js";
import { signedIn, wallet } from "../wallet.js";
import { byId, orderId, role, state } from "./state.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */
/**
 * What the chat socket sends (backend/negotiation/schemas.py: ChatHistoryFrame, ChatMessageFrame).
 * @typedef {(Schemas["ChatTranscript"] & {type: "history"}) | {type: "message", message: Schemas["ChatMessagePublic"]} | {type: "error", detail: string}} ChatFrame
 */

const chat = {
  /** @type {WebSocket | null} */
  ws: null,
  /** @type {Map<number, Schemas["ChatMessagePublic"]>} */
  messages: new Map(),
  retry: 0,
  head: null,
  denied: null,
};

export function renderChatGate() {
  const gate = byId("chat-gate");
  const form = byId("chat-form");
  if (!signedIn()) {
    form.classList.add("hidden");
    const signIn = () => requireSession().catch((err) => gate.append(errorBox(err)));
    gate.replaceChildren(el("div", { class: "state" }, t("chat.sign_in"), el("button", { class: "btn btn-primary", type: "button", "data-testid": "chat-sign-in", onclick: signIn }, t("wallet.sign_in"))));
    return;
  }
  if (chat.denied || (state.order && role() === "visitor")) {
    form.classList.add("hidden");
    gate.replaceChildren(el("div", { class: "state" }, chat.denied || t("chat.parties_only")));
    return;
  }
  gate.replaceChildren();
  form.classList.remove("hidden");
}

function author(sender) {
  if (sameAddress(sender, wallet.address)) return t("chat.you");
  if (sameAddress(sender, state.order?.seller)) return t("order.seller");
  if (sameAddress(sender, state.order?.buyer)) return t("order.buyer");
  return shortAddress(sender);
}

export function renderChat() {
  const log = byId("chat-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const messages = [...chat.messages.values()].sort((a, b) => a.seq - b.seq);
  if (messages.length === 0) log.replaceChildren(el("div", { class: "muted small", "data-testid": "chat-empty" }, t("chat.empty")));
  else {
    log.replaceChildren(
      ...messages.map((m) =>
        el(
          "div",
          { class: `msg ${sameAddress(m.sender, wallet.address) ? "msg-mine" : ""}`, "data-testid": "chat-message", "data-seq": m.seq },
          el("div", { class: "msg-meta" }, author(m.sender), " · ", formatTime(m.created_at)),
          el("div", { class: "msg-body" }, m.body),
        ),
      ),
    );
  }
  if (atBottom || messages.length <= 1) log.scrollTop = log.scrollHeight;
  const head = chat.head || messages.at(-1)?.hash;
  byId("chat-head").textContent = head ? t("chat.head", { hash: shortHash(head) }) : "";
}

/** @param {Schemas["ChatMessagePublic"][]} list */
function addMessages(list) {
  const mineIsNew = list.some((m) => !chat.messages.has(m.seq) && sameAddress(m.sender, wallet.address));
  for (const m of list) chat.messages.set(m.seq, m);
  renderChat();
  // A message of ours may answer a dispute: the header's to-do count reads it again.
  if (mineIsNew && state.order?.status === "DISPUTED") window.dispatchEvent(new CustomEvent("sentinel:todos-stale"));
}

function setConn(key) {
  byId("chat-conn").textContent = key ? t(key) : "";
  byId("chat-conn").dataset.state = key || "";
}

export async function pollChat() {
  if (!signedIn() || chat.denied) return;
  try {
    const transcript = await api("/orders/{order_id}/chat", { params: { order_id: orderId } });
    chat.head = transcript.head;
    addMessages(transcript.messages);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
      chat.denied = err.message;
      renderChatGate();
    }
  }
}

/** True while the chat socket is up (otherwise the page polls the transcript). */
export function chatLive() {
  return chat.ws?.readyState === WebSocket.OPEN;
}

export function connectChat() {
  if (!signedIn() || chat.ws || chat.denied) return;
  if (state.order && role() === "visitor") return;
  setConn("chat.connecting");
  const ws = new WebSocket(wsUrl(`/orders/${orderId}/chat/ws`));
  chat.ws = ws;
  ws.addEventListener("open", () => {
    chat.retry = 0;
    setConn("chat.live");
  });
  ws.addEventListener("message", (event) => {
    /** @type {ChatFrame} */
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === "history") {
      chat.head = frame.head;
      addMessages(frame.messages);
    } else if (frame.type === "message") {
      chat.head = frame.message.hash;
      addMessages([frame.message]);
    } else if (frame.type === "error") {
      byId("chat-error").textContent = frame.detail;
    }
  });
  ws.addEventListener("close", (event) => {
    if (chat.ws !== ws) return; // an old socket, replaced after a new sign-in
    chat.ws = null;
    // 4401/4403/4404 (or a policy close): not allowed here; anything else: try again, poll meanwhile.
    if ([1008, 4401, 4403, 4404].includes(event.code)) {
      setConn("");
      if (event.code !== 4401) {
        chat.denied = event.reason || t("chat.parties_only");
        renderChatGate();
      }
      return;
    }
    setConn("chat.reconnecting");
    pollChat();
    chat.retry = Math.min(chat.retry + 1, 5);
    setTimeout(connectChat, 1000 * chat.retry);
  });
}

export async function sendChat(event) {
  event.preventDefault();
  const input = byId("chat-input");
  const body = input.value.trim();
  byId("chat-error").textContent = "";
  if (!body) return;
  if (chatLive()) {
    chat.ws.send(JSON.stringify({ body }));
    input.value = "";
    return;
  }
  try {
    const message = await api("/orders/{order_id}/chat", { method: "POST", params: { order_id: orderId }, body: { body } });
    input.value = "";
    addMessages([message]);
  } catch (err) {
    byId("chat-error").textContent = err.message;
  }
}

/** Start over, e.g. after a sign-in: the old session's socket and messages go. */
export function restartChat() {
  const old = chat.ws;
  chat.ws = null;
  old?.close();
  chat.denied = null;
  chat.messages.clear();
  renderChat();
  renderChatGate();
  connectChat();
}
