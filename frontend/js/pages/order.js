// The order page: status, countdown to the payment deadline (by the chain's clock),
// timeline, the actions the connected account may take, the gasless route through
// the relay, and the chat with the other party. It refreshes when the notifications
// socket says the order changed, and polls every few seconds as a fallback.

import { ethers } from "../../vendor/ethers.min.js";
import { api, ApiError, wsUrl } from "../api.js";
import { escrowContract, paymentRef, tokenInfo } from "../chain.js";
import {
  fiatTotal,
  formatCountdown,
  formatDuration,
  formatFiat,
  formatTime,
  formatToken,
  methodNames,
  sameAddress,
  shortAddress,
  shortHash,
} from "../format.js";
import { t } from "../i18n.js";
import { orderCamera } from "../order/camera.js";
import { boot, ctx, requireSession } from "../shell.js";
import { TxBox, el, errorBox, explorerLink, loadingState } from "../ui.js";
import { getProvider, getSigner, onWalletChange, signedIn, wallet } from "../wallet.js";

const POLL_MS = 3000;
const INDEX_GRACE_MS = 20000; // a fresh order may not be indexed yet when the page opens
const SELLER_DISPUTE_GRACE = 3600;
const GASLESS_KEY = "sentinel.gasless";
const RELAYABLE = new Set(["mark_paid", "release", "cancel"]);

const orderId = Number(new URLSearchParams(location.search).get("id"));
const startedAt = Date.now();
const $ = (id) => document.getElementById(id);

const state = {
  order: null,
  ad: null,
  fetchedAt: 0,
  error: null,
  busy: false,
  panel: null, // "extend" | "dispute" | "cancel_paid"
  lastStatus: null,
  chainClock: null, // {timestamp, readAt}: the latest block's time, for the seller's dispute grace
};
let txBox;
const camera = orderCamera(orderId, { section: $("camera-card"), onChange: () => state.order && renderActions({ force: true }) });

// ------------------------------------------------------------------ data

async function refresh() {
  if (!Number.isInteger(orderId) || orderId < 1) {
    state.error = new Error(t("order.bad_id"));
    render();
    return;
  }
  try {
    const order = await api(`/orders/${orderId}`, { auth: false });
    state.order = order;
    state.fetchedAt = Date.now();
    state.error = null;
    if (!state.ad || state.ad.id !== order.ad_id) {
      state.ad = await api(`/ads/${order.ad_id}`, { auth: false }).catch(() => null);
    }
    // The seller's dispute waits out a grace by the chain's clock: read it while it matters.
    if (role() === "seller" && order.status === "PAID") await readChainClock();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && Date.now() - startedAt < INDEX_GRACE_MS) {
      state.error = null; // still indexing: keep showing "loading"
    } else {
      state.error = err;
    }
  }
  render();
}

function role() {
  const order = state.order;
  if (!order || !wallet.address) return "visitor";
  if (sameAddress(order.buyer, wallet.address)) return "buyer";
  if (sameAddress(order.seller, wallet.address)) return "seller";
  return "visitor";
}

/** Seconds left to pay by the chain's clock, counted down locally between fetches. */
function remaining() {
  const order = state.order;
  if (!order || order.status !== "OPEN" || order.seconds_to_deadline === null) return null;
  return order.seconds_to_deadline - (Date.now() - state.fetchedAt) / 1000;
}

async function readChainClock() {
  try {
    const block = await getProvider()?.getBlock("latest");
    if (block) state.chainClock = { timestamp: block.timestamp, readAt: Date.now() };
  } catch {
    // no answer: keep the last reading (the contract decides in any case)
  }
}

/**
 * When the seller may open a dispute (paid_at + grace), while that is still ahead by the
 * chain's clock; null once it has come (or for anyone else). Before this, the page
 * offered the seller a dispute button that could only fail.
 */
function sellerDisputeFrom() {
  const order = state.order;
  if (!order || role() !== "seller" || order.status !== "PAID" || !order.paid_at) return null;
  const from = order.paid_at + SELLER_DISPUTE_GRACE;
  const clock = state.chainClock;
  // Between readings the chain's clock runs on like the wall clock; never read: the wall clock.
  const now = clock ? clock.timestamp + (Date.now() - clock.readAt) / 1000 : Date.now() / 1000;
  return now < from ? from : null;
}

