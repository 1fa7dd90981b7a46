// Explorer: one search box (tx hash, address, block number, ad or order id); the
// backend decodes the results with the project's ABIs and this page lays them out as
// people read them: token amounts with their decimals, fiat prices, local dates, and
// every label and status in the page's language.

import { api, ApiError } from "../api.js";
import { tokenInfo } from "../chain.js";
import { formatDuration, formatFiat, formatTime, formatToken, methodNames } from "../format.js";
import { currentLang, hasKey, t } from "../i18n.js";
import { boot, ctx } from "../shell.js";
import { el, errorBox, loadingState } from "../ui.js";

const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
// Fields (and event / call arguments) by what they hold.
const TOKEN_AMOUNTS = new Set([
  "amount",
  "available",
  "locked",
  "min_amount",
  "max_amount",
  "fee",
  "buyer_received",
  "seller_refunded",
  "refunded",
  "buyer_amount",
  "seller_amount",
]);
const PRICES = new Set(["price", "max_price"]);
const WEI = new Set(["value", "balance"]);
const TIMES = new Set(["timestamp", "created_at", "updated_at", "opened_at", "paid_at", "ended_at", "deadline", "expires_at", "attested_at"]);
const state = {
  query: "",
  /** @type {import("../../../types/api").Schemas["SearchResponse"] | null} */
  data: null,
  loading: false,
  error: null,
};
let seq = 0;

/**
 * What a value's unit depends on: the token and fiat of the ad or order shown (or named
 * by the call / event itself). With one token deployed, the escrow's amounts are in it.
 * @typedef {{token?: any, fiat?: string | null}} Context
 */
function contextOf(source, parent = {}) {
  const tokens = ctx.deployment?.tokens || [];
  const tokenAddress = source?.token;
  const token = tokenAddress && ADDRESS.test(String(tokenAddress)) ? tokenInfo(ctx.deployment, tokenAddress) : parent.token ?? (tokens.length === 1 ? tokens[0] : null);
  return { token, fiat: fiatCode(source?.fiat) ?? parent.fiat ?? null };
}

/** "USD", or the bytes3 of an event ("0x555344") as its code. */
function fiatCode(value) {
  if (typeof value !== "string") return null;
  if (/^[A-Z]{3}$/.test(value)) return value;
  if (/^0x[0-9a-fA-F]{6}$/.test(value)) {
    const code = String.fromCharCode(...[2, 4, 6].map((i) => parseInt(value.slice(i, i + 2), 16)));
    return /^[A-Z]{3}$/.test(code) ? code : null;
  }
  return null;
}

function label(key) {
  const k = `explorer.field.${key}`;
  return hasKey(k) ? t(k) : key.replace(/_/g, " ");
}

function integer(v) {
  try {
    return new Intl.NumberFormat(currentLang()).format(BigInt(v));
  } catch {
    return String(v);
  }
}

function ether(wei) {
  return formatToken(wei, { symbol: "ETH", decimals: 18 });
}

/** A status word as the page's language says it (order statuses, tx outcomes, cancel reasons). */
function statusText(key, v) {
  if (key === "cancel_reason") return t(`cancel.${v}`);
  if (hasKey(`status.${v}`)) return t(`status.${v}`);
  if (hasKey(`explorer.status.${v}`)) return t(`explorer.status.${v}`);
  return String(v);
}

/** An ad's (or its order's) side in words: "Sell ad" / "Buy ad". */
function sideText(side) {
  return t(side === "buy" ? "buyads.side_buy_ad" : "buyads.side_sell_ad");
}

