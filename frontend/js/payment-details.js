// A seller's payment details, managed on "My ads": where buyers pay for each method.
// Sealed at rest by the backend; a new ad's terms hash commits to the current ones.

import { api } from "./api.js";
import { PAYMENT_METHODS, shortHash } from "./format.js";
import { t } from "./i18n.js";
import { requireSession } from "./shell.js";
import { el, errorBox } from "./ui.js";
import { signedIn } from "./wallet.js";

/** @typedef {import("../../types/api").Schemas} Schemas */

/** @type {(keyof Schemas["DetailFields"])[]} */
const FIELDS = ["bank_name", "holder", "account", "card_or_wallet", "note"];
const DESK_BIT = 6;

export function mountPaymentDetails(box) {
  const state = {
    /** @type {Schemas["DetailPublic"][]} */
    items: [],
    error: null,
  };

  async function load() {
    if (!signedIn()) {
      box.replaceChildren(
        el("p", { class: "small muted" }, t("payment.details_sign_in"), " "),
        el("button", { class: "btn btn-small", type: "button", "data-testid": "details-sign-in", onclick: () => requireSession().then(load).catch((err) => box.append(errorBox(err))) }, t("wallet.sign_in")),
      );
      return;
    }
    try {
      state.items = await api("/payments/details");
      state.error = null;
    } catch (err) {
      state.error = err;
    }
    render();
  }

  function item(d) {
    const method = PAYMENT_METHODS.find((m) => m.bit === d.method);
    return el(
      "div",
      { class: "pay-method", "data-testid": "detail-row", "data-method": d.method },
      el("div", { class: "spread" }, el("strong", {}, t(method?.key || "method.other"), d.label ? ` · ${d.label}` : ""), el("button", { class: "btn btn-small btn-danger", type: "button", "data-testid": "detail-retire", onclick: () => retire(d.id) }, t("payment.retire"))),
      el("div", { class: "small" }, [d.fields.bank_name, d.fields.holder, d.fields.account, d.fields.card_or_wallet].filter(Boolean).join(" · ")),
      el("div", { class: "hint mono" }, t("payment.commitment"), " ", shortHash(d.commitment)),
    );
  }

  function form() {
    const f = el(
      "form",
      { class: "form-grid", "data-testid": "detail-form", autocomplete: "off" },
      el("label", { class: "field" }, el("span", {}, t("payment.method")), el("select", { name: "method", "data-testid": "detail-method" }, PAYMENT_METHODS.filter((m) => m.bit !== DESK_BIT).map((m) => el("option", { value: String(m.bit) }, t(m.key))))),
      el("label", { class: "field" }, el("span", {}, t("payment.label")), el("input", { name: "label", maxlength: "64", "data-testid": "detail-label" })),
      FIELDS.map((name) => el("label", { class: "field" }, el("span", {}, t(`payment.field.${name}`)), el("input", { name, maxlength: name === "note" ? "500" : "128", "data-testid": `detail-${name}` }))),
      el("div", {}, el("button", { class: "btn btn-primary", type: "submit", "data-testid": "detail-save" }, t("payment.save"))),
    );
    f.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(f);
      const fields = /** @type {Schemas["DetailFields"]} */ (Object.fromEntries(FIELDS.map((name) => [name, String(data.get(name) || "").trim()])));
      try {
        await api("/payments/details", { method: "POST", body: { method: Number(data.get("method")), label: String(data.get("label") || ""), fields } });
        await load();
      } catch (err) {
        state.error = err;
        render();
      }
    });
    return f;
  }

  async function retire(id) {
    try {
      await api("/payments/details/{detail_id}", { method: "DELETE", params: { detail_id: id } });
    } catch (err) {
      state.error = err;
    }
    await load();
  }

  function render() {
    const parts = [
      el("p", { class: "small muted" }, t("payment.details_note")),
      state.items.length ? state.items.map(item) : el("p", { class: "small muted", "data-testid": "details-empty" }, t("payment.details_empty")),
      state.error ? errorBox(state.error) : null,
      form(),
    ];
    box.replaceChildren(...parts.flat().filter(Boolean));
  }

  window.addEventListener("sentinel:session", load);
  window.addEventListener("sentinel:lang", render);
  return load();
}