function expired() {
  const left = remaining();
  return left !== null && left <= 0;
}

// ------------------------------------------------------------ rendering

function render() {
  const order = state.order;
  const stateBox = $("order-state");
  if (!order) {
    $("order-main").classList.add("hidden");
    if (state.error) stateBox.replaceChildren(errorBox(state.error, { retry: refresh }));
    else stateBox.replaceChildren(loadingState("order.loading"));
    return;
  }
  stateBox.replaceChildren(state.error ? errorBox(state.error, { retry: refresh }) : "");
  $("order-main").classList.remove("hidden");
  $("order-title").textContent = t("order.title", { id: order.id });
  document.title = `${t("order.title", { id: order.id })} · ${t("app.name")}`;
  $("order-status").replaceChildren(
    el("span", { class: `badge badge-${order.status}`, "data-testid": "order-status", "data-status": order.status }, t(`status.${order.status}`)),
  );
  if (state.lastStatus !== order.status) {
    state.lastStatus = order.status;
    state.panel = null;
  }
  camera.update(order, role());
  renderSummary();
  renderDeadline();
  renderActions();
  renderTimeline();
  renderChatGate();
}

function renderSummary() {
  const order = state.order;
  const token = tokenInfo(ctx.deployment, order.token);
  const you = role();
  const party = (address, who) =>
    el("span", {}, explorerLink(address, shortAddress(address)), you === who ? el("span", { class: "badge", style: "margin-left:0.3rem" }, t("order.you")) : null);
  const rows = [
    ["order.amount", el("span", { "data-testid": "order-amount" }, formatToken(order.amount, token))],
    ["order.price", formatFiat(order.price, order.fiat)],
    ["order.total", el("strong", { "data-testid": "fiat-total" }, formatFiat(order.fiat_total_minor, order.fiat))],
    ["order.seller", party(order.seller, "seller")],
    ["order.buyer", party(order.buyer, "buyer")],
    ["order.opened", formatTime(order.opened_at)],
  ];
  if (state.ad) rows.push(["ad.methods", methodNames(state.ad.payment_methods).join(", ")]);
  if (order.payment_ref) rows.push(["order.payment_ref", el("code", {}, shortHash(order.payment_ref))]);
  if (order.status === "RELEASED") {
    rows.push(["order.buyer_received", formatToken(order.buyer_received, token)]);
    rows.push(["order.fee", formatToken(order.fee ?? 0, token)]);
  }
  if (order.cancel_reason) {
    rows.push(["order.cancel_reason", el("span", { "data-testid": "cancel-reason", "data-reason": order.cancel_reason }, t(`cancel.${order.cancel_reason}`))]);
  }
  if (order.disputed_by) rows.push(["order.disputed_by", shortAddress(order.disputed_by)]);
  $("summary").replaceChildren(
    el("div", { class: "small muted", "data-testid": "order-role" }, t(`order.role_${you}`)),
    el("dl", { class: "kv" }, rows.map(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)])),
  );
}

function renderDeadline() {
  const order = state.order;
  const card = $("deadline-card");
  const left = remaining();
  if (left === null) {
    card.classList.add("hidden");
    return;
  }
  card.classList.remove("hidden");
  const late = left <= 0;
  card.replaceChildren(
    el("h2", {}, t("order.deadline")),
    el(
      "div",
      { class: `countdown ${late ? "countdown-late" : ""}`, "data-testid": "countdown", "data-expired": late ? "1" : "0" },
      late ? t("order.deadline_passed") : formatCountdown(left),
    ),
    el("div", { class: "small muted" }, t("order.deadline_at", { time: formatTime(order.deadline) })),
  );
}

function tickCountdown() {
  if (!state.order) return;
  const wasExpired = document.querySelector("[data-testid=countdown]")?.dataset.expired === "1";
  renderDeadline();
  // The moment the deadline passes, the actions change (cancel_expired appears).
  if (!wasExpired && expired()) renderActions();
}

