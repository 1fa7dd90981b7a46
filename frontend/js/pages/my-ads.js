// My ads: the seller's ads with what is available and locked, and the seller's
// actions on them: edit price / limits / window / methods, pause / resume, top up,
// withdraw, close.

import { api } from "../api.js";
import { escrowContract, tokenContract, tokenInfo } from "../chain.js";
import {
  PAYMENT_METHODS,
  amountInput,
  formatDuration,
  formatFiat,
  formatToken,
  methodNames,
  parseAmount,
  parsePrice,
  priceInput,
} from "../format.js";
import { t } from "../i18n.js";
import { boot, ctx } from "../shell.js";
import { TxBox, el, emptyState, errorBox, loadingState } from "../ui.js";
import { connectWallet, getSigner, onWalletChange, wallet } from "../wallet.js";

const WINDOWS = [900, 1800, 3600, 7200, 86400];
const state = { ads: [], loading: true, error: null, panel: {}, busy: {} };
let loadedFor = null;

async function load() {
  if (!wallet.address) {
    render();
    return;
  }
  loadedFor = wallet.address;
  state.loading = state.ads.length === 0;
  state.error = null;
  render();
  try {
    const page = await api("/ads", {
      query: { seller: wallet.address, include_inactive: "true", sort: "newest", limit: 100 },
      auth: false,
    });
    state.ads = page.items;
  } catch (err) {
    state.error = err;
  }
  state.loading = false;
  render();
}

function statusOf(ad) {
  if (ad.closed) return "closed";
  return ad.active ? "active" : "paused";
}

/** Run one escrow call for `ad` from its card; the list reloads once the indexer has it. */
async function act(ad, box, label, call) {
  state.busy[ad.id] = true;
  renderActions(ad);
  const receipt = await box.run(label, async () => call(escrowContract(ctx.deployment, await getSigner(ctx.deployment))));
  state.busy[ad.id] = false;
  if (receipt) {
    state.panel[ad.id] = null;
    await load();
  } else renderActions(ad);
  return receipt;
}

function editPanel(ad, token, box) {
  const error = el("div", { class: "field-error", role: "alert" });
  const price = el("input", { inputmode: "decimal", value: priceInput(ad.price, ad.fiat), "data-testid": "edit-price" });
  const min = el("input", { inputmode: "decimal", value: amountInput(ad.min_amount, token.decimals), "data-testid": "edit-min" });
  const max = el("input", { inputmode: "decimal", value: amountInput(ad.max_amount, token.decimals), "data-testid": "edit-max" });
  const windowSelect = el(
    "select",
    { "data-testid": "edit-window" },
    [...new Set([...WINDOWS, ad.payment_window])].sort((a, b) => a - b).map((w) => el("option", { value: String(w), selected: w === ad.payment_window }, formatDuration(w))),
  );
  const methods = PAYMENT_METHODS.map((m) =>
    el("label", {}, el("input", { type: "checkbox", value: String(m.bit), checked: Boolean((BigInt(ad.payment_methods) >> BigInt(m.bit)) & 1n) }), t(m.key)),
  );
  const save = async () => {
    let values;
    try {
      const p = parsePrice(price.value, ad.fiat);
      const lo = parseAmount(min.value, token.decimals);
      const hi = parseAmount(max.value, token.decimals);
      if (p === 0n) throw new Error(t("error.zero_price"));
      if (lo === 0n) throw new Error(t("error.zero_min"));
      if (lo > hi) throw new Error(t("error.min_above_max"));
      let mask = 0n;
      for (const label of methods) if (label.firstChild.checked) mask |= 1n << BigInt(label.firstChild.value);
      if (mask === 0n) throw new Error(t("error.no_method"));
      values = [p, lo, hi, BigInt(windowSelect.value), mask];
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    // The terms text is not on chain, only its hash: the ad keeps the one it has.
    await act(ad, box, t("tx.update_ad", { id: ad.id }), (escrow) => escrow.update_ad(ad.id, ...values, ad.terms_hash));
  };
  return el(
    "div",
    { class: "buy-panel", "data-testid": "edit-panel" },
    el(
      "div",
      { class: "form-grid" },
      el("label", { class: "field" }, el("span", {}, t("create.price_in", { fiat: ad.fiat })), price),
      el("label", { class: "field" }, el("span", {}, t("create.min")), min),
      el("label", { class: "field" }, el("span", {}, t("create.max")), max),
      el("label", { class: "field" }, el("span", {}, t("create.window")), windowSelect),
      el("div", { class: "checks wide" }, methods),
    ),
    error,
    el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "button", "data-testid": "save-ad", onclick: save }, t("action.save"))),
  );
}

