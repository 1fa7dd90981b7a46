// My desk balance: balances per currency, history with the running balance, top-up and
// withdrawal through the sandbox bank; payouts the token refused at settlement, waiting in
// the escrow, with a Withdraw that the wallet sends; for staff, the books' check and every account.

import { api } from "../api.js";
import { escrowContract, loadDeployment, tokenContract, tokenInfo } from "../chain.js";
import { formatFiat, formatTime, formatToken, parsePrice, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { boot, requireSession } from "../shell.js";
import { TxBox, el, errorBox, loadingState } from "../ui.js";
import { getProvider, getSigner, onWalletChange, signedIn } from "../wallet.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

const $ = (id) => document.getElementById(id);
const state = {
  /** @type {Schemas["AccountPublic"][]} */
  accounts: [],
  currency: null,
};

function owner(value) {
  if (value === "system:bank") return t("ledger.bank");
  if (value === "system:fees") return t("ledger.fees");
  return value?.startsWith("0x") ? shortAddress(value) : value;
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/**
 * @param {Schemas["AccountPublic"][]} accounts
 * @param {{withOwner?: boolean, onPick?: ((a: Schemas["AccountPublic"]) => void) | null}} [options]
 */
function balanceTable(accounts, { withOwner = false, onPick = null } = {}) {
  if (!accounts.length) return el("div", { class: "state state-empty", "data-testid": "empty" }, t("ledger.no_accounts"));
  const head = ["ledger.currency", "ledger.balance", "ledger.held", "ledger.incoming", "ledger.available"];
  if (withOwner) head.unshift("ledger.owner");
  return el(
    "table",
    { class: "ledger-table" },
    el("thead", {}, el("tr", {}, head.map((key) => el("th", {}, t(key))))),
    el(
      "tbody",
      {},
      accounts.map((a) =>
        el(
          "tr",
          { "data-testid": `balance-${a.currency}`, "data-account": a.id, onclick: onPick ? () => onPick(a) : null, style: onPick ? "cursor:pointer" : null },
          withOwner ? el("td", { class: "mono" }, owner(a.owner)) : null,
          el("td", {}, a.currency),
          el("td", { "data-testid": "balance" }, formatFiat(a.balance, a.currency)),
          el("td", { "data-testid": "held" }, formatFiat(a.held, a.currency)),
          el("td", { "data-testid": "incoming" }, formatFiat(a.incoming, a.currency)),
          el("td", { "data-testid": "available" }, el("strong", {}, formatFiat(a.available, a.currency))),
        ),
      ),
    ),
  );
}

/** @param {Schemas["History"]} history */
function historyTable(history) {
  if (!history.entries.length) return el("div", { class: "state state-empty" }, t("ledger.no_history"));
  const currency = history.account.currency;
  return el(
    "table",
    { class: "ledger-table" },
    el("thead", {}, el("tr", {}, ["ledger.when", "ledger.what", "ledger.with", "ledger.change", "ledger.status", "ledger.running"].map((k) => el("th", {}, t(k))))),
    el(
      "tbody",
      {},
      history.entries.map((e) => {
        const change = e.posted_delta || e.held_delta;
        return el(
          "tr",
          { "data-testid": "history-row", "data-code": e.transfer.code, "data-status": e.transfer.status },
          el("td", { class: "small" }, formatTime(e.transfer.created_at)),
          el("td", {}, t(`ledger.code.${e.transfer.code}`), e.transfer.order_id ? el("a", { href: `order.html?id=${e.transfer.order_id}` }, ` #${e.transfer.order_id}`) : null),
          el("td", { class: "mono small" }, owner(e.counterparty)),
          el("td", { class: change < 0 ? "neg" : "pos" }, formatFiat(change, currency), e.held_delta ? ` (${t("ledger.on_hold")})` : ""),
          el("td", {}, t(`ledger.status.${e.transfer.status}`)),
          el("td", { "data-testid": "running" }, formatFiat(e.balance, currency)),
        );
      }),
    ),
  );
}

async function loadHistory() {
  const box = $("history");
  if (!state.currency) {
    box.replaceChildren(el("div", { class: "state state-empty" }, t("ledger.no_history")));
    return;
  }
  try {
    box.replaceChildren(historyTable(await api("/ledger/history", { query: { currency: state.currency } })));
  } catch (err) {
    box.replaceChildren(errorBox(err, { retry: loadHistory }));
  }
}

// ---------------------------------------------------------------- credits

/**
 * A token's symbol and decimals: from the manifest, or read from the token itself (the
 * escrow may hold a token the deployment did not list), else a neutral stand-in.
 * @param {Schemas["DeploymentPublic"]} deployment
 */
async function describeToken(deployment, address) {
  const info = tokenInfo(deployment, address);
  const provider = getProvider();
  if (deployment.tokens.some((tk) => tk.address.toLowerCase() === address.toLowerCase()) || !provider) return info;
  try {
    const contract = await tokenContract(deployment, address, provider);
    const [symbol, decimals] = await Promise.all([contract.symbol(), contract.decimals()]);
    return { ...info, symbol, decimals: Number(decimals) };
  } catch {
    return info;
  }
}

/**
 * @param {Schemas["CreditPublic"][]} credits
 * @param {Map<string, Schemas["TokenPublic"]>} tokens
 */
function creditTable(credits, tokens) {
  return el(
    "table",
    { class: "ledger-table" },
    el("thead", {}, el("tr", {}, ["credits.token", "credits.amount", "credits.order", ""].map((k) => el("th", {}, k ? t(k) : "")))),
    el(
      "tbody",
      {},
      credits.map((c) => {
        const token = tokens.get(c.token);
        return el(
          "tr",
          { "data-testid": "credit", "data-token": c.token },
          el("td", {}, token.symbol),
          el("td", { "data-testid": "credit-amount" }, el("strong", {}, formatToken(c.amount, token))),
          el("td", {}, c.last_order_id ? el("a", { href: `order.html?id=${c.last_order_id}` }, `#${c.last_order_id}`) : "—"),
          el(
            "td",
            {},
            el("button", { class: "btn btn-primary btn-small", type: "button", "data-testid": "credit-withdraw", onclick: (e) => withdrawCredit(c, token, e.currentTarget) }, t("credits.withdraw")),
          ),
        );
      }),
    ),
  );
}

async function loadCredits() {
  const card = $("credits-card");
  try {
    const [credits, deployment] = await Promise.all([api("/me/credits"), loadDeployment()]);
    const tokens = new Map(await Promise.all(credits.map(async (c) => /** @type {const} */ ([c.token, await describeToken(deployment, c.token)]))));
    card.classList.toggle("hidden", credits.length === 0);
    $("credits").replaceChildren(creditTable(credits, tokens));
  } catch (err) {
    card.classList.remove("hidden");
    $("credits").replaceChildren(errorBox(err, { retry: loadCredits }));
  }
}

/**
 * `withdraw_credit(token)` from the wallet; the list reloads once the indexer has seen it.
 * @param {Schemas["CreditPublic"]} credit
 */
async function withdrawCredit(credit, token, button) {
  button.disabled = true;
  const amount = formatToken(credit.amount, token);
  const receipt = await new TxBox($("credits-tx")).run(t("credits.tx", { amount }), async () => {
    const deployment = await loadDeployment();
    const signer = await getSigner(deployment);
    return (await escrowContract(deployment, signer)).withdraw_credit(credit.token);
  });
  button.disabled = false;
  if (receipt) await loadCredits();
}

async function load() {
  if (!signedIn()) {
    $("account-main").classList.add("hidden");
    $("account-gate").replaceChildren(
      el(
        "div",
        { class: "state" },
        t("ledger.sign_in"),
        " ",
        el("button", { class: "btn btn-primary", type: "button", "data-testid": "account-sign-in", onclick: () => requireSession().then(load).catch((err) => $("account-gate").append(errorBox(err))) }, t("wallet.sign_in")),
      ),
    );
    return;
  }
  $("account-gate").replaceChildren();
  $("account-main").classList.remove("hidden");
  $("balances").replaceChildren(loadingState());
  loadCredits();
  try {
    state.accounts = await api("/ledger/accounts");
  } catch (err) {
    $("balances").replaceChildren(errorBox(err, { retry: load }));
    return;
  }
  $("balances").replaceChildren(balanceTable(state.accounts));
  const currencies = state.accounts.map((a) => a.currency);
  if (!currencies.includes(state.currency)) state.currency = currencies[0] || null;
  $("history-currency").replaceChildren(...currencies.map((c) => el("option", { value: c, selected: c === state.currency }, c)));
  await loadHistory();
  await loadAdmin();
}

async function bank(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ ($("bank-form"));
  const action = event.submitter?.name === "withdraw" ? "withdraw" : "topup";
  $("bank-error").textContent = "";
  $("bank-done").textContent = "";
  const currency = form.currency.value.trim().toUpperCase();
  let amount;
  try {
    amount = parsePrice(form.amount.value, currency);
    if (amount <= 0n) throw new Error(t("ledger.amount_positive"));
  } catch (err) {
    $("bank-error").textContent = err.message;
    return;
  }
  for (const b of form.querySelectorAll("button")) b.disabled = true;
  try {
    // JSON numbers are exact far beyond the ledger's 15-digit cap.
    await api(`/ledger/${action}`, { method: "POST", body: { id: newKey(), currency, amount: Number(amount) } });
    $("bank-done").textContent = t(`ledger.${action}_done`, { amount: formatFiat(amount, currency) });
    form.amount.value = "";
    state.currency = currency;
    await load();
  } catch (err) {
    $("bank-error").textContent = err.message;
  } finally {
    for (const b of form.querySelectorAll("button")) b.disabled = false;
  }
}

// ------------------------------------------------------------------ staff

async function loadAdmin() {
  let report;
  try {
    report = await api("/ledger/admin/check");
  } catch {
    $("admin-ledger").classList.add("hidden"); // not staff
    return;
  }
  $("admin-ledger").classList.remove("hidden");
  $("admin-check").replaceChildren(
    el("p", { "data-testid": "check-result", "data-ok": String(report.ok) }, el("strong", {}, t(report.ok ? "ledger.check_ok" : "ledger.check_failed")), " · ", t("ledger.check_transfers", { n: report.transfers })),
    el(
      "ul",
      { class: "small" },
      report.currencies.map((c) =>
        el("li", {}, `${c.currency}: `, t("ledger.check_line", { debits: formatFiat(c.debits_posted, c.currency), credits: formatFiat(c.credits_posted, c.currency) }), c.balanced ? " ✓" : " ✗"),
      ),
    ),
  );
  const accounts = await api("/ledger/admin/accounts");
  $("admin-accounts").replaceChildren(
    balanceTable(accounts, {
      withOwner: true,
      onPick: async (a) => {
        const history = await api("/ledger/admin/accounts/{account_id}/history", { params: { account_id: a.id } });
        $("admin-history").replaceChildren(el("h3", {}, `${owner(a.owner)} · ${a.currency}`), historyTable(history));
      },
    }),
  );
}

async function main() {
  await boot("account");
  $("bank-form").addEventListener("submit", bank);
  $("history-currency").addEventListener("change", (e) => {
    state.currency = /** @type {HTMLSelectElement} */ (e.target).value;
    loadHistory();
  });
  window.addEventListener("sentinel:lang", load);
  window.addEventListener("sentinel:session", load);
  onWalletChange(load);
  await load();
}

main();