function actionButton(name, key, onclick, kind = "") {
  return el("button", { class: `btn ${kind}`, type: "button", "data-testid": `action-${name}`, disabled: state.busy, onclick }, t(key));
}

let actionsKey = null;

function renderActions({ force = false } = {}) {
  const order = state.order;
  const you = role();
  const late = expired();
  // Polling re-renders often: rebuild the buttons (and an open panel's inputs) only on change.
  const key = [order.status, you, late, state.busy, state.panel, wallet.address, sellerDisputeFrom()].join("|");
  if (key === actionsKey && !force) return;
  actionsKey = key;
  const buttons = [];
  let note = "";
  const relayer = Boolean(ctx.deployment?.relayer);
  if (!wallet.address) note = t("order.connect_to_act");
  if (you === "buyer") {
    if (order.status === "OPEN" && !late) {
      note = t("order.buyer_pay_note", { total: formatFiat(order.fiat_total_minor, order.fiat) });
      buttons.push(actionButton("mark-paid", "order.mark_paid", () => perform("mark_paid"), "btn-primary"));
    }
    if (order.status === "OPEN") buttons.push(actionButton("cancel", "order.cancel", () => perform("cancel"), "btn-danger"));
    if (order.status === "PAID") {
      note = t("order.buyer_wait_note");
      buttons.push(actionButton("cancel", "order.cancel", () => togglePanel("cancel_paid"), "btn-danger"));
      buttons.push(actionButton("dispute", "order.dispute", () => togglePanel("dispute")));
    }
  } else if (you === "seller") {
    if (order.status === "OPEN") {
      note = late ? "" : t("order.seller_wait_note");
      buttons.push(actionButton("release", "order.release_early", () => perform("release")));
      if (!late) buttons.push(actionButton("extend", "order.extend", () => togglePanel("extend")));
    }
    if (order.status === "PAID") {
      note = t("order.seller_release_note", { total: formatFiat(order.fiat_total_minor, order.fiat) });
      buttons.push(actionButton("release", "order.release", () => perform("release"), "btn-primary"));
      buttons.push(actionButton("dispute", "order.dispute", () => togglePanel("dispute")));
    }
  }
  if (order.status === "OPEN" && late && wallet.address) {
    note = t("order.expired_note");
    buttons.push(actionButton("cancel-expired", "order.cancel_expired", () => perform("cancel_expired"), "btn-primary"));
  }
  if (["RELEASED", "CANCELLED", "RESOLVED"].includes(order.status)) note = t(`order.ended_${order.status}`);
  if (order.status === "DISPUTED") note = t("order.disputed_note");
  if (camera.blocksActions() && buttons.length) [buttons.length, note] = [0, t("camera.required")];
  $("actions-note").textContent = note;
  $("actions").replaceChildren(...buttons);
  const canRelay = relayer && (you === "buyer" || you === "seller") && ["OPEN", "PAID"].includes(order.status);
  $("gasless-label").classList.toggle("hidden", !canRelay);
  renderPanel();
}

function togglePanel(name) {
  state.panel = state.panel === name ? null : name;
  renderActions();
}

