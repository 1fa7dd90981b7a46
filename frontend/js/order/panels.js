// The panels an action button opens under the buttons: a choice or a warning to confirm
// before the transaction. Each is built from the page's state; one more panel is one
// more entry in PANELS (and a button in actions.js that toggles it by name).

import { formatDuration, formatTime } from "../format.js";
import { t } from "../i18n.js";
import { rules } from "../protocol.js";
import { el } from "../ui.js";
import { byId, remaining, sellerDisputeFrom, state } from "./state.js";

const EXTENSIONS = [900, 1800, 3600, 7200]; // seconds the seller may add, at most to the contract's cap

/** @typedef {(action: string, options?: {seconds?: bigint}) => Promise<void>} Perform */

/** @type {Record<string, (perform: Perform) => HTMLElement[]>} */
const PANELS = {
  extend(perform) {
    // The contract caps the new deadline at its maximum payment window from now.
    const cap = rules()?.max_payment_window;
    const left = Math.max(0, remaining() ?? 0);
    const choices = EXTENSIONS.filter((s) => cap === undefined || left + s <= cap);
    const select = el(
      "select",
      { "data-testid": "extend-seconds", style: "width:auto" },
      choices.map((s) => el("option", { value: String(s) }, `+ ${formatDuration(s)}`)),
    );
    const confirm = () => perform("extend_deadline", { seconds: BigInt(/** @type {HTMLSelectElement} */ (select).value) });
    return [el("div", { class: "row" }, select, confirmButton("extend-confirm", "order.extend_confirm", confirm, "btn-primary", choices.length === 0))];
  },
  dispute(perform) {
    // The seller learns from when, and gets the button only then (the contract refuses earlier).
    const sellerFrom = sellerDisputeFrom();
    return [
      el("div", { class: "small" }, t("order.dispute_note")),
      sellerFrom !== null ? el("div", { class: "hint", "data-testid": "seller-dispute-from" }, t("order.seller_dispute_from", { time: formatTime(sellerFrom) })) : null,
      el("div", { class: "row" }, confirmButton("dispute-confirm", "order.dispute_confirm", () => perform("open_dispute"), "btn-danger", sellerFrom !== null)),
    ];
  },
};

function confirmButton(testid, key, onclick, kind, disabled = false) {
  return el("button", { class: `btn ${kind}`, type: "button", "data-testid": testid, disabled: state.busy || disabled, onclick }, t(key));
}

/** @param {Perform} perform */
export function renderPanel(perform) {
  const build = PANELS[state.panel];
  byId("action-panel").replaceChildren(...(build ? [el("div", { class: "buy-panel" }, build(perform))] : []));
}
