// My ads: the maker's ads on both sides with what is available (wanted) and locked, and
// the maker's actions on them: edit price / limits / window / methods, pause / resume, top
// up, withdraw, close. On a buy ad "top up" and "withdraw" raise and lower the amount
// wanted: the escrow holds no tokens for it, so nothing is approved, pulled or sent.

import { api } from "../api.js";
import { describeError, escrowContract, tokenContract, tokenInfo } from "../chain.js";
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
import { LIMITS, attachParsed } from "../numbers.js";
import { allowedWindows } from "../protocol.js";
import { mountPaymentDetails } from "../payment-details.js";
import { boot, ctx } from "../shell.js";
import { TxBox, el, errorBox, loadingState } from "../ui.js";
import { connectWallet, getSigner, onWalletChange, wallet } from "../wallet.js";

const WINDOWS = [900, 1800, 3600, 7200, 86400]; // the choices; the contract's bounds filter them
// closedHere: ads closed on this visit, shown (as closed) even with "show closed" off, so
// that the seller sees the outcome instead of the card vanishing under the pointer.
const state = {
  /** @type {import("../../../types/api").Schemas["AdWithStats"][]} */
  ads: [],
  loading: true,
  error: null,
  panel: {},
  busy: {},
  closedHere: new Set(),
};
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
      query: { maker: wallet.address, side: "any", include_inactive: true, sort: "newest", limit: 100 },
      auth: false,
    });
    state.ads = page.items;
  } catch (err) {
    state.error = err;
  }
  state.loading = false;
  render();
}

/** The ad as last loaded: panels built before a reload read the current numbers. */
function adById(id) {
  return state.ads.find((ad) => ad.id === id);
}

/** `ad` as last loaded, or as it was when its panel was built if it is gone from the list. */
function latest(ad) {
  return adById(ad.id) || ad;
}

function statusOf(ad) {
  if (ad.closed) return "closed";
  return ad.active ? "active" : "paused";
}

/**
 * Run one escrow call for ad `id` from its card; the list reloads once the indexer has it.
 * `before` (the approval a top-up may need) runs first, under the same busy state, and
 * stops the call by returning false.
 */
async function act(id, box, label, call, { before = undefined, onSuccess = undefined } = {}) {
  if (state.busy[id]) return null;
  state.busy[id] = true;
  renderActions(id);
  let receipt = null;
  try {
    if (!before || (await before())) {
      receipt = await box.run(label, async () => call(await escrowContract(ctx.deployment, await getSigner(ctx.deployment))));
    }
  } finally {
    state.busy[id] = false;
  }
  if (receipt) {
    state.panel[id] = null;
    onSuccess?.();
  }
  // Reload after a failure too: the chain may have moved under the page (an order locked
  // part of the ad meanwhile), and the numbers shown should explain the refusal. An open
  // panel keeps what was typed in it (adCard carries it over).
  await load();
  return receipt;
}

/** "= 1.02 USD per TUSD" under `input`, as the contract will get it (numbers.js). */
function parsedView(input, parse, show) {
  const output = el("output", { class: "parsed", "data-testid": `${input.dataset.testid}-parsed`, "aria-live": "polite" });
  attachParsed(input, output, parse, show);
  return output;
}