function renderPanel() {
  const panel = $("action-panel");
  const order = state.order;
  if (state.panel === "extend") {
    const select = el(
      "select",
      { "data-testid": "extend-seconds", style: "width:auto" },
      [900, 1800, 3600, 7200].map((s) => el("option", { value: String(s) }, `+ ${formatDuration(s)}`)),
    );
    panel.replaceChildren(
      el("div", { class: "buy-panel" }, el("div", { class: "row" }, select, el("button", { class: "btn btn-primary", type: "button", "data-testid": "extend-confirm", disabled: state.busy, onclick: () => perform("extend_deadline", { seconds: BigInt(select.value) }) }, t("order.extend_confirm")))),
    );
  } else if (state.panel === "dispute") {
    // The seller learns from when, and gets the button only then (the contract refuses earlier).
    const sellerFrom = sellerDisputeFrom();
    panel.replaceChildren(
      el(
        "div",
        { class: "buy-panel" },
        el("div", { class: "small" }, t("order.dispute_note")),
        sellerFrom !== null ? el("div", { class: "hint", "data-testid": "seller-dispute-from" }, t("order.seller_dispute_from", { time: formatTime(sellerFrom) })) : null,
        el("div", { class: "row" }, el("button", { class: "btn btn-danger", type: "button", "data-testid": "dispute-confirm", disabled: state.busy || sellerFrom !== null, onclick: () => perform("open_dispute") }, t("order.dispute_confirm"))),
      ),
    );
  } else if (state.panel === "cancel_paid") {
    panel.replaceChildren(
      el(
        "div",
        { class: "buy-panel" },
        el("div", { class: "small" }, t("order.cancel_paid_warning")),
        el("div", { class: "row" }, el("button", { class: "btn btn-danger", type: "button", "data-testid": "cancel-confirm", disabled: state.busy, onclick: () => perform("cancel") }, t("order.cancel_confirm"))),
      ),
    );
  } else panel.replaceChildren();
}

function eventDetail(entry, token) {
  const a = entry.args || {};
  switch (entry.event) {
    case "OrderOpened":
      return t("event.detail.opened", { amount: formatToken(a.amount ?? 0, token), deadline: formatTime(Number(a.deadline)) });
    case "OrderPaid":
      return t("event.detail.paid", { ref: shortHash(a.payment_ref) });
    case "OrderReleased":
      return t("event.detail.released", { amount: formatToken(BigInt(a.amount ?? 0) - BigInt(a.fee ?? 0), token), fee: formatToken(a.fee ?? 0, token) });
    case "OrderCancelled":
      return t(Number(a.reason) === 2 ? "cancel.expired" : "cancel.buyer");
    case "DeadlineExtended":
      return t("event.detail.extended", { deadline: formatTime(Number(a.deadline)) });
    case "DisputeOpened":
      return t("event.detail.dispute", { by: shortAddress(a.by), hash: shortHash(a.evidence_hash) });
    case "DisputeResolved":
      return t("event.detail.resolved", { share: `${Number(a.buyer_bps) / 100}%` });
    case "ActionRelayed":
      return t("event.detail.relayed", { relayer: shortAddress(a.relayer) });
    default:
      return "";
  }
}

function renderTimeline() {
  const order = state.order;
  const token = tokenInfo(ctx.deployment, order.token);
  const items = order.timeline || [];
  if (items.length === 0) {
    $("timeline").replaceChildren(el("li", { class: "muted" }, t("order.timeline_empty")));
    return;
  }
  $("timeline").replaceChildren(
    ...items.map((entry) =>
      el(
        "li",
        { "data-testid": "timeline-item", "data-event": entry.event },
        el("strong", {}, t(`event.${entry.event}`)),
        " ",
        el("span", { class: "small muted" }, formatTime(entry.timestamp)),
        el("div", { class: "small" }, eventDetail(entry, token)),
        el("div", { class: "small muted" }, t("order.block", { block: entry.block_number }), " · ", explorerLink(entry.tx_hash)),
      ),
    ),
  );
}

// -------------------------------------------------------------- actions

function gasless() {
  return $("gasless").checked && !$("gasless-label").classList.contains("hidden");
}

/** A relayed action: the backend prepares the EIP-712 message, the wallet signs, a node sends. */
async function relay(action, extra) {
  const signer = await getSigner(ctx.deployment);
  const prepared = await api("/relay/prepare", { method: "POST", body: { action, order_id: orderId, ...extra } });
  const { domain, message } = prepared.typed_data;
  // ethers derives the EIP712Domain type from the domain itself and refuses it in `types`.
  const types = { ...prepared.typed_data.types };
  delete types.EIP712Domain;
  const signature = await signer.signTypedData(domain, types, message);
  const submitted = await api("/relay/submit", {
    method: "POST",
    body: { action, order_id: orderId, ...extra, nonce: prepared.nonce, deadline: prepared.deadline, signature },
  });
  const provider = getProvider();
  return { hash: submitted.tx_hash, wait: () => provider.waitForTransaction(submitted.tx_hash, 1, 60000) };
}