function amountPanel(ad, token, box, kind) {
  const error = el("div", { class: "field-error", role: "alert" });
  const input = el("input", { inputmode: "decimal", "data-testid": `${kind}-amount`, "aria-label": t(`myads.${kind}_amount`, { symbol: token.symbol }) });
  const submit = async () => {
    let amount;
    try {
      amount = parseAmount(input.value, token.decimals);
      if (amount === 0n) throw new Error(t("error.zero_amount"));
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    if (kind === "withdraw") {
      await act(ad, box, t("tx.withdraw", { id: ad.id }), (escrow) => escrow.withdraw(ad.id, amount));
      return;
    }
    // Top up pulls tokens like create_ad does: approve first when the allowance is short.
    const signer = await getSigner(ctx.deployment).catch((err) => {
      box.show("failed", t("tx.top_up", { id: ad.id }), { detail: err.message });
      return null;
    });
    if (!signer) return;
    const tokenWithSigner = tokenContract(ctx.deployment, token.address, signer);
    const allowance = await tokenWithSigner.allowance(wallet.address, ctx.deployment.contracts.OtcEscrow);
    if (allowance < amount) {
      const approved = await box.run(t("tx.approve", { symbol: token.symbol }), () =>
        tokenWithSigner.approve(ctx.deployment.contracts.OtcEscrow, amount),
      );
      if (!approved) return;
    }
    await act(ad, box, t("tx.top_up", { id: ad.id }), (escrow) => escrow.top_up(ad.id, amount));
  };
  return el(
    "div",
    { class: "buy-panel", "data-testid": `${kind}-panel` },
    el("label", { class: "field" }, el("span", {}, t(`myads.${kind}_amount`, { symbol: token.symbol })), input),
    kind === "withdraw"
      ? el("button", { class: "btn btn-small btn-ghost", type: "button", onclick: () => { input.value = amountInput(ad.available, token.decimals); } }, t("myads.max"))
      : el("div", { class: "hint" }, t("myads.top_up_hint")),
    error,
    el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "button", "data-testid": `${kind}-submit`, onclick: submit }, t(`myads.${kind}`))),
  );
}

function closePanel(ad, token, box) {
  return el(
    "div",
    { class: "buy-panel", "data-testid": "close-panel" },
    el("div", {}, t("myads.close_confirm", { amount: formatToken(ad.available, token) })),
    BigInt(ad.locked) > 0n ? el("div", { class: "hint" }, t("myads.close_locked", { amount: formatToken(ad.locked, token) })) : null,
    el(
      "div",
      { class: "row" },
      el("button", { class: "btn btn-danger", type: "button", "data-testid": "close-confirm", onclick: () => act(ad, box, t("tx.close_ad", { id: ad.id }), (escrow) => escrow.close_ad(ad.id)) }, t("myads.close_yes")),
      el("button", { class: "btn btn-ghost", type: "button", onclick: () => { state.panel[ad.id] = null; renderActions(ad); } }, t("action.cancel")),
    ),
  );
}

const cards = new Map(); // ad id -> {actions, panel, box}

