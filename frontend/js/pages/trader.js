// A trader's page: the record from chain events (completed trades, completion rate on
// their own ads of either side, median release time), their open ads on both sides, and
// the feedback their trading partners left, newest first.

import { api } from "../api.js";
import { tokenInfo } from "../chain.js";
import { formatDuration, formatFiat, formatPercent, formatTime, formatToken, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { feedbackCounts } from "../reputation.js";
import { boot, ctx } from "../shell.js";
import { el, emptyState, errorBox, explorerLink, loadingState } from "../ui.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

const PAGE_SIZE = 20;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const address = new URLSearchParams(location.search).get("address") || "";

const state = {
  /** @type {Schemas["TraderStats"] | null} */
  stats: null,
  /** @type {Schemas["FeedbackPublic"][]} */
  items: [],
  total: 0,
  /** @type {Schemas["FeedbackSummary"] | null} */
  summary: null,
  /** @type {Schemas["AdWithStats"][]} the trader's open ads, sell and buy */
  ads: [],
  error: null,
  loading: true,
};

const byId = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

async function load({ append = false } = {}) {
  try {
    if (!ADDRESS.test(address)) throw new Error(t("reputation.bad_address"));
    const query = { limit: PAGE_SIZE, offset: append ? state.items.length : 0 };
    const [stats, page, ads] = await Promise.all([
      append ? Promise.resolve(state.stats) : api("/traders/{address}/stats", { params: { address }, auth: false }),
      api("/traders/{address}/feedback", { params: { address }, query, auth: false }),
      append ? Promise.resolve(null) : api("/ads", { query: { maker: address, side: "any", sort: "newest", limit: 20 }, auth: false }),
    ]);
    state.stats = stats;
    if (ads) state.ads = ads.items;
    state.items = append ? [...state.items, ...page.items] : page.items;
    state.total = page.total;
    state.summary = page.summary;
    state.error = null;
  } catch (err) {
    state.error = err;
  }
  state.loading = false;
  render();
}

function statsList(stats) {
  const rows = [
    ["reputation.completed", el("span", { "data-testid": "trader-completed" }, String(stats.completed_trades))],
    // Counted on the orders others opened on the trader's ads (sell or buy), not their own as a taker.
    [
      "reputation.completion_rate",
      el(
        "span",
        { "data-testid": "trader-completion" },
        stats.completion_rate === null ? "—" : formatPercent(stats.completion_rate),
        " ",
        el("span", { class: "muted small" }, t("buyads.on_own_ads", { n: stats.ended_on_own_ads })),
      ),
    ],
    ["reputation.median_release", stats.median_release_seconds === null ? "—" : formatDuration(stats.median_release_seconds)],
    ["reputation.as_seller_buyer", t("reputation.sides", { seller: stats.as_seller, buyer: stats.as_buyer })],
    ["reputation.disputes", String(stats.disputes)],
    ["reputation.title", feedbackCounts(stats.feedback)],
  ];
  return el("dl", { class: "kv" }, rows.map(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)]));
}

/** One open ad of the trader: its side, price, what is available (or wanted), a link to its book. */
function adRow(ad) {
  const token = tokenInfo(ctx.deployment, ad.token);
  const buyAd = ad.side === "buy";
  return el(
    "li",
    { "data-testid": "trader-ad", "data-side": ad.side, "data-ad-id": ad.id },
    el("span", { class: `badge badge-side-${ad.side}` }, t(`buyads.side_badge_${ad.side}`)),
    " ",
    el("strong", {}, formatFiat(ad.price, ad.fiat)),
    " ",
    el("span", { class: "muted small" }, t("ad.per_token", { symbol: token.symbol })),
    " · ",
    t(buyAd ? "buyads.wanted" : "ad.available"),
    " ",
    formatToken(ad.available, token),
    " · ",
    el("a", { href: buyAd ? "index.html?side=buy" : "index.html" }, t(buyAd ? "buyads.tab_sell" : "buyads.tab_buy")),
  );
}

function feedbackItem(item) {
  return el(
    "div",
    { class: "feedback-item", "data-testid": "trader-feedback-item", "data-positive": item.positive ? "1" : "0" },
    el(
      "div",
      { class: "small muted" },
      t(item.author_role === "buyer" ? "reputation.from_buyer" : "reputation.from_seller"),
      " ",
      el("a", { href: `trader.html?address=${item.author}`, class: "mono" }, shortAddress(item.author)),
      " · ",
      el("a", { href: `order.html?id=${item.order_id}` }, t("reputation.order", { id: item.order_id })),
      " · ",
      formatTime(item.created_at),
    ),
    el("div", {}, el("span", { class: `badge ${item.positive ? "badge-positive" : "badge-negative"}` }, t(item.positive ? "reputation.positive" : "reputation.negative"))),
    item.comment ? el("p", { class: "feedback-comment" }, item.comment) : null,
  );
}

function render() {
  const stateBox = byId("trader-state");
  byId("trader-address").replaceChildren(ADDRESS.test(address) ? explorerLink(address, address) : "");
  if (state.loading || (state.error && !state.stats)) {
    byId("trader-main").classList.add("hidden");
    stateBox.replaceChildren(state.loading ? loadingState() : errorBox(state.error, { retry: () => load() }));
    return;
  }
  stateBox.replaceChildren(state.error ? errorBox(state.error, { retry: () => load() }) : "");
  byId("trader-main").classList.remove("hidden");
  byId("trader-title").textContent = t("reputation.trader_heading", { address: shortAddress(address) });
  byId("trader-stats").replaceChildren(statsList(state.stats));
  byId("trader-ads").replaceChildren(state.ads.length ? el("ul", { class: "plain-list" }, state.ads.map(adRow)) : emptyState("buyads.trader_no_ads"));
  byId("trader-counts").replaceChildren(feedbackCounts(state.summary));
  byId("trader-feedback-list").replaceChildren(...(state.items.length ? state.items.map(feedbackItem) : [emptyState("reputation.none_about")]));
  byId("trader-more").classList.toggle("hidden", state.items.length >= state.total);
}

async function main() {
  await boot("trader");
  byId("trader-more").addEventListener("click", () => load({ append: true }));
  window.addEventListener("sentinel:lang", render);
  render();
  await load();
}

main();
