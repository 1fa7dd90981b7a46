// Market: both books with filters and sort, each ad with its maker's record. The "Buy"
// tab lists sell ads ("Buy" opens an order for the amount entered, guarded at the price
// shown); the "Sell" tab lists buy ads, highest price first ("Sell" locks the seller's
// tokens in an order on the ad, guarded at the price shown: open_sell_order).

import { api } from "../api.js";
import { describeError, escrowContract, findEvent, tokenContract, tokenInfo } from "../chain.js";
import { confirmAction } from "../confirm.js";
import {
  PAYMENT_METHODS,
  fiatTotal,
  formatDuration,
  formatFiat,
  formatPercent,
  formatToken,
  methodNames,
  parseAmount,
  parsePrice,
  sameAddress,
  shortAddress,
} from "../format.js";
import { currentLang, hasKey, t } from "../i18n.js";
import { attachParsed } from "../numbers.js";
import { rules } from "../protocol.js";
import { frozenBlock } from "../freeze-gate.js";
import { kycBlock } from "../kyc-gate.js";
import { boot, ctx } from "../shell.js";
import { feedbackCounts } from "../reputation.js";
import { TxBox, el, emptyState, errorBox, loadingState } from "../ui.js";
import { getSigner, onWalletChange, wallet } from "../wallet.js";

const PAGE_SIZE = 20;
const state = {
  /** @type {import("../../../types/api").Schemas["AdWithStats"][]} */
  items: [],
  total: 0,
  loading: true,
  error: null,
  filterError: null,
  openAd: null, // id of the ad whose buy (or sell) panel is open
  buyAmount: "",
  /** @type {"sell" | "buy"} the book shown: sell ads (the "Buy" tab) or buy ads (the "Sell" tab) */
  side: new URLSearchParams(location.search).get("side") === "buy" ? "buy" : "sell",
};
// Each book's natural order: a buyer wants the cheapest sell ad, a seller the best-paying buy ad.
const DEFAULT_SORT = { sell: "price", buy: "-price" };
let requestSeq = 0;
let loadedKey = null;
const DEFAULT_QUERY = { sort: /** @type {"price"} */ ("price") };
// The first page of ads under the default filters is asked for as this module starts,
// beside boot()'s fetches instead of after them (a link with filters waits for boot: its
// amounts need the deployment's token decimals).
let earlyPage = location.search ? null : api("/ads", { query: { ...DEFAULT_QUERY, limit: PAGE_SIZE, offset: 0 }, auth: false });
earlyPage?.catch(() => {}); // load() reports a failure, once it awaits the answer

/** @type {() => any} the filter form (tsc checks API fields here, not DOM element kinds) */
const form = () => document.getElementById("filters");

function fillFilterOptions() {
  const tokenSelect = form().elements.token;
  const selectedToken = tokenSelect.value;
  tokenSelect.replaceChildren(
    el("option", { value: "" }, t("filter.all_tokens")),
    (ctx.deployment?.tokens || []).map((tk) => el("option", { value: tk.address, selected: tk.address === selectedToken }, tk.symbol)),
  );
  const methodSelect = form().elements.payment_method;
  const selectedMethod = methodSelect.value;
  methodSelect.replaceChildren(
    el("option", { value: "" }, t("filter.all_methods")),
    PAYMENT_METHODS.map((m) => el("option", { value: String(1 << m.bit), selected: String(1 << m.bit) === selectedMethod }, t(m.key))),
  );
}

