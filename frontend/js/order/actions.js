// What the connected account may do with the order now, and doing it: the buttons and
// their note, the panels they open, and each action sent from the wallet or relayed.

import { api } from "../api.js";
import { escrowContract, paymentRef, tokenInfo } from "../chain.js";
import { confirmAction } from "../confirm.js";
import { loadEthers } from "../ethers-lazy.js";
import { formatFiat, formatToken, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { isEnded } from "../protocol.js";
import { ctx } from "../shell.js";
import { TxBox, el } from "../ui.js";
import { getSigner, wallet } from "../wallet.js";
import { renderPanel } from "./panels.js";
import { RELAYABLE, gasless, initGasless, relay, showGasless } from "./relay.js";
import { byId, expired, feeOf, orderId, refresh, role, sellerDisputeFrom, state } from "./state.js";

const TX_LABELS = {
  mark_paid: "tx.mark_paid",
  release: "tx.release",
  cancel: "tx.cancel",
  cancel_expired: "tx.cancel_expired",
  extend_deadline: "tx.extend",
  open_dispute: "tx.dispute",
};

// Money moves only on purpose: these ask first, saying what follows (confirm.js).
const CONFIRMED = new Set(["mark_paid", "release", "cancel"]);

let txBox;
let actionsKey = null;
/** @type {any} the order's camera monitoring (../order/camera.js), when the page has it */
let camera = null;

export function useCamera(instance) {
  camera = instance;
}

export function initActions() {
  txBox = new TxBox(byId("order-tx"));
  initGasless();
}

function button(name, key, onclick, kind = "") {
  return el("button", { class: `btn ${kind}`, type: "button", "data-testid": `action-${name}`, disabled: state.busy, onclick }, t(key));
}

/** The buttons and note for this account and status; `force` rebuilds them even unchanged. */
export function renderActions({ force = false } = {}) {
  const order = state.order;
  const you = role();
  const late = expired();
  // Polling re-renders often: rebuild the buttons (and an open panel's inputs) only on change.
  const key = [order.status, you, late, state.busy, state.panel, wallet.address, sellerDisputeFrom()].join("|");
  if (key === actionsKey && !force) return;
  actionsKey = key;
  const buttons = [];
  const total = formatFiat(order.fiat_total_minor, order.fiat);
  let note = wallet.address ? "" : t("order.connect_to_act");
  if (you === "buyer" && order.status === "OPEN") {
    if (!late) {
      note = t("order.buyer_pay_note", { total });
      buttons.push(button("mark-paid", "order.mark_paid", () => perform("mark_paid"), "btn-primary"));
    }
    buttons.push(button("cancel", "order.cancel", () => perform("cancel"), "btn-danger"));
  } else if (you === "buyer" && order.status === "PAID") {
    note = t("order.buyer_wait_note");
    buttons.push(button("cancel", "order.cancel", () => perform("cancel"), "btn-danger"));
    buttons.push(button("dispute", "order.dispute", () => togglePanel("dispute")));
  } else if (you === "seller" && order.status === "OPEN") {
    note = late ? "" : t("order.seller_wait_note");
    if (!late) buttons.push(button("extend", "order.extend", () => togglePanel("extend")));
    // Unpaid: releasing is possible but never the main action (the dialog warns more strongly).
    buttons.push(button("release", "order.release_early", () => perform("release"), "btn-ghost btn-small btn-secondary-action"));
  } else if (you === "seller" && order.status === "PAID") {
    note = t("order.seller_release_note", { total });
    buttons.push(button("release", "order.release", () => perform("release"), "btn-primary"));
    buttons.push(button("dispute", "order.dispute", () => togglePanel("dispute")));
  }
  if (order.status === "OPEN" && late && wallet.address) {
    note = t("order.expired_note");
    buttons.push(button("cancel-expired", "order.cancel_expired", () => perform("cancel_expired"), "btn-primary"));
  }
  if (isEnded(order.status)) note = t(`order.ended_${order.status}`);
  if (order.status === "DISPUTED") note = t("order.disputed_note");
  if (camera?.blocksActions() && buttons.length) [buttons.length, note] = [0, t("camera.required")];
  byId("actions-note").textContent = note;
  byId("actions").replaceChildren(...buttons);
  const party = you === "buyer" || you === "seller";
  showGasless(Boolean(ctx.deployment?.relayer) && party && (order.status === "OPEN" || order.status === "PAID"));
  renderPanel(perform);
}

/** Forget the rendered buttons (the language changed: same state, new words). */
export function resetActions() {
  actionsKey = null;
}

function togglePanel(name) {
  state.panel = state.panel === name ? null : name;
  renderActions();
}

async function evidenceHash() {
  const withCamera = await camera?.disputeEvidence(); // keccak256(chat head ++ camera digest)
  if (withCamera) return withCamera;
  // The chat transcript's head commits to every message so far: the arbitrator can check it.
  try {
    const { head } = await api("/orders/{order_id}/chat/head", { params: { order_id: orderId } });
    if (/^0x[0-9a-fA-F]{64}$/.test(head) && !/^0x0{64}$/.test(head)) return head;
  } catch {
    // no transcript: fall back to a hash naming the order
  }
  const ethers = await loadEthers();
  return ethers.keccak256(ethers.toUtf8Bytes(`sentinel-otc:order:${orderId}:dispute`));
}

/** Ask before `action` moves money or ends the order; true to go ahead. */
function confirmFor(action) {
  const order = state.order;
  const token = tokenInfo(ctx.deployment, order.token);
  const amount = formatToken(order.amount, token);
  const total = formatFiat(order.fiat_total_minor, order.fiat);
  if (action === "mark_paid") {
    return confirmAction({ title: t("confirm.paid_title", { total }), body: [t("confirm.paid_body", { total, amount })], ok: t("confirm.paid_ok") });
  }
  if (action === "cancel") {
    // On a buy ad's order the tokens are the seller's own: they go back to the seller's wallet.
    const prefix = order.side === "buy" ? "buyads.confirm_" : "confirm.";
    const body = t(order.status === "PAID" ? `${prefix}cancel_paid_body` : `${prefix}cancel_body`, { amount });
    return confirmAction({ title: t("confirm.cancel_title", { id: order.id }), body: [body], ok: t("confirm.cancel_ok"), danger: true });
  }
  const { fee, net } = feeOf(order);
  return confirmAction({
    title: t("confirm.release_title", { amount }),
    body: [
      t("confirm.release_statement", { total, buyer: shortAddress(order.buyer), amount }),
      t("confirm.release_net", { net: formatToken(net, token), fee: formatToken(fee, token) }),
    ],
    warning: order.status === "PAID" ? undefined : t("confirm.release_unpaid", { total }),
    tick: t("confirm.release_tick", { total }),
    ok: t("confirm.release_ok", { amount }),
    danger: order.status !== "PAID",
  });
}

/**
 * Send `action` (from the wallet, or relayed when gasless is on), then read the order again.
 * Releasing, marking paid and cancelling ask first unless `confirmed` (asked already).
 */
export async function perform(
  action,
  { seconds, paymentRef: ref, relayed, confirmed } = /** @type {{seconds?: bigint, paymentRef?: string, relayed?: boolean, confirmed?: boolean}} */ ({}),
) {
  if (state.busy) return;
  if (CONFIRMED.has(action) && !confirmed && !(await confirmFor(action))) return;
  if (state.busy) return; // something started while the dialog was open
  state.busy = true;
  renderActions();
  const viaRelay = (relayed || gasless()) && RELAYABLE.has(action);
  const label = t(TX_LABELS[action], { id: orderId }) + (viaRelay ? ` · ${t("order.gasless")}` : "");
  const receipt = await txBox.run(label, async () => {
    const extra = action === "mark_paid" ? { payment_ref: ref ?? (await paymentRef(orderId)) } : {};
    if (viaRelay) return relay(/** @type {"mark_paid" | "release" | "cancel"} */ (action), extra);
    const escrow = await escrowContract(ctx.deployment, await getSigner(ctx.deployment));
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