function editPanel(ad, token, box) {
  const error = el("div", { class: "field-error", role: "alert", "data-testid": "edit-error" });
  const price = el("input", { inputmode: "decimal", value: priceInput(ad.price, ad.fiat), "data-testid": "edit-price" });
  const min = el("input", { inputmode: "decimal", value: amountInput(ad.min_amount, token.decimals), "data-testid": "edit-min" });
  const max = el("input", { inputmode: "decimal", value: amountInput(ad.max_amount, token.decimals), "data-testid": "edit-max" });
  const windowSelect = el(
    "select",
    { "data-testid": "edit-window" },
    [...new Set([...allowedWindows(WINDOWS), ad.payment_window])].sort((a, b) => a - b).map((w) => el("option", { value: String(w), selected: w === ad.payment_window }, formatDuration(w))),
  );
  const methods = PAYMENT_METHODS.map((m) =>
    el("label", {}, el("input", { type: "checkbox", value: String(m.bit), checked: Boolean((BigInt(ad.payment_methods) >> BigInt(m.bit)) & 1n) }), t(m.key)),
  );
  const save = async () => {
    error.textContent = "";
    let values;
    try {
      const p = parsePrice(price.value, ad.fiat);
      const lo = parseAmount(min.value, token.decimals, { max: LIMITS.maxAmount });
      const hi = parseAmount(max.value, token.decimals, { max: LIMITS.maxAmount });
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
    const termsHash = latest(ad).terms_hash;
    await act(ad.id, box, t("tx.update_ad", { id: ad.id }), (escrow) => escrow.update_ad(ad.id, ...values, termsHash));
  };
  return el(
    "div",
    { class: "buy-panel", "data-testid": "edit-panel" },
    el(
      "div",
      { class: "form-grid" },
      el("label", { class: "field" }, el("span", {}, t("create.price_in", { fiat: ad.fiat })), price, parsedView(price, (text) => parsePrice(text, ad.fiat), (v) => t("numbers.per_token", { price: formatFiat(v, ad.fiat), symbol: token.symbol }))),
      el("label", { class: "field" }, el("span", {}, t("create.min")), min, parsedView(min, (text) => parseAmount(text, token.decimals, { max: LIMITS.maxAmount }), (v) => formatToken(v, token))),
      el("label", { class: "field" }, el("span", {}, t("create.max")), max, parsedView(max, (text) => parseAmount(text, token.decimals, { max: LIMITS.maxAmount }), (v) => formatToken(v, token))),
      el("label", { class: "field" }, el("span", {}, t("create.window")), windowSelect),
      el("div", { class: "checks wide" }, methods),
    ),
    error,
    el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "button", "data-testid": "save-ad", onclick: save }, t("action.save"))),
  );
}

/** The i18n key for `key` on `ad`'s side: a buy ad's own wording where it differs. */
function sideKey(ad, key) {
  return ad.side === "buy" ? key.replace(/^myads\./, "buyads.myads_") : key;
}

function amountPanel(ad, token, box, kind) {
  const buyAd = ad.side === "buy";
  const error = el("div", { class: "field-error", role: "alert", "data-testid": `${kind}-error` });
  const input = el("input", { inputmode: "decimal", "data-testid": `${kind}-amount`, "aria-label": t(sideKey(ad, `myads.${kind}_amount`), { symbol: token.symbol }) });
  const submit = async () => {
    // A message from an earlier try must not stand next to this one's outcome.
    error.textContent = "";
    const current = latest(ad);
    let amount;
    try {
      amount = parseAmount(input.value, token.decimals);
      if (amount === 0n) throw new Error(t("error.zero_amount"));
      // Say it in words before the wallet opens: only the unlocked part can come back.
      if (kind === "withdraw" && amount > BigInt(current.available)) {
        throw new Error(t(sideKey(ad, "myads.withdraw_above_available"), { amount: formatToken(current.available, token) }));
      }
      // The escrow keeps available + locked within its amount bound (a buy ad's wanted amount
      // is bounded by no token supply): refused here rather than by a revert.
      const room = LIMITS.amount - BigInt(current.available) - BigInt(current.locked);
      if (kind === "top_up" && amount > room) throw new Error(t("numbers.too_large", { max: formatToken(room, token) }));
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    if (kind === "withdraw") {
      await act(ad.id, box, t(buyAd ? "buyads.tx_lower" : "tx.withdraw", { id: ad.id }), (escrow) => escrow.withdraw(ad.id, amount));
      return;
    }
    // A buy ad wants more: the escrow pulls nothing, so there is nothing to approve.
    if (buyAd) {
      await act(ad.id, box, t("buyads.tx_raise", { id: ad.id }), (escrow) => escrow.top_up(ad.id, amount));
      return;
    }
    // Top up pulls tokens like create_ad does: approve first when the allowance is short.
    // Inside act() so that the card is busy from the approval on (no second click).
    const approveIfShort = async () => {
      const signer = await getSigner(ctx.deployment).catch((err) => {
        const { message, reason } = describeError(err);
        box.show("failed", t("tx.top_up", { id: ad.id }), { detail: message, reason });
        return null;
      });
      if (!signer) return false;
      const tokenWithSigner = await tokenContract(ctx.deployment, token.address, signer);
      const allowance = await tokenWithSigner.allowance(wallet.address, ctx.deployment.contracts.OtcEscrow);
      if (allowance >= amount) return true;
      const approved = await box.run(t("tx.approve", { symbol: token.symbol }), () =>
        tokenWithSigner.approve(ctx.deployment.contracts.OtcEscrow, amount),
      );
      return Boolean(approved);
    };
    await act(ad.id, box, t("tx.top_up", { id: ad.id }), (escrow) => escrow.top_up(ad.id, amount), { before: approveIfShort });
  };
  return el(
    "div",
    { class: "buy-panel", "data-testid": `${kind}-panel` },
    el("label", { class: "field" }, el("span", {}, t(sideKey(ad, `myads.${kind}_amount`), { symbol: token.symbol })), input, parsedView(input, (text) => parseAmount(text, token.decimals), (v) => formatToken(v, token))),
    kind === "withdraw"
      ? el("button", { class: "btn btn-small btn-ghost", type: "button", "data-testid": "withdraw-max", onclick: () => { input.value = amountInput(latest(ad).available, token.decimals); input.dispatchEvent(new Event("input")); } }, t(sideKey(ad, "myads.max")))
      : el("div", { class: "hint" }, t(sideKey(ad, "myads.top_up_hint"))),
    error,
    el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "button", "data-testid": `${kind}-submit`, onclick: submit }, t(sideKey(ad, `myads.${kind}`)))),
  );
}