async function evidenceHash() {
  const withCamera = await camera.disputeEvidence(); // keccak256(chat head ++ camera digest)
  if (withCamera) return withCamera;
  // The chat transcript's head commits to every message so far: the arbitrator can check it.
  try {
    const head = await api(`/orders/${orderId}/chat/head`);
    const value = head?.head ?? head?.hash ?? head?.head_hash;
    if (typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value) && !/^0x0{64}$/.test(value)) return value;
  } catch {
    // no transcript: fall back to a hash naming the order
  }
  return ethers.keccak256(ethers.toUtf8Bytes(`sentinel-otc:order:${orderId}:dispute`));
}

async function perform(action, { seconds } = {}) {
  if (state.busy) return;
  state.busy = true;
  renderActions();
  const labels = {
    mark_paid: "tx.mark_paid",
    release: "tx.release",
    cancel: "tx.cancel",
    cancel_expired: "tx.cancel_expired",
    extend_deadline: "tx.extend",
    open_dispute: "tx.dispute",
  };
  const viaRelay = gasless() && RELAYABLE.has(action);
  const label = t(labels[action], { id: orderId }) + (viaRelay ? ` · ${t("order.gasless")}` : "");
  const receipt = await txBox.run(label, async () => {
    const extra = action === "mark_paid" ? { payment_ref: paymentRef(orderId) } : {};
    if (viaRelay) return relay(action, extra);
    const escrow = escrowContract(ctx.deployment, await getSigner(ctx.deployment));
    switch (action) {
      case "mark_paid":
        return escrow.mark_paid(orderId, extra.payment_ref);
      case "release":
        return escrow.release(orderId);
      case "cancel":
        return escrow.cancel(orderId);
      case "cancel_expired":
        return escrow.cancel_expired(orderId);
      case "extend_deadline":
        return escrow.extend_deadline(orderId, seconds);
      case "open_dispute":
        return escrow.open_dispute(orderId, await evidenceHash());
      default:
        throw new Error(action);
    }
  });
  state.busy = false;
  if (receipt) state.panel = null;
  await refresh();
}

// ----------------------------------------------------------------- chat

const chat = { ws: null, messages: new Map(), retry: 0, head: null, denied: null };

function renderChatGate() {
  const gate = $("chat-gate");
  const you = role();
  const form = $("chat-form");
  if (!signedIn()) {
    form.classList.add("hidden");
    gate.replaceChildren(
      el("div", { class: "state" }, t("chat.sign_in"), el("button", { class: "btn btn-primary", type: "button", "data-testid": "chat-sign-in", onclick: () => requireSession().catch((err) => gate.append(errorBox(err))) }, t("wallet.sign_in"))),
    );
    return;
  }
  if (chat.denied || (state.order && you === "visitor")) {
    form.classList.add("hidden");
    gate.replaceChildren(el("div", { class: "state" }, chat.denied || t("chat.parties_only")));
    return;
  }
  gate.replaceChildren();
  form.classList.remove("hidden");
}