function readFilters() {
  const data = new FormData(form());
  /** @type {import("../../../types/api").QueryOf<"/ads">} */
  const query = { sort: /** @type {any} */ (data.get("sort")) || DEFAULT_SORT[state.side] };
  // The sell book is the API's default: its query (and the early first page) stays as it was.
  if (state.side === "buy") query.side = "buy";
  const token = data.get("token");
  if (token) query.token = String(token);
  const fiat = String(data.get("fiat") || "").trim().toUpperCase();
  if (fiat) {
    if (!/^[A-Z]{3}$/.test(fiat)) throw new Error(t("error.bad_fiat"));
    query.fiat = fiat;
  }
  for (const name of ["min_price", "max_price"]) {
    const text = String(data.get(name) || "").trim();
    if (text) query[name] = parsePrice(text, fiat || "USD").toString();
  }
  const amount = String(data.get("amount") || "").trim();
  if (amount) {
    const tokens = ctx.deployment?.tokens || [];
    const token = query.token ? tokenInfo(ctx.deployment, query.token) : tokens.length === 1 ? tokens[0] : null;
    if (!token) throw new Error(t("error.choose_token_first"));
    query.amount = parseAmount(amount, token.decimals).toString();
  }
  const method = data.get("payment_method");
  if (method) query.payment_method = Number(method);
  return query;
}

async function load({ append = false, force = false } = {}) {
  let query;
  try {
    query = readFilters();
    state.filterError = null;
  } catch (err) {
    state.filterError = err.message;
    render();
    return;
  }
  const key = JSON.stringify(query);
  // `change` fires again on blur: the same filters need no reload (which would also
  // swap the list under a click that is on its way).
  if (!append && !force && key === loadedKey && !state.error) return;
  loadedKey = key;
  const seq = ++requestSeq;
  if (!append) {
    // With ads on screen, keep them (dimmed) while the new ones load.
    state.loading = state.items.length === 0;
    state.error = null;
    document.getElementById("ads").setAttribute("aria-busy", "true");
    render();
  }
  const early = !append && key === JSON.stringify(DEFAULT_QUERY) ? earlyPage : null;
  earlyPage = null;
  try {
    const page = await (early ?? api("/ads", { query: { ...query, limit: PAGE_SIZE, offset: append ? state.items.length : 0 }, auth: false }));
    if (seq !== requestSeq) return; // a newer filter won
    state.items = append ? [...state.items, ...page.items] : page.items;
    document.getElementById("ads").dataset.query = key;
    state.total = page.total;
    state.error = null;
  } catch (err) {
    if (seq !== requestSeq) return;
    state.error = err;
  }
  state.loading = false;
  document.getElementById("ads").removeAttribute("aria-busy");
  render();
}

function sellerLine(ad) {
  const stats = ad.maker_stats || {};
  const buyAd = ad.side === "buy";
  const parts = [];
  if (!stats.completed_trades && !stats.ended_trades) parts.push(t(buyAd ? "buyads.new_buyer" : "seller.new"));
  else {
    // "1 trade", "2 trades": the language's plural rules pick the key (Chinese has one form).
    const form = new Intl.PluralRules(currentLang()).select(stats.completed_trades);
    parts.push(t(hasKey(`seller.trades_${form}`) ? `seller.trades_${form}` : "seller.trades", { n: stats.completed_trades }));
    if (stats.completion_rate !== null && stats.completion_rate !== undefined) {
      parts.push(t("seller.completion", { rate: formatPercent(stats.completion_rate) }));
    }
  }
  if (stats.median_release_seconds !== null && stats.median_release_seconds !== undefined) {
    parts.push(t("seller.release_time", { time: formatDuration(stats.median_release_seconds) }));
  }
  return el(
    "div",
    { class: "seller-line", "data-testid": "seller-stats" },
    t(buyAd ? "buyads.buyer_label" : "seller.label"), " ", el("a", { href: `trader.html?address=${ad.maker}`, class: "mono", "data-testid": "seller-link" }, shortAddress(ad.maker)), " · ", parts.join(" · "),
    " · ", feedbackCounts(stats.feedback),
  );
}

/**
 * The amount box of the buy and sell panels: parsed as the user's locale writes numbers,
 * checked against the ad's limits and what is left on it, with the fiat total and what
 * the buyer receives after the desk's fee (the rate now, fixed for the order at opening).
 */