/** One scalar in its unit, or null when it is not a number of a known kind. */
function formatted(key, v, context) {
  const numeric = typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v));
  if (!numeric) return null;
  if (TOKEN_AMOUNTS.has(key)) return context.token ? formatToken(v, context.token) : t("explorer.base_units", { n: integer(v) });
  if (PRICES.has(key)) return context.fiat ? formatFiat(v, context.fiat) : t("explorer.minor_units", { n: integer(v) });
  if (WEI.has(key)) return ether(v);
  if (TIMES.has(key)) return Number(v) ? formatTime(Number(v)) : null;
  if (key === "payment_window") return formatDuration(Number(v));
  if (key === "payment_methods") return methodNames(v).join(", ");
  if (key === "buyer_bps") return `${Number(v) / 100}%`;
  if (key === "side") return sideText(Number(v) === 2 ? "buy" : "sell"); // AdCreated's SIDE_SELL = 1, SIDE_BUY = 2
  if (key === "gas_used" || key === "tx_count" || key === "nonce") return integer(v);
  return null;
}

/** A decoded call or event as one line: OtcEscrow.open_order(ad_id = 1, amount = 100 TUSD, …). */
function callLine(contract, name, args, context) {
  const parts = Object.entries(args || {}).map(([k, v]) => {
    const shown = formatted(k, v, context) ?? (k === "fiat" ? fiatCode(v) : null) ?? (typeof v === "object" ? JSON.stringify(v) : String(v));
    return `${k} = ${shown}`;
  });
  return el("code", { class: "call" }, `${contract ? `${contract}.` : ""}${name ?? "?"}(${parts.join(", ")})`);
}

function eventList(events, context) {
  return el(
    "ol",
    { class: "events", "data-testid": "explorer-events" },
    events.map((e) => {
      const own = contextOf(e.args, context);
      return el(
        "li",
        { "data-event": e.name ?? "" },
        callLine(e.contract, e.name, e.args, own),
        e.tx_hash
          ? [
              " ",
              el("span", { class: "small muted" }, t("order.block", { block: e.block_number }), e.timestamp ? ` · ${formatTime(e.timestamp)}` : ""),
              " ",
              el("a", { class: "mono small", href: `explorer.html?q=${e.tx_hash}` }, e.tx_hash.slice(0, 10) + "…"),
            ]
          : null,
      );
    }),
  );
}

/** @param {Context} context */
function value(v, key, context) {
  if (v === null || v === undefined || v === "") return el("span", { class: "muted" }, "—");
  if (key === "call" && typeof v === "object") return callLine(v.contract, v.function ?? v.selector, v.args, contextOf(v.args, context));
  if (key === "events" && Array.isArray(v) && v.length) return eventList(v, context);
  if (key === "token_balances" && Array.isArray(v)) {
    if (!v.length) return el("span", { class: "muted" }, t("explorer.none"));
    return el(
      "div",
      { "data-testid": "explorer-token-balances" },
      v.map((b) => el("div", {}, formatToken(b.balance, { symbol: b.symbol ?? "", decimals: b.decimals ?? 18 }))),
    );
  }
  if (key === "transactions" && Array.isArray(v)) {
    return v.length ? el("div", {}, v.map((h) => el("div", {}, el("a", { class: "mono", href: `explorer.html?q=${h}` }, h)))) : el("span", { class: "muted" }, t("explorer.none"));
  }
  if (typeof v === "boolean") return t(v ? "explorer.yes" : "explorer.no");
  if (key === "side" && (v === "sell" || v === "buy")) return el("span", { "data-field": key }, sideText(v));
  if (key === "status" || key === "cancel_reason") return el("span", { class: `badge badge-${v}`, "data-testid": `explorer-${key}` }, statusText(key, v));
  if (key === "token" && typeof v === "string" && ADDRESS.test(v)) {
    const info = tokenInfo(ctx.deployment, v);
    return el("span", {}, `${info.symbol} `, el("a", { class: "mono", href: `explorer.html?q=${v}` }, v));
  }
  const shown = formatted(key, v, context);
  if (shown !== null) return el("span", { "data-field": key }, shown);
  if (typeof v === "string" && (HASH.test(v) || ADDRESS.test(v))) {
    // Event topics and payment refs are hashes that are not transactions: show them plain.
    const searchable = ADDRESS.test(v) || /(^|_)(tx|hash|transaction)(_|$)|^tx$|^hash$|block_hash/.test(key || "");
    return searchable ? el("a", { class: "mono", href: `explorer.html?q=${v}` }, v) : el("code", {}, v);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return el("span", { class: "muted" }, t("explorer.none"));
    if (v.every((item) => item === null || typeof item !== "object")) return el("span", {}, v.map((item, i) => [i ? ", " : "", value(item, key, context)]));
    return el("div", { class: "stack" }, v.map((item) => table(item, contextOf(item, context))));
  }
  if (typeof v === "object") return table(v, contextOf(v, context));
  return el("span", { class: typeof v === "string" && v.length > 40 ? "mono" : "" }, String(v));
}