function closePanel(ad, token, box) {
  return el(
    "div",
    { class: "buy-panel", "data-testid": "close-panel" },
    el("div", {}, t(sideKey(ad, "myads.close_confirm"), { amount: formatToken(ad.available, token) })),
    BigInt(ad.locked) > 0n ? el("div", { class: "hint" }, t(sideKey(ad, "myads.close_locked"), { amount: formatToken(ad.locked, token) })) : null,
    el(
      "div",
      { class: "row" },
      el("button", { class: "btn btn-danger", type: "button", "data-testid": "close-confirm", onclick: () => act(ad.id, box, t("tx.close_ad", { id: ad.id }), (escrow) => escrow.close_ad(ad.id), { onSuccess: () => state.closedHere.add(ad.id) }) }, t("myads.close_yes")),
      el("button", { class: "btn btn-ghost", type: "button", onclick: () => { state.panel[ad.id] = null; renderActions(ad.id); } }, t("action.cancel")),
    ),
  );
}

const cards = new Map(); // ad id -> {actions, panel, panelName, txArea, box}

function renderActions(id) {
  const card = cards.get(id);
  const ad = adById(id);
  if (!card || !ad) return;
  const token = tokenInfo(ctx.deployment, ad.token);
  const busy = Boolean(state.busy[ad.id]);
  const toggle = (name) => () => {
    state.panel[ad.id] = state.panel[ad.id] === name ? null : name;
    renderActions(ad.id);
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
            ? button("pause", "myads.pause", () => act(ad.id, card.box, t("tx.pause_ad", { id: ad.id }), (e) => e.pause_ad(ad.id)))
            : button("resume", "myads.resume", () => act(ad.id, card.box, t("tx.resume_ad", { id: ad.id }), (e) => e.resume_ad(ad.id))),
          button("top-up", sideKey(ad, "myads.top_up"), toggle("top_up")),
          button("withdraw", sideKey(ad, "myads.withdraw"), toggle("withdraw")),
          button("close", "myads.close", toggle("close"), "btn-danger"),
        ]),
  );
  // Rebuild the panel only when another one opens: rebuilding it for the busy state used
  // to wipe what the seller had typed (a refused withdrawal came back with an empty field).
  const panel = state.panel[ad.id] || null;
  if (panel !== card.panelName) {
    card.panelName = panel;
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
  // While a transaction runs, the panel's controls wait too.
  for (const control of card.panel.querySelectorAll("button, input, select")) control.disabled = busy;
}