function amountEntry(ad, token, { prefix, aboveAvailable, totalKey, receiveKey }) {
  const total = el("div", { class: "small", "data-testid": `${prefix}-total` });
  const receive = el("div", { class: "small muted", "data-testid": `${prefix}-receive` });
  const feeBps = rules()?.fee_bps;
  const fieldError = el("div", { class: "field-error", role: "alert", "data-testid": `${prefix}-error` });
  const input = el("input", {
    inputmode: "decimal",
    "data-testid": `${prefix}-amount`,
    value: state.buyAmount,
    placeholder: t("buy.amount_placeholder", { min: formatToken(ad.min_amount, token), max: formatToken(ad.max_amount, token) }),
    "aria-label": t("buy.amount"),
  });
  const parsed = el("output", { class: "parsed", "data-testid": `${prefix}-parsed`, "aria-live": "polite" });
  const readAmount = (text) => {
    const amount = parseAmount(text, token.decimals);
    if (amount === 0n) throw new Error(t("error.zero_amount"));
    if (amount < BigInt(ad.min_amount)) throw new Error(t("numbers.buy_below_min", { min: formatToken(ad.min_amount, token) }));
    if (amount > BigInt(ad.max_amount)) throw new Error(t("numbers.buy_above_max", { max: formatToken(ad.max_amount, token) }));
    if (amount > BigInt(ad.available)) throw new Error(aboveAvailable(formatToken(ad.available, token)));
    return amount;
  };
  const updateTotal = () => {
    state.buyAmount = input.value;
    fieldError.textContent = "";
    try {
      const amount = readAmount(input.value);
      total.textContent = t(totalKey, { total: formatFiat(fiatTotal(amount, ad.price, token.decimals), ad.fiat) });
      const fee = feeBps ? (amount * BigInt(feeBps)) / 10_000n : 0n;
      receive.textContent = fee ? t(receiveKey, { amount: formatToken(amount - fee, token), rate: `${feeBps / 100}%` }) : "";
    } catch {
      total.textContent = "";
      receive.textContent = "";
    }
  };
  input.addEventListener("input", updateTotal);
  attachParsed(input, parsed, readAmount, (v) => formatToken(v, token));
  updateTotal();
  return { input, parsed, total, receive, fieldError, readAmount };
}

function buyPanel(ad, token) {
  const txArea = el("div");
  const box = new TxBox(txArea);
  const { input, parsed, total, receive, fieldError, readAmount } = amountEntry(ad, token, {
    prefix: "buy",
    aboveAvailable: (available) => t("numbers.buy_above_available", { available }),
    totalKey: "buy.you_pay",
    receiveKey: "protocol.you_receive",
  });
  const openButton = el("button", { class: "btn btn-primary", type: "button", "data-testid": "open-order" }, t("buy.open_order"));
  openButton.addEventListener("click", async () => {
    let amount;
    try {
      amount = readAmount(input.value);
    } catch (err) {
      fieldError.textContent = err.message;
      return;
    }
    openButton.disabled = true;
    const blocked = (await frozenBlock()) ?? (await kycBlock(wallet.address));
    if (blocked) {
      txArea.replaceChildren(blocked);
      openButton.disabled = false;
      return;
    }
    // max_price = the price shown: the escrow refuses the order if the seller raised it meanwhile.
    const receipt = await box.run(t("tx.open_order"), async () => {
      const signer = await getSigner(ctx.deployment);
      return (await escrowContract(ctx.deployment, signer)).open_order(ad.id, amount, ad.price);
    });
    openButton.disabled = false;
    const opened = await findEvent(ctx.deployment, receipt, "OrderOpened");
    if (opened) location.href = `order.html?id=${opened.args.order_id}`;
  });
  return el(
    "div",
    { class: "buy-panel", "data-testid": "buy-panel" },
    el("label", { class: "field" }, el("span", {}, t("buy.amount_label", { symbol: token.symbol })), input, parsed),
    fieldError,
    total,
    receive,
    el("div", { class: "hint" }, t("buy.price_guard", { price: formatFiat(ad.price, ad.fiat) })),
    el(
      "div",
      { class: "row" },
      openButton,
      el("button", { class: "btn btn-ghost", type: "button", onclick: () => { state.openAd = null; render(); } }, t("action.cancel")),
    ),
    txArea,
  );
}

