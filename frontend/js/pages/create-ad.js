// Create ad. A sell ad in two steps the user can see: 1 approve the escrow for the amount,
// 2 create the ad (the escrow pulls the tokens in). A buy ad in one: create_buy_ad pulls
// nothing (the seller's tokens are locked when a seller fills it), so there is no approval
// and no permit, and its terms hash is the plain terms text's (it commits to no payment
// details: the buyer pays the seller's). Amounts are typed in token units.

import { api } from "../api.js";
import { escrowContract, fiatBytes3, findEvent, termsHash, tokenContract, tokenInfo } from "../chain.js";
import { PAYMENT_METHODS, formatFiat, formatToken, parseAmount, parsePrice } from "../format.js";
import { t } from "../i18n.js";
import { LIMITS, attachParsed, isCurrency } from "../numbers.js";
import { rules } from "../protocol.js";
import { allowedWindows } from "../protocol.js";
import { kycBlock } from "../kyc-gate.js";
import { boot, ctx } from "../shell.js";
import { TxBox, el } from "../ui.js";
import { getProvider, getSigner, onWalletChange, signedIn, wallet } from "../wallet.js";

const LOCAL_CHAINS = [1337, 31337];
const state = { balance: null, allowance: null, busy: false };
/** @type {(() => void)[]} repaint the "= 1.02 USD per TUSD" next to each number field */
const parsedViews = [];
/** @type {() => any} the ad form (tsc checks API fields here, not DOM element kinds) */
const form = () => document.getElementById("ad-form");
/** @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

/** @returns {"sell" | "buy"} the side of the ad being written */
function side() {
  return form().elements.side.value === "buy" ? "buy" : "sell";
}

/** Point `node` at i18n `key` (kept across a language switch by applyI18n). */
function setKey(node, key) {
  node.dataset.i18n = key;
  node.textContent = t(key);
}

/** The words and steps that differ between a sell ad and a buy ad. */
function renderSide() {
  const buy = side() === "buy";
  setKey($("create-intro"), buy ? "buyads.create_intro" : "create.intro");
  setKey($("amount-label"), buy ? "buyads.create_amount" : "create.amount");
  setKey($("window-label"), buy ? "buyads.create_window" : "create.window");
  setKey($("methods-label"), buy ? "buyads.create_methods" : "create.methods");
  setKey($("terms-label"), buy ? "buyads.create_terms" : "create.terms");
  setKey($("step2-note"), buy ? "buyads.create_step2_note" : "create.step2_note");
  $("step-approve").classList.toggle("hidden", buy);
  $("create-step-num").textContent = buy ? "1" : "2";
}

function selectedToken() {
  return tokenInfo(ctx.deployment, form().elements.token.value);
}

function renderMethods() {
  const box = $("methods");
  const checked = new Set([.../** @type {NodeListOf<HTMLInputElement>} */ (box.querySelectorAll("input:checked"))].map((i) => i.value));
  if (box.childElementCount === 0) checked.add("0"); // bank transfer by default
  box.replaceChildren(
    ...PAYMENT_METHODS.map((m) =>
      el("label", {}, el("input", { type: "checkbox", name: "method", value: String(m.bit), "data-testid": `method-${m.bit}`, checked: checked.has(String(m.bit)) }), t(m.key)),
    ),
  );
}

/** The form as contract arguments; throws an Error naming the first problem. */
function readForm() {
  const f = form().elements;
  const token = selectedToken();
  const need = (value, key) => {
    if (!String(value).trim()) throw new Error(t("error.required", { field: t(key) }));
    return value;
  };
  // Each number within what the escrow accepts: a value it refuses never reaches the approve.
  const amount = parseAmount(need(f.amount.value, "create.amount"), token.decimals);
  if (amount === 0n) throw new Error(t("error.zero_amount"));
  const fiat = formFiat();
  if (!/^[A-Z]{3}$/.test(fiat)) throw new Error(t("error.bad_fiat"));
  if (!isCurrency(fiat)) throw new Error(t("numbers.unknown_currency", { code: fiat }));
  const price = parsePrice(need(f.price.value, "create.price"), fiat);
  if (price === 0n) throw new Error(t("error.zero_price"));
  const min = parseAmount(need(f.min.value, "create.min"), token.decimals, { max: LIMITS.maxAmount });
  const max = parseAmount(need(f.max.value, "create.max"), token.decimals, { max: LIMITS.maxAmount });
  if (min === 0n) throw new Error(t("error.zero_min"));
  if (min > max) throw new Error(t("error.min_above_max"));
  let methods = 0n;
  for (const input of form().querySelectorAll("input[name=method]:checked")) methods |= 1n << BigInt(input.value);
  if (methods === 0n) throw new Error(t("error.no_method"));
  // A buy ad holds no tokens: what it wants is not bounded by the wallet's balance.
  if (side() === "sell" && state.balance !== null && amount > state.balance) {
    throw new Error(t("error.above_balance", { balance: formatToken(state.balance, token) }));
  }
  return { side: side(), token, amount, fiat, price, min, max, window: BigInt(f.window.value), methods, terms: null, termsText: f.terms.value.trim() };
}