function messageTime(value) {
  if (typeof value === "number") return formatTime(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? "" : formatTime(Math.floor(parsed / 1000));
}

function renderChat() {
  const log = $("chat-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const messages = [...chat.messages.values()].sort((a, b) => a.seq - b.seq);
  if (messages.length === 0) log.replaceChildren(el("div", { class: "muted small", "data-testid": "chat-empty" }, t("chat.empty")));
  else {
    log.replaceChildren(
      ...messages.map((m) => {
        const mine = sameAddress(m.sender, wallet.address);
        const who = mine ? t("chat.you") : sameAddress(m.sender, state.order?.seller) ? t("order.seller") : sameAddress(m.sender, state.order?.buyer) ? t("order.buyer") : shortAddress(m.sender);
        return el(
          "div",
          { class: `msg ${mine ? "msg-mine" : ""}`, "data-testid": "chat-message", "data-seq": m.seq },
          el("div", { class: "msg-meta" }, who, " · ", messageTime(m.created_at)),
          el("div", { class: "msg-body" }, m.body),
        );
      }),
    );
  }
  if (atBottom || messages.length <= 1) log.scrollTop = log.scrollHeight;
  const head = chat.head || messages.at(-1)?.hash;
  $("chat-head").textContent = head ? t("chat.head", { hash: shortHash(head) }) : "";
}

function addMessages(list) {
  for (const m of list || []) if (m && m.seq !== undefined) chat.messages.set(m.seq, m);
  renderChat();
}

function setConn(key) {
  $("chat-conn").textContent = key ? t(key) : "";
  $("chat-conn").dataset.state = key || "";
}

async function pollChat() {
  if (!signedIn() || chat.denied) return;
  try {
    const data = await api(`/orders/${orderId}/chat`);
    addMessages(Array.isArray(data) ? data : data?.messages || data?.items);
    if (data?.head) chat.head = data.head;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
      chat.denied = err.message;
      renderChatGate();
    }
  }
}

function connectChat() {
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
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (data.type === "history") {
      if (data.head) chat.head = data.head;
      addMessages(data.messages);
    } else if (data.type === "message") {
      if (data.message?.hash) chat.head = data.message.hash;
      addMessages([data.message]);
    } else if (data.type === "error") {
      $("chat-error").textContent = data.detail || data.message || "";
    }
  });
  ws.addEventListener("close", (event) => {
    if (chat.ws !== ws) return; // an old socket, replaced after a new sign-in
    chat.ws = null;
    // 4401/4403 (or a policy close): not allowed here; anything else: try again, poll meanwhile.
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

async function sendChat(event) {
  event.preventDefault();
  const input = $("chat-input");
  const body = input.value.trim();
  $("chat-error").textContent = "";
  if (!body) return;
  if (chat.ws?.readyState === WebSocket.OPEN) {
    chat.ws.send(JSON.stringify({ body }));
    input.value = "";
    return;
  }
  try {
    const message = await api(`/orders/${orderId}/chat`, { method: "POST", body: { body } });
    input.value = "";
    addMessages([message?.message || message]);
  } catch (err) {
    $("chat-error").textContent = err.message;
  }
}

// -------------------------------------------------------- notifications

const notes = { ws: null, retry: 0 };

function connectNotifications() {
  if (!signedIn() || notes.ws) return;
  const ws = new WebSocket(wsUrl("/notifications/ws"));
  notes.ws = ws;
  ws.addEventListener("open", () => {
    notes.retry = 0;
  });
  ws.addEventListener("message", (event) => {
    try {
      const data = JSON.parse(event.data);
      if (Number(data.order_id) !== orderId) return;
      if (data.type === "chain_event") refresh();
      else if (data.type === "chat" && chat.ws?.readyState !== WebSocket.OPEN) pollChat();
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

function restartSockets() {
  const old = [chat.ws, notes.ws];
  chat.ws = null;
  notes.ws = null;
  for (const ws of old) ws?.close();
  chat.denied = null;
  chat.messages.clear();
  renderChat();
  renderChatGate();
  connectChat();
  connectNotifications();
}

// ----------------------------------------------------------------- main

async function main() {
  await boot("order");
  txBox = new TxBox($("order-tx"));
  $("gasless").checked = localStorage.getItem(GASLESS_KEY) === "1";
  $("gasless").addEventListener("change", (e) => localStorage.setItem(GASLESS_KEY, e.target.checked ? "1" : "0"));
  $("chat-form").addEventListener("submit", sendChat);
  window.addEventListener("sentinel:lang", () => {
    actionsKey = null;
    render();
    renderChat();
  });
  window.addEventListener("sentinel:session", restartSockets);
  onWalletChange(() => {
    render();
    renderChat();
  });
  await refresh();
  renderChat();
  connectChat();
  connectNotifications();
  setInterval(refresh, POLL_MS);
  setInterval(tickCountdown, 1000);
  // Without a chat socket (proxy, old backend), poll the transcript too.
  setInterval(() => {
    if (!chat.ws || chat.ws.readyState !== WebSocket.OPEN) pollChat();
  }, POLL_MS);
}

main();