/**
 * "Sell" on a buy ad: the seller's tokens go into the escrow now, in an order on the ad
 * (open_sell_order, after an approval when the allowance is short), guarded at the price
 * shown: the escrow refuses the order if the buyer lowered it meanwhile.
 */
function sellPanel(ad, token) {
  const txArea = el("div");
  const box = new TxBox(txArea);
  const { input, parsed, total, receive, fieldError, readAmount } = amountEntry(ad, token, {
    prefix: "sell",
    aboveAvailable: (wanted) => t("buyads.above_wanted", { wanted }),
    totalKey: "buyads.you_receive_fiat",
    receiveKey: "buyads.buyer_receives",
  });
  const sellButton = el("button", { class: "btn btn-sell", type: "button", "data-testid": "open-sell-order" }, t("buyads.open_sell_order"));
  sellButton.addEventListener("click", async () => {
    let amount;
    try {
      amount = readAmount(input.value);
    } catch (err) {
      fieldError.textContent = err.message;
      return;
    }
    sellButton.disabled = true;
    try {
      await sell(ad, token, amount, box, txArea, fieldError);
    } finally {
      sellButton.disabled = false;
    }
  });
  return el(
    "div",
    { class: "buy-panel", "data-testid": "sell-panel" },
    el("label", { class: "field" }, el("span", {}, t("buyads.amount_label", { symbol: token.symbol })), input, parsed),
    fieldError,
    total,
    receive,
    el("div", { class: "hint" }, t("buyads.lock_note", { symbol: token.symbol })),
    el("div", { class: "hint" }, t("buyads.price_guard", { price: formatFiat(ad.price, ad.fiat) })),
    el(
      "div",
      { class: "row" },
      sellButton,
      el("button", { class: "btn btn-ghost", type: "button", onclick: () => { state.openAd = null; render(); } }, t("action.cancel")),
    ),
    txArea,
  );
}

async function sell(ad, token, amount, box, txArea, fieldError) {
  const blocked = (await frozenBlock()) ?? (await kycBlock(wallet.address));
  if (blocked) {
    txArea.replaceChildren(blocked);
    return;
  }
  let signer;
  try {
    signer = await getSigner(ctx.deployment);
  } catch (err) {
    const { message, reason } = describeError(err);
    box.show("failed", t("tx.open_order"), { detail: message, reason });
    return;
  }
  // The seller's balance and allowance, read before the confirmation: a short balance is
  // said in words here, and the dialog says whether an approval comes first.
  const tokenWithSigner = await tokenContract(ctx.deployment, token.address, signer);
  let balance;
  let allowance;
  try {
    [balance, allowance] = await Promise.all([
      tokenWithSigner.balanceOf(wallet.address),
      tokenWithSigner.allowance(wallet.address, ctx.deployment.contracts.OtcEscrow),
    ]);
  } catch (err) {
    const { message, reason } = describeError(err);
    box.show("failed", t("tx.open_order"), { detail: message, reason });
    return;
  }
  if (amount > balance) {
    fieldError.textContent = t("error.above_balance", { balance: formatToken(balance, token) });
    return;
  }
  const needsApproval = allowance < amount;
  const words = {
    amount: formatToken(amount, token),
    total: formatFiat(fiatTotal(amount, ad.price, token.decimals), ad.fiat),
    buyer: shortAddress(ad.maker),
    window: formatDuration(ad.payment_window),
  };
  const ok = await confirmAction({
    title: t("buyads.confirm_title", words),
    body: [t("buyads.confirm_body", words), t("buyads.confirm_release", words), needsApproval ? t("buyads.confirm_approval", words) : null],
    ok: t("buyads.confirm_ok", words),
  });
  if (!ok) return;
  if (needsApproval) {
    const approved = await box.run(t("tx.approve", { symbol: token.symbol }), () => tokenWithSigner.approve(ctx.deployment.contracts.OtcEscrow, amount));
    if (!approved) return;
  }
  // min_price = the price shown: the escrow refuses the order if the buyer lowered it meanwhile.
  const receipt = await box.run(t("tx.open_order"), async () => (await escrowContract(ctx.deployment, signer)).open_sell_order(ad.id, amount, ad.price));
  const opened = await findEvent(ctx.deployment, receipt, "OrderOpened");
  if (opened) location.href = `order.html?id=${opened.args.order_id}`;
}