function formFiat() {
  return form().elements.fiat.value.trim().toUpperCase();
}

/** The parsed value under each number field, as the contract will get it. */
function mountParsedViews() {
  const f = form().elements;
  const token = () => selectedToken();
  const fiat = () => (isCurrency(formFiat()) ? formFiat() : "USD");
  const fields = [
    [f.amount, (text) => parseAmount(text, token().decimals), (v) => formatToken(v, token())],
    [f.price, (text) => parsePrice(text, fiat()), (v) => t("numbers.per_token", { price: formatFiat(v, fiat()), symbol: token().symbol })],
    [f.min, (text) => parseAmount(text, token().decimals, { max: LIMITS.maxAmount }), (v) => formatToken(v, token())],
    [f.max, (text) => parseAmount(text, token().decimals, { max: LIMITS.maxAmount }), (v) => formatToken(v, token())],
  ];
  for (const [input, parse, show] of fields) {
    const output = el("output", { class: "parsed", "data-testid": `${input.dataset.testid}-parsed`, "aria-live": "polite" });
    input.after(output);
    parsedViews.push(attachParsed(input, output, parse, show));
  }
}

/** What buyers receive of the amount after the desk's fee (the rate now; each order keeps its own). */
function renderFee(values) {
  const box = $("ad-fee");
  const bps = rules()?.fee_bps;
  if (bps === undefined) {
    box.textContent = "";
    return;
  }
  if (bps === 0) {
    box.textContent = t("numbers.ad_fee_none");
    return;
  }
  const token = selectedToken();
  const amount = values?.amount ?? 100n * 10n ** BigInt(token.decimals);
  const net = amount - (amount * BigInt(bps)) / 10_000n;
  // On a buy ad the maker is the buyer: the fee comes out of what they receive.
  const key = side() === "buy" ? "buyads.ad_fee" : "numbers.ad_fee";
  box.textContent = t(key, { amount: formatToken(amount, token), net: formatToken(net, token), rate: `${bps / 100}%` });
}

async function refreshBalances() {
  const provider = getProvider();
  const token = selectedToken();
  if (!provider || !wallet.address || wallet.chainId !== ctx.deployment?.chain_id || !token.address) {
    state.balance = null;
    state.allowance = null;
    render();
    return;
  }
  try {
    const contract = await tokenContract(ctx.deployment, token.address, provider);
    const [balance, allowance] = await Promise.all([
      contract.balanceOf(wallet.address),
      contract.allowance(wallet.address, ctx.deployment.contracts.OtcEscrow),
    ]);
    state.balance = balance;
    state.allowance = allowance;
  } catch (err) {
    console.warn(err);
    state.balance = null;
    state.allowance = null;
  }
  render();
}

function render() {
  const token = selectedToken();
  const balanceBox = $("balance");
  const buy = side() === "buy";
  balanceBox.classList.toggle("hidden", buy);
  if (!wallet.address) balanceBox.textContent = t("create.connect_for_balance");
  else if (state.balance === null) balanceBox.textContent = "";
  else {
    balanceBox.textContent = t("create.balance", {
      balance: formatToken(state.balance, token),
      allowance: formatToken(state.allowance ?? 0n, token),
    });
  }
  let values = null;
  try {
    values = readForm();
    $("form-error").textContent = "";
  } catch (err) {
    // Only complain about fields the user has started on.
    const touched = form().dataset.touched === "1";
    $("form-error").textContent = touched ? err.message : "";
  }
  for (const paint of parsedViews) paint();
  renderFee(values);
  // A buy ad pulls nothing: no approval to wait for.
  const approved = values && (buy || (state.allowance !== null && state.allowance >= values.amount));
  $("step-approve").classList.toggle("step-done", Boolean(approved));
  $("approve-note").textContent = values
    ? approved
      ? t("create.approved", { amount: formatToken(values.amount, token) })
      : t("create.approve_note", { amount: formatToken(values.amount, token) })
    : t("create.fill_form");
  $("approve").disabled = state.busy || !values || approved;
  $("create").disabled = state.busy || !values || !approved;
  const local = LOCAL_CHAINS.includes(ctx.deployment?.chain_id) && ctx.deployment?.token_abi?.some((f) => f.name === "faucet");
  $("faucet-card").classList.toggle("hidden", !local || buy);
}

async function approve() {
  let values;
  try {
    values = readForm();
  } catch (err) {
    $("form-error").textContent = err.message;
    return;
  }
  // Nothing is approved for an ad the escrow would refuse to this account.
  const blocked = await kycBlock(wallet.address);
  if (blocked) {
    $("approve-tx").replaceChildren(blocked);
    return;
  }
  state.busy = true;
  render();
  await new TxBox($("approve-tx")).run(t("tx.approve", { symbol: values.token.symbol }), async () => {
    const signer = await getSigner(ctx.deployment);
    const token = await tokenContract(ctx.deployment, values.token.address, signer);
    return token.approve(ctx.deployment.contracts.OtcEscrow, values.amount);
  });
  state.busy = false;
  await refreshBalances();
}

