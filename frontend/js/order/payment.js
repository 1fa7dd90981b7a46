// The order page's payment step. The buyer sees where to pay (the seller's details, the
// exact amount and the reference to write, each with a copy button), pays by bank and
// marks paid with a proof (its record hash is the payment_ref), or pays from the desk
// balance (a held transfer, then a gasless mark paid with the transfer's hash). The
// seller sees the money the desk holds for the order and the buyer's proof.
//
// order.js mounts it with hooks and calls render() whenever it renders.

import { api, ApiError, getSession } from "../api.js";
import { tokenInfo } from "../chain.js";
import { confirmAction } from "../confirm.js";
import { fiatDigits, formatFiat, formatTime, formatToken } from "../format.js";
import { t } from "../i18n.js";
import { ctx } from "../shell.js";
import { el, errorBox } from "../ui.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

export const DESK_BALANCE_BIT = 6n;

/**
 * hooks: { orderId, order(), ad(), role(), markPaid(paymentRef, { relayed, confirmed }) }
 * markPaid resolves once the page has refreshed after the transaction.
 */
export function mountPayment(hooks) {
  const card = document.getElementById("payment-card");
  const data = {
    key: null,
    /** @type {Schemas["OrderDetails"] | null} where the buyer pays */
    details: null,
    /** @type {Schemas["DeskPayment"] | null} the order's desk transfer, if any */
    desk: null,
    /** @type {Schemas["AccountPublic"] | null} the buyer's desk account in the order's fiat */
    balance: null,
    /** @type {Schemas["ProofPublic"][] | null} */
    proofs: null,
    error: null,
    busy: false,
    note: "",
  };

  function acceptsDesk() {
    const ad = hooks.ad();
    return Boolean(ad) && ((BigInt(ad.payment_methods) >> DESK_BALANCE_BIT) & 1n) === 1n;
  }

  async function load() {
    const order = hooks.order();
    const role = hooks.role();
    data.error = null;
    data.details = data.desk = data.balance = data.proofs = null;
    if (!getSession() || (role !== "buyer" && role !== "seller")) return;
    const jobs = [];
    if (role === "buyer" && ["OPEN", "PAID"].includes(order.status)) {
      jobs.push(
        api("/payments/orders/{order_id}/details", { params: { order_id: hooks.orderId } })
          .then((d) => (data.details = d))
          .catch((err) => (data.error = err)),
      );
    }
    if (acceptsDesk()) {
      jobs.push(api("/ledger/orders/{order_id}", { params: { order_id: hooks.orderId } }).then((d) => (data.desk = d)).catch(() => null));
      if (role === "buyer") {
        jobs.push(
          api("/ledger/accounts")
            .then((list) => (data.balance = list.find((a) => a.currency === order.fiat) || null))
            .catch(() => null),
        );
      }
    }
    jobs.push(api("/payments/orders/{order_id}/proofs", { params: { order_id: hooks.orderId } }).then((p) => (data.proofs = p)).catch(() => null));
    await Promise.all(jobs);
  }

  function copyButton(value, testid) {
    const button = el("button", { class: "btn btn-small", type: "button", "data-testid": testid, "data-copy": value }, t("payment.copy"));
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(value);
        button.textContent = t("payment.copied");
      } catch {
        button.textContent = t("payment.copy_failed");
      }
      setTimeout(() => (button.textContent = t("payment.copy")), 1500);
    });
    return button;
  }

  function row(labelKey, value, testid) {
    if (!value) return [];
    return [el("dt", {}, t(labelKey)), el("dd", {}, el("span", { class: "mono", "data-testid": testid }, value), copyButton(value, `copy-${testid}`))];
  }

  function detailsView() {
    const d = data.details;
    const order = hooks.order();
    const total = formatFiat(d.fiat_total_minor, d.fiat);
    return el(
      "div",
      { "data-testid": "payment-details" },
      el(
        "dl",
        { class: "pay-fields" },
        el("dt", {}, t("payment.amount")),
        el("dd", {}, el("strong", { "data-testid": "pay-amount" }, total), copyButton((Number(d.fiat_total_minor) / 10 ** fiatDigits(d.fiat)).toFixed(fiatDigits(d.fiat)), "copy-amount")),
        row("payment.reference", d.reference, "pay-reference"),
      ),
      d.methods.length === 0 ? el("p", { class: "small muted" }, t("payment.no_details")) : null,
      d.methods.map((m) =>
        el(
          "div",
          { class: "pay-method", "data-testid": "pay-method", "data-method": m.method },
          el("strong", {}, t(METHOD_KEYS[m.method] || "method.other")),
          el(
            "dl",
            { class: "pay-fields" },
            row("payment.field.bank_name", m.fields.bank_name, "pay-bank-name"),
            row("payment.field.holder", m.fields.holder, "pay-holder"),
            row("payment.field.account", m.fields.account, "pay-account"),
            row("payment.field.card_or_wallet", m.fields.card_or_wallet, "pay-wallet"),
            m.fields.note ? [el("dt", {}, t("payment.field.note")), el("dd", {}, m.fields.note)] : [],
          ),
        ),
      ),
      el("p", { class: "hint", "data-testid": "pay-committed", "data-committed": String(d.committed) }, t(d.committed ? "payment.committed" : order.side === "buy" ? "buyads.pay_details_buy_ad" : "payment.not_committed")),
      order.status === "OPEN" ? proofForm() : null,
    );
  }

  function proofForm() {
    const form = el(
      "form",
      { class: "row", "data-testid": "proof-form", autocomplete: "off" },
      el("label", { class: "field" }, el("span", {}, t("payment.bank_reference")), el("input", { name: "bank_reference", maxlength: "128", required: true, "data-testid": "proof-reference" })),
      el("label", { class: "field" }, el("span", {}, t("payment.proof_file")), el("input", { name: "file", type: "file", accept: "image/jpeg,image/png,image/webp,application/pdf", "data-testid": "proof-file" })),
      el("button", { class: "btn btn-primary", type: "submit", "data-testid": "proof-submit", disabled: data.busy }, t("payment.proof_submit")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      if (!form.file.files.length) body.delete("file");
      await act(async () => {
        const proof = await upload(body);
        data.note = t("payment.proof_saved");
        await hooks.markPaid(proof.record_hash, { relayed: false });
      });
    });
    return el("div", {}, el("h3", {}, t("payment.paid_by_bank")), el("p", { class: "small muted" }, t("payment.proof_note")), form);
  }

  /**
   * POST the proof (multipart: api() sends JSON only).
   * @param {FormData} body
   * @returns {Promise<Schemas["ProofPublic"]>}
   */
  async function upload(body) {
    const headers = { Accept: "application/json" };
    const session = getSession();
    if (session) headers.Authorization = `Bearer ${session.token}`;
    const res = await fetch(`/api/payments/orders/${hooks.orderId}/proof`, { method: "POST", body, headers, credentials: "same-origin" });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, json?.detail || `HTTP ${res.status}`);
    return json;
  }

  function deskView() {
    const order = hooks.order();
    const role = hooks.role();
    const desk = data.desk;
    const transfer = desk?.transfer;
    const parts = [];
    if (role === "seller") {
      if (transfer) {
        const key = { pending: "payment.desk_held", posted: "payment.desk_paid", voided: "payment.desk_returned", expired: "payment.desk_returned" }[transfer.status];
        parts.push(el("p", { class: "pay-held", "data-testid": "desk-held", "data-status": transfer.status }, t(key, { total: formatFiat(transfer.amount, order.fiat) })));
      } else {
        parts.push(el("p", { class: "small muted", "data-testid": "desk-none" }, t("payment.desk_none_yet")));
      }
      return parts;
    }
    // buyer
    if (transfer && transfer.status === "pending") {
      parts.push(el("p", { class: "pay-held", "data-testid": "desk-held", "data-status": "pending" }, t("payment.desk_you_hold", { total: formatFiat(transfer.amount, order.fiat) })));
      if (order.status === "OPEN") {
        parts.push(el("button", { class: "btn btn-primary", type: "button", "data-testid": "desk-mark-paid", disabled: data.busy, onclick: () => act(() => hooks.markPaid(desk.payment_ref, { relayed: true })) }, t("payment.desk_mark_paid")));
      }
    } else if (transfer) {
      parts.push(el("p", { class: "small", "data-testid": "desk-held", "data-status": transfer.status }, t(`payment.desk_buyer_${transfer.status}`, { total: formatFiat(transfer.amount, order.fiat) })));
    }
    if (!transfer && order.status === "OPEN") {
      const available = data.balance ? formatFiat(data.balance.available, order.fiat) : formatFiat(0, order.fiat);
      parts.push(
        el("p", { class: "small" }, t("payment.desk_available", { available }), " ", el("a", { href: "account.html" }, t("payment.desk_top_up"))),
        el("button", { class: "btn btn-primary", type: "button", "data-testid": "pay-desk", disabled: data.busy, onclick: payFromDesk }, t("payment.desk_pay", { total: formatFiat(order.fiat_total_minor, order.fiat) })),
      );
    }
    return parts;
  }

  async function payFromDesk() {
    const order = hooks.order();
    const total = formatFiat(order.fiat_total_minor, order.fiat);
    const amount = formatToken(order.amount, tokenInfo(ctx.deployment, order.token));
    // One question for both steps: the desk holds the money, then the order is marked paid.
    const ok = await confirmAction({ title: t("confirm.desk_title", { total }), body: [t("confirm.desk_body", { total, amount })], ok: t("confirm.desk_ok", { total }) });
    if (!ok) return;
    await act(async () => {
      const paid = await api("/ledger/orders/{order_id}/pay", { method: "POST", params: { order_id: hooks.orderId } });
      data.desk = paid;
      data.note = t("payment.desk_paid_note");
      paint();
      // Gasless: the relayer sends mark_paid with the held transfer's hash.
      await hooks.markPaid(paid.payment_ref, { relayed: true, confirmed: true });
    });
  }

  function proofsView() {
    const list = data.proofs || [];
    if (!list.length) return [];
    return [
      el("h3", {}, t("payment.proofs")),
      list.map((p) =>
        el(
          "div",
          { class: "pay-method", "data-testid": "proof", "data-matches": String(p.is_payment_ref) },
          el("div", {}, t("payment.bank_reference"), ": ", el("strong", { "data-testid": "proof-bank-reference" }, p.record.bank_reference)),
          el("div", { class: "small muted" }, formatTime(p.created_at), " · ", t(p.is_payment_ref ? "payment.proof_matches" : "payment.proof_not_ref")),
          p.mime ? el("button", { class: "btn btn-small", type: "button", "data-testid": "proof-open", onclick: () => openFile(p.id) }, t("payment.proof_open")) : null,
        ),
      ),
    ];
  }

  async function openFile(proofId) {
    const session = getSession();
    const res = await fetch(`/api/payments/orders/${hooks.orderId}/proofs/${proofId}/file`, { headers: session ? { Authorization: `Bearer ${session.token}` } : {} });
    if (!res.ok) return;
    window.open(URL.createObjectURL(await res.blob()), "_blank", "noopener");
  }

  async function act(fn) {
    if (data.busy) return;
    data.busy = true;
    data.error = null;
    paint();
    try {
      await fn();
    } catch (err) {
      data.error = err;
    }
    data.busy = false;
    data.key = null; // reload what the step shows
    await render();
  }

  function paint() {
    const order = hooks.order();
    const role = hooks.role();
    const parts = [];
    if (role === "buyer" && data.details) parts.push(detailsView());
    if (acceptsDesk() && (role === "buyer" || role === "seller")) parts.push(el("div", { "data-testid": "desk-box" }, el("h3", {}, t("method.desk")), deskView()));
    parts.push(...proofsView());
    if (data.note) parts.push(el("p", { class: "small", role: "status" }, data.note));
    if (data.error) parts.push(errorBox(data.error));
    card.classList.toggle("hidden", parts.length === 0 || !order);
    card.replaceChildren(el("h2", {}, t(role === "seller" ? "payment.title_seller" : "payment.title")), ...parts.flat(Infinity).filter(Boolean));
  }

  async function render() {
    const order = hooks.order();
    if (!order) return;
    const key = [order.status, hooks.role(), Boolean(getSession()), hooks.ad()?.id].join("|");
    if (key !== data.key && !data.busy) {
      data.key = key;
      await load();
    }
    paint();
  }

  return { render };
}

const METHOD_KEYS = { 0: "method.bank", 1: "method.alipay", 2: "method.wechat", 3: "method.card", 4: "method.cash", 5: "method.other", 6: "method.desk" };