/** @param {Context} context */
function table(obj, context) {
  return el(
    "table",
    {},
    el(
      "tbody",
      {},
      Object.entries(obj).map(([key, v]) => el("tr", { "data-key": key }, el("th", {}, label(key)), el("td", {}, value(v, key, context)))),
    ),
  );
}

function title(result) {
  const id = result.hash ?? result.tx_hash ?? result.address ?? result.number ?? result.block_number ?? result.id ?? result.ad_id ?? result.order_id ?? "";
  return t(`explorer.kind.${result.kind}`, { id });
}

function resultCard(result) {
  const { kind, ...fields } = result;
  const links = [];
  if (kind === "order") {
    const id = result.id ?? result.order_id;
    links.push(el("a", { class: "btn btn-small", href: `order.html?id=${id}`, "data-testid": "open-order-page" }, t("explorer.open_order")));
  }
  if (kind === "ad") links.push(el("a", { class: "btn btn-small", href: "index.html" }, t("nav.market")));
  return el(
    "article",
    { class: "card result", "data-testid": "explorer-result", "data-kind": kind },
    el("div", { class: "spread" }, el("h2", {}, title(result)), el("span", { class: "badge" }, t(`explorer.kind_label.${kind}`))),
    table(fields, contextOf(fields)),
    links.length ? el("div", { class: "row", style: "margin-top:0.6rem" }, links) : null,
  );
}

/** A search the backend refused (4xx) is the user's to fix: say how, offer no retry. */
function refusal() {
  return el(
    "div",
    { class: "state state-error", "data-testid": "error", role: "alert" },
    el("strong", { "data-testid": "explorer-refused" }, t("explorer.refused", { q: state.query })),
    el("span", {}, t("explorer.hint")),
  );
}

function render() {
  const box = document.getElementById("results");
  if (!state.query) box.replaceChildren();
  else if (state.loading) box.replaceChildren(loadingState("explorer.searching"));
  else if (state.error instanceof ApiError && state.error.status >= 400 && state.error.status < 500) box.replaceChildren(refusal());
  else if (state.error) box.replaceChildren(errorBox(state.error, { retry: () => search(state.query) }));
  else if (!state.data?.results?.length) {
    box.replaceChildren(el("div", { class: "state state-empty", "data-testid": "empty" }, t("explorer.no_results", { q: state.query })));
  } else box.replaceChildren(...state.data.results.map(resultCard));
}

async function search(query) {
  state.query = query.trim();
  const url = new URL(location.href);
  if (state.query) url.searchParams.set("q", state.query);
  else url.searchParams.delete("q");
  history.replaceState(null, "", url);
  if (!state.query) {
    render();
    return;
  }
  const mine = ++seq;
  state.loading = true;
  state.error = null;
  render();
  try {
    const data = await api("/explorer/search", { query: { q: state.query }, auth: false });
    if (mine !== seq) return;
    state.data = data;
  } catch (err) {
    if (mine !== seq) return;
    state.error = err;
  }
  state.loading = false;
  render();
}

async function main() {
  await boot("explorer");
  const form = /** @type {any} */ (document.getElementById("search"));
  const query = new URLSearchParams(location.search).get("q") || "";
  form.elements.q.value = query;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(form.elements.q.value);
  });
  window.addEventListener("sentinel:lang", render);
  if (query) await search(query);
}

main();