function adCard(ad) {
  const token = tokenInfo(ctx.deployment, ad.token);
  const status = statusOf(ad);
  const actions = el("div", { class: "actions" });
  const panel = el("div");
  const txArea = el("div");
  const previous = cards.get(ad.id);
  // Keep the last transaction's outcome visible across the reload it triggers, and keep
  // the same TxBox pointed at the new area: a transaction still running on this card
  // (while another card's reload redraws the list) goes on showing its progress.
  if (previous) txArea.append(...previous.txArea.childNodes);
  const box = previous?.box || new TxBox(txArea);
  box.container = txArea;
  // An open amount or edit panel stays as it was, with what was typed in it; the close
  // panel states amounts, so it is drawn again from the new numbers.
  let panelName = null;
  if (previous?.panelName && previous.panelName === state.panel[ad.id] && previous.panelName !== "close") {
    panel.append(...previous.panel.childNodes);
    panelName = previous.panelName;
  }
  cards.set(ad.id, { actions, panel, panelName, txArea, box });
  const node = el(
    "article",
    { class: "card", "data-testid": "my-ad", "data-ad-id": ad.id, "data-status": status, "data-side": ad.side },
    el(
      "div",
      { class: "spread" },
      el("h2", {}, t(ad.side === "buy" ? "buyads.myads_title" : "myads.ad_title", { id: ad.id, symbol: token.symbol })),
      el(
        "span",
        { class: "row" },
        el("span", { class: `badge badge-side-${ad.side}`, "data-testid": "ad-side" }, t(`buyads.side_badge_${ad.side}`)),
        el("span", { class: `badge badge-${status}`, "data-testid": "ad-status" }, t(`adstatus.${status}`)),
      ),
    ),
    el(
      "dl",
      { class: "kv" },
      el("dt", {}, t("ad.price")), el("dd", { "data-testid": "my-ad-price" }, formatFiat(ad.price, ad.fiat)),
      el("dt", {}, t(ad.side === "buy" ? "buyads.wanted" : "ad.available")), el("dd", { "data-testid": "my-ad-available" }, formatToken(ad.available, token)),
      el("dt", {}, t("ad.locked")), el("dd", { "data-testid": "my-ad-locked" }, formatToken(ad.locked, token)),
      el("dt", {}, t("ad.limits")), el("dd", { "data-testid": "my-ad-limits" }, `${formatToken(ad.min_amount, token)} – ${formatToken(ad.max_amount, token)}`),
      el("dt", {}, t("ad.window")), el("dd", {}, formatDuration(ad.payment_window)),
      el("dt", {}, t("ad.methods")), el("dd", {}, methodNames(ad.payment_methods).join(", ")),
    ),
    actions,
    panel,
    txArea,
  );
  renderActions(ad.id);
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
  const showClosed = /** @type {HTMLInputElement} */ (document.getElementById("show-closed")).checked;
  const ads = state.ads.filter((ad) => showClosed || !ad.closed || state.closedHere.has(ad.id));
  if (ads.length === 0) {
    // "You have no ads yet" would be wrong for a seller whose ads are all closed.
    const closed = state.ads.filter((ad) => ad.closed).length;
    box.replaceChildren(
      el(
        "div",
        { class: "state state-empty", "data-testid": "empty" },
        closed ? t("myads.only_closed", { count: closed }) : t("myads.empty"),
        " ",
        el("a", { href: "create-ad.html" }, t("market.post_ad")),
      ),
    );
    return;
  }
  box.replaceChildren(...ads.map(adCard));
}

async function main() {
  await boot("my-ads");
  document.getElementById("show-closed").addEventListener("change", render);
  window.addEventListener("sentinel:lang", () => {
    // Open panels are drawn again in the new language (not carried over as they are).
    for (const card of cards.values()) card.panelName = null;
    render();
  });
  onWalletChange(() => {
    if (wallet.address !== loadedFor) {
      state.ads = [];
      load();
    } else render();
  });
  await load();
  await mountPaymentDetails(document.getElementById("payment-details"));
}

main();