function adCard(ad) {
  const token = tokenInfo(ctx.deployment, ad.token);
  const mine = sameAddress(ad.maker, wallet.address);
  const buyAd = ad.side === "buy";
  return el(
    "article",
    { class: "card ad-card", "data-testid": "ad-card", "data-ad-id": ad.id },
    el(
      "div",
      { class: "spread" },
      el("div", {}, el("div", { class: "ad-price", "data-testid": "ad-price" }, formatFiat(ad.price, ad.fiat)), el("div", { class: "small muted" }, t("ad.per_token", { symbol: token.symbol }))),
      mine
        ? el("span", { class: "badge" }, t("ad.yours"))
        : el(
            "button",
            { class: `btn ${buyAd ? "btn-sell" : "btn-primary"}`, type: "button", "data-testid": buyAd ? "sell" : "buy", onclick: () => { state.openAd = state.openAd === ad.id ? null : ad.id; state.buyAmount = ""; render(); } },
            t(buyAd ? "buyads.sell" : "ad.buy", { symbol: token.symbol }),
          ),
    ),
    el(
      "dl",
      { class: "kv" },
      el("dt", {}, t(buyAd ? "buyads.wanted" : "ad.available")), el("dd", { "data-testid": "ad-available" }, formatToken(ad.available, token)),
      el("dt", {}, t("ad.limits")), el("dd", {}, `${formatToken(ad.min_amount, token)} – ${formatToken(ad.max_amount, token)}`),
      el("dt", {}, t("ad.methods")), el("dd", {}, methodNames(ad.payment_methods).map((name) => el("span", { class: "chip" }, name))),
      el("dt", {}, t("ad.window")), el("dd", {}, formatDuration(ad.payment_window)),
    ),
    sellerLine(ad),
    state.openAd === ad.id && !mine ? (buyAd ? sellPanel(ad, token) : buyPanel(ad, token)) : null,
  );
}

/** Whether any filter narrows the list (the sort does not). */
function filtered() {
  return activeFilters() > 0;
}

function activeFilters() {
  const data = new FormData(form());
  return ["token", "fiat", "amount", "payment_method", "min_price", "max_price"].filter((name) => String(data.get(name) || "").trim()).length;
}

/** An empty desk, not an empty filter: what the desk is and how a trade goes. */
function welcome() {
  return el(
    "section",
    { class: "card welcome", "data-testid": "market-welcome" },
    el("h2", {}, t("market.welcome_title")),
    el("p", {}, t("market.welcome_intro")),
    el(
      "ol",
      { class: "welcome-steps" },
      [1, 2, 3, 4].map((n) => el("li", { "data-testid": "welcome-step" }, t(`market.welcome_step${n}`))),
    ),
    el("p", { class: "muted small" }, t("market.welcome_no_ads")),
    el("a", { class: "btn btn-primary", href: "create-ad.html", "data-testid": "welcome-post-ad" }, t("market.post_ad")),
  );
}

