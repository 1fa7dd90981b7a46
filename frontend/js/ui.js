// Small DOM helpers, the loading / empty / error states, and the progress box every
// transaction shows: waiting for the wallet, pending (hash linked to the explorer),
// confirmed, indexed, or failed with the reason in words.

import { describeError, waitIndexed } from "./chain.js";
import { shortHash } from "./format.js";
import { t } from "./i18n.js";

/** el("button", {class: "btn", onclick}, "text", child, ...); strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function explorerLink(query, text) {
  return el("a", { href: `explorer.html?q=${encodeURIComponent(query)}`, class: "mono" }, text ?? shortHash(query));
}

export function loadingState(key = "state.loading") {
  return el("div", { class: "state state-loading", "data-testid": "loading", role: "status" }, el("span", { class: "spinner" }), t(key));
}

export function emptyState(key, vars) {
  return el("div", { class: "state state-empty", "data-testid": "empty" }, t(key, vars));
}

export function errorBox(err, { retry = undefined } = {}) {
  const { message, reason } = describeError(err);
  return el(
    "div",
    { class: "state state-error", "data-testid": "error", role: "alert" },
    el("strong", {}, message),
    reason ? el("code", { class: "reason" }, reason) : null,
    retry ? el("button", { class: "btn btn-small", type: "button", onclick: retry }, t("action.retry")) : null,
  );
}

/** The progress of one transaction at a time, rendered into `container`. */
export class TxBox {
  constructor(container) {
    this.container = container;
  }

  show(state, label, { hash = undefined, detail = undefined, reason = undefined } = {}) {
    const icon = { wallet: "spinner", pending: "spinner", confirmed: "spinner", done: "ok", failed: "bad" }[state];
    const text = {
      wallet: t("tx.confirm_in_wallet"),
      pending: t("tx.pending"),
      confirmed: t("tx.indexing"),
      done: t("tx.done"),
      failed: t("tx.failed"),
    }[state];
    this.container.replaceChildren(
      el(
        "div",
        { class: `tx tx-${state}`, "data-testid": "tx-status", "data-state": state, role: state === "failed" ? "alert" : "status" },
        el("span", { class: icon === "spinner" ? "spinner" : `tx-icon tx-icon-${icon}` }),
        el(
          "div",
          { class: "tx-body" },
          el("div", { class: "tx-title" }, el("strong", {}, label), " · ", text),
          detail ? el("div", { class: "tx-detail", "data-testid": "tx-error" }, detail) : null,
          reason ? el("code", { class: "reason", "data-testid": "tx-reason" }, reason) : null,
          hash
            ? el("div", { class: "tx-hash" }, t("tx.hash"), " ", el("a", { href: `explorer.html?q=${hash}`, class: "mono", "data-testid": "tx-hash", target: "_blank", rel: "noopener" }, shortHash(hash)))
            : null,
        ),
      ),
    );
  }

  clear() {
    this.container.replaceChildren();
  }

  /**
   * Run a transaction: `send()` returns an ethers TransactionResponse (or {hash, wait}).
   * Resolves with the receipt once the backend has indexed it; null on failure
   * (the box then shows why).
   */
  async run(label, send) {
    this.show("wallet", label);
    let hash;
    try {
      const tx = await send();
      hash = tx.hash;
      if (tx.via) label = `${label} · ${tx.via}`; // a relayed action names the node that sent it
      this.show("pending", label, { hash });
      const receipt = await tx.wait();
      if (!receipt || receipt.status !== 1) throw new Error(t("tx.reverted"));
      this.show("confirmed", label, { hash });
      await waitIndexed(receipt.blockNumber);
      this.show("done", label, { hash, detail: t("tx.in_block", { block: receipt.blockNumber }) });
      return receipt;
    } catch (err) {
      console.warn(label, err);
      const { message, reason } = describeError(err);
      this.show("failed", label, { hash, detail: message, reason });
      return null;
    }
  }
}
