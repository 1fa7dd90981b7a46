// What the order is and where it stands: the status badge, the summary, the countdown to
// the payment deadline and the timeline of its chain events.

import { tokenInfo } from "../chain.js";
import { formatCountdown, formatFiat, formatTime, formatToken, methodNames, shortAddress, shortHash } from "../format.js";
import { t } from "../i18n.js";
import { cancelReasonOf } from "../protocol.js";
import { ctx } from "../shell.js";
import { el, explorerLink } from "../ui.js";
import { byId, feeOf, remaining, role, state } from "./state.js";

export function renderHeading() {
  const order = state.order;
  byId("order-title").textContent = t("order.title", { id: order.id });
  document.title = `${t("order.title", { id: order.id })} · ${t("app.name")}`;
  byId("order-status").replaceChildren(
    el("span", { class: `badge badge-${order.status}`, "data-testid": "order-status", "data-status": order.status }, t(`status.${order.status}`)),
  );
}

export function renderSummary() {
  const order = state.order;
  const token = tokenInfo(ctx.deployment, order.token);
  const you = role();
  const party = (address, who) =>
    el("span", {}, explorerLink(address, shortAddress(address)), you === who ? el("span", { class: "badge", style: "margin-left:0.3rem" }, t("order.you")) : null);
  const rows = [
    ["order.amount", el("span", { "data-testid": "order-amount" }, formatToken(order.amount, token))],
    ["order.price", formatFiat(order.price, order.fiat)],
    ["order.total", el("strong", { "data-testid": "fiat-total" }, formatFiat(order.fiat_total_minor, order.fiat))],
    // The desk's fee, before the trade: what the buyer will get out of the amount.
    ...(["OPEN", "PAID", "DISPUTED"].includes(order.status) ? [["numbers.order_net", netOf(order, token)]] : []),
    // Who posted the ad: either way the buyer pays the seller and the seller releases.
    ["buyads.order_side", el("span", { "data-testid": "order-side", "data-side": order.side }, t(`buyads.order_side_${order.side}`))],
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
  byId("summary").replaceChildren(
    el("div", { class: "small muted", "data-testid": "order-role" }, t(`order.role_${you}`)),
    el("dl", { class: "kv" }, rows.map(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)])),
  );
}

function netOf(order, token) {
  const { fee, net, bps } = feeOf(order);
  const text = t("numbers.order_net_value", { net: formatToken(net, token), fee: formatToken(fee, token), rate: `${bps / 100}%` });
  return el("span", { "data-testid": "order-net" }, text);
}

export function renderDeadline() {
  const card = byId("deadline-card");
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
    el("div", { class: "small muted" }, t("order.deadline_at", { time: formatTime(state.order.deadline) })),
  );
}

/** @param {import("../../../types/api").Schemas["TimelineEntry"]} entry */
function eventDetail(entry, token) {
  const a = /** @type {Record<string, any>} */ (entry.args); // the event's own fields, as the contract names them
  switch (entry.event) {
    case "OrderOpened":
      return t("event.detail.opened", { amount: formatToken(a.amount ?? 0, token), deadline: formatTime(Number(a.deadline)) });
    case "OrderPaid":
      return t("event.detail.paid", { ref: shortHash(a.payment_ref) });
    case "OrderReleased":
      return t("event.detail.released", { amount: formatToken(BigInt(a.amount ?? 0) - BigInt(a.fee ?? 0), token), fee: formatToken(a.fee ?? 0, token) });
    case "OrderCancelled":
      return t(`cancel.${cancelReasonOf(a.reason)}`);
    case "DeadlineExtended":
      return t("event.detail.extended", { deadline: formatTime(Number(a.deadline)) });
    case "DisputeOpened":
      return t("event.detail.dispute", { by: shortAddress(a.by), hash: shortHash(a.evidence_hash) });
    case "DisputeResolved":
      return t("event.detail.resolved", { share: `${Number(a.buyer_bps) / 100}%` });
    case "ActionRelayed":
      return t("event.detail.relayed", { relayer: shortAddress(a.relayer) });
    case "PayoutCredited":
      return t("event.detail.credited", { amount: formatToken(a.amount ?? 0, token), account: shortAddress(a.account) });
    default:
      return "";
  }
}

export function renderTimeline() {
  const order = state.order;
  const token = tokenInfo(ctx.deployment, order.token);
  const items = order.timeline || [];
  if (items.length === 0) {
    byId("timeline").replaceChildren(el("li", { class: "muted" }, t("order.timeline_empty")));
    return;
  }
  byId("timeline").replaceChildren(
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