async function create() {
  let values;
  try {
    values = readForm();
  } catch (err) {
    $("form-error").textContent = err.message;
    return;
  }
  const blocked = await kycBlock(wallet.address);
  if (blocked) {
    $("create-tx").replaceChildren(blocked);
    return;
  }
  state.busy = true;
  render();
  const label = values.side === "buy" ? t("buyads.tx_create") : t("tx.create_ad");
  const receipt = await new TxBox($("create-tx")).run(label, async () => {
    const signer = await getSigner(ctx.deployment);
    const escrow = await escrowContract(ctx.deployment, signer);
    if (values.side === "buy") {
      // The buyer's terms text, hashed: nothing to commit to, the buyer pays the seller's details.
      return escrow.create_buy_ad(
        values.token.address,
        values.amount,
        values.price,
        fiatBytes3(values.fiat),
        values.min,
        values.max,
        values.window,
        values.methods,
        await termsHash(values.termsText),
      );
    }
    values.terms = await committedTerms(values);
    return escrow.create_ad(
      values.token.address,
      values.amount,
      values.price,
      fiatBytes3(values.fiat),
      values.min,
      values.max,
      values.window,
      values.methods,
      values.terms,
    );
  });
  state.busy = false;
  const created = await findEvent(ctx.deployment, receipt, "AdCreated");
  if (created) {
    const adId = created.args.ad_id.toString();
    $("created").replaceChildren(
      el(
        "div",
        { class: "tx tx-done", "data-testid": "ad-created", "data-ad-id": adId },
        el(
          "div",
          {},
          el("strong", {}, t(values.side === "buy" ? "buyads.created" : "create.created", { id: adId })),
          " ",
          el("a", { href: "my-ads.html" }, t("nav.my_ads")),
          " · ",
          el("a", { href: values.side === "buy" ? "index.html?side=buy" : "index.html" }, t("nav.market")),
        ),
        el("button", { class: "btn btn-small", type: "button", "data-testid": "post-another", onclick: postAnother }, t("numbers.another")),
      ),
    );
    // The ad is live: the form must not offer the same approval and ad again. It stays on
    // the side just posted (reset() would put it back to "sell").
    form().reset();
    form().elements.side.value = values.side;
    renderSide();
    form().dataset.touched = "0";
  }
  await refreshBalances();
}

function postAnother() {
  $("created").replaceChildren();
  $("approve-tx").replaceChildren();
  $("create-tx").replaceChildren();
  window.scrollTo(0, 0);
  form().elements.amount.focus();
}

/**
 * The terms hash that commits to the seller's payment details for the chosen methods
 * (registered with the backend: see backend/payments/service.py); the plain text's hash
 * when not signed in or the backend cannot help.
 */
async function committedTerms(values) {
  if (!signedIn()) return termsHash(values.termsText);
  try {
    const mine = await api("/payments/details");
    const latest = new Map();
    for (const d of mine) if ((values.methods >> BigInt(d.method)) & 1n) latest.set(d.method, d.id);
    const terms = await api("/payments/terms", { method: "POST", body: { text: values.termsText, detail_ids: [...latest.values()] } });
    return terms.terms_hash;
  } catch (err) {
    console.warn("terms not registered", err);
    return termsHash(values.termsText);
  }
}

async function faucet() {
  const token = selectedToken();
  await new TxBox($("faucet-tx")).run(t("tx.faucet", { symbol: token.symbol }), async () => {
    const signer = await getSigner(ctx.deployment);
    return (await tokenContract(ctx.deployment, token.address, signer)).faucet(1000n * 10n ** BigInt(token.decimals));
  });
  await refreshBalances();
}

async function main() {
  await boot("create-ad");
  const tokenSelect = form().elements.token;
  tokenSelect.replaceChildren(...(ctx.deployment?.tokens || []).map((tk) => el("option", { value: tk.address }, `${tk.symbol} · ${tk.name}`)));
  renderMethods();
  mountParsedViews();
  if (new URLSearchParams(location.search).get("side") === "buy") form().elements.side.value = "buy";
  renderSide();
  for (const radio of form().querySelectorAll("input[name=side]")) radio.addEventListener("change", () => (renderSide(), render()));
  $("balance").before(el("p", { id: "ad-fee", class: "hint", "data-testid": "ad-fee" }));
  // Offer only the payment windows the contract accepts (it bounds them).
  const windows = [...form().elements.window.options];
  const allowed = new Set(allowedWindows(windows.map((option) => Number(option.value))));
  for (const option of windows) if (!allowed.has(Number(option.value))) option.remove();
  form().addEventListener("input", (event) => {
    // Choosing the side is not starting on the fields: no complaint about empty ones yet.
    if (/** @type {HTMLInputElement} */ (event.target).name !== "side") form().dataset.touched = "1";
    render();
  });
  tokenSelect.addEventListener("change", refreshBalances);
  $("approve").addEventListener("click", approve);
  $("create").addEventListener("click", create);
  $("faucet").addEventListener("click", faucet);
  onWalletChange(refreshBalances);
  window.addEventListener("sentinel:lang", () => {
    renderMethods();
    render();
  });
  await refreshBalances();
}

main();