/** The switch, the amount filter's label and the sort follow the book shown. */
function renderSide() {
  for (const button of document.querySelectorAll(".side-btn")) {
    button.setAttribute("aria-pressed", String(/** @type {HTMLElement} */ (button).dataset.side === state.side));
  }
  const label = document.getElementById("filter-amount-label");
  label.dataset.i18n = state.side === "buy" ? "buyads.filter_amount" : "filter.amount";
  label.textContent = t(label.dataset.i18n);
}

function switchSide(side) {
  if (side === state.side) return;
  const sort = form().elements.sort;
  // A sort the user chose stays; the other book's natural one gives way to this one's.
  if (sort.value === DEFAULT_SORT[state.side]) sort.value = DEFAULT_SORT[side];
  state.side = side;
  state.openAd = null;
  state.items = [];
  const url = new URL(location.href);
  if (side === "buy") url.searchParams.set("side", "buy");
  else url.searchParams.delete("side");
  history.replaceState(null, "", url);
  renderSide();
  load({ force: true });
}

/** The buy book empty: nobody wants to buy yet, and anyone may be the first. */
function noBuyAds() {
  return el(
    "div",
    { class: "state state-empty", "data-testid": "empty" },
    t("buyads.empty"),
    " ",
    el("a", { href: "create-ad.html?side=buy", "data-testid": "post-buy-ad" }, t("buyads.post_buy_ad")),
  );
}

function renderFilterToggle() {
  const toggle = document.getElementById("filters-toggle");
  const n = activeFilters();
  toggle.textContent = n ? t("market.filters_n", { n }) : t("market.filters");
  toggle.setAttribute("aria-expanded", String(form().classList.contains("open")));
}

function render() {
  renderFilterToggle();
  const list = document.getElementById("ads");
  const count = document.getElementById("result-count");
  const more = document.getElementById("more");
  more.classList.add("hidden");
  count.textContent = "";
  if (state.filterError) {
    list.replaceChildren(el("div", { class: "state state-error", "data-testid": "filter-error", role: "alert" }, state.filterError));
    return;
  }
  if (state.loading) {
    list.replaceChildren(loadingState("market.loading"));
    return;
  }
  if (state.error) {
    list.replaceChildren(errorBox(state.error, { retry: () => load({ force: true }) }));
    return;
  }
  if (state.items.length === 0) {
    list.replaceChildren(filtered() ? emptyState("market.empty") : state.side === "buy" ? noBuyAds() : welcome());
    return;
  }
  count.textContent = t("market.count", { shown: state.items.length, total: state.total });
  list.replaceChildren(...state.items.map(adCard));
  more.classList.toggle("hidden", state.items.length >= state.total);
}

async function main() {
  await boot("market");
  fillFilterOptions();
  // Filters can come in the URL (links from elsewhere), e.g. ?fiat=USD&sort=-available
  const params = new URLSearchParams(location.search);
  if (!params.has("sort")) form().elements.sort.value = DEFAULT_SORT[state.side];
  for (const [key, value] of params) if (form().elements[key]) form().elements[key].value = value;
  renderSide();
  for (const button of document.querySelectorAll(".side-btn")) {
    button.addEventListener("click", () => switchSide(/** @type {"sell" | "buy"} */ (/** @type {HTMLElement} */ (button).dataset.side)));
  }
  let debounce;
  form().addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => load(), 350);
  });
  form().addEventListener("change", () => {
    clearTimeout(debounce);
    load();
  });
  form().addEventListener("reset", () =>
    setTimeout(() => {
      form().elements.sort.value = DEFAULT_SORT[state.side];
      load();
    }, 0),
  );
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  document.getElementById("more").addEventListener("click", () => load({ append: true }));
  // On a phone the filters wait behind a toggle, so the first screen shows ads.
  document.getElementById("filters-toggle").addEventListener("click", () => {
    form().classList.toggle("open");
    renderFilterToggle();
  });
  window.addEventListener("sentinel:lang", () => {
    fillFilterOptions();
    renderSide();
    render();
  });
  onWalletChange(render);
  await load();
}

main();