function renderActions(ad) {
  const card = cards.get(ad.id);
  if (!card) return;
  const token = tokenInfo(ctx.deployment, ad.token);
  const busy = Boolean(state.busy[ad.id]);
  const toggle = (name) => () => {
    state.panel[ad.id] = state.panel[ad.id] === name ? null : name;
    renderActions(ad);
  };
  const button = (name, key, onclick, extra = "") =>
    el("button", { class: `btn btn-small ${extra}`, type: "button", "data-testid": name, disabled: busy, onclick }, t(key));
  const status = statusOf(ad);
  card.actions.replaceChildren(
    ...(status === "closed"
      ? []
      : [
          button("edit", "myads.edit", toggle("edit")),
          status === "active"
            ? button("pause", "myads.pause", () => act(ad, card.box, t("tx.pause_ad", { id: ad.id }), (e) => e.pause_ad(ad.id)))
            : button("resume", "myads.resume", () => act(ad, card.box, t("tx.resume_ad", { id: ad.id }), (e) => e.resume_ad(ad.id))),
          button("top-up", "myads.top_up", toggle("top_up")),
          button("withdraw", "myads.withdraw", toggle("withdraw")),
          button("close", "myads.close", toggle("close"), "btn-danger"),
        ]),
  );
  const panel = state.panel[ad.id];
  card.panel.replaceChildren(
    ...(panel === "edit"
      ? [editPanel(ad, token, card.box)]
      : panel === "top_up"
        ? [amountPanel(ad, token, card.box, "top_up")]
        : panel === "withdraw"
          ? [amountPanel(ad, token, card.box, "withdraw")]
          : panel === "close"
            ? [closePanel(ad, token, card.box)]
            : []),
  );
}

function adCard(ad) {
  const token = tokenInfo(ctx.deployment, ad.token);
  const status = statusOf(ad);
  const actions = el("div", { class: "actions" });
  const panel = el("div");
  const txArea = el("div");
  const previous = cards.get(ad.id);
  // Keep the last transaction's outcome visible across the reload it triggers.
  if (previous) txArea.append(...previous.txArea.childNodes);
  cards.set(ad.id, { actions, panel, txArea, box: new TxBox(txArea) });
  const node = el(
    "article",
    { class: "card", "data-testid": "my-ad", "data-ad-id": ad.id, "data-status": status },
    el(
      "div",
      { class: "spread" },
      el("h2", {}, t("myads.ad_title", { id: ad.id, symbol: token.symbol })),
      el("span", { class: `badge badge-${status}`, "data-testid": "ad-status" }, t(`adstatus.${status}`)),
    ),
    el(
      "dl",
      { class: "kv" },
      el("dt", {}, t("ad.price")), el("dd", { "data-testid": "my-ad-price" }, formatFiat(ad.price, ad.fiat)),
      el("dt", {}, t("ad.available")), el("dd", { "data-testid": "my-ad-available" }, formatToken(ad.available, token)),
      el("dt", {}, t("ad.locked")), el("dd", {}, formatToken(ad.locked, token)),
      el("dt", {}, t("ad.limits")), el("dd", { "data-testid": "my-ad-limits" }, `${formatToken(ad.min_amount, token)} – ${formatToken(ad.max_amount, token)}`),
      el("dt", {}, t("ad.window")), el("dd", {}, formatDuration(ad.payment_window)),
      el("dt", {}, t("ad.methods")), el("dd", {}, methodNames(ad.payment_methods).join(", ")),
    ),
    actions,
    panel,
    txArea,
  );
  renderActions(ad);
  return node;
}

function render() {
  const box = document.getElementById("ads");
  if (!wallet.address) {
    box.replaceChildren(
      el(
        "div",
        { class: "state" },
        t("myads.connect"),
        el("button", { class: "btn btn-primary", type: "button", onclick: () => connectWallet().catch((err) => box.append(errorBox(err))) }, t("wallet.connect")),
      ),
    );
    return;
  }
  if (state.loading) {
    box.replaceChildren(loadingState());
    return;
  }
  if (state.error) {
    box.replaceChildren(errorBox(state.error, { retry: load }));
    return;
  }
  const showClosed = document.getElementById("show-closed").checked;
  const ads = state.ads.filter((ad) => showClosed || !ad.closed);
  if (ads.length === 0) {
    box.replaceChildren(
      el("div", { class: "state state-empty", "data-testid": "empty" }, t("myads.empty"), " ", el("a", { href: "create-ad.html" }, t("market.post_ad"))),
    );
    return;
  }
  box.replaceChildren(...ads.map(adCard));
}

async function main() {
  await boot("my-ads");
  document.getElementById("show-closed").addEventListener("change", render);
  window.addEventListener("sentinel:lang", render);
  onWalletChange(() => {
    if (wallet.address !== loadedFor) {
      state.ads = [];
      load();
    } else render();
  });
  await load();
}

main();
