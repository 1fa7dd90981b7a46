// A trader's page: the record from chain events (completed trades, completion rate,
// median release time) and the feedback their trading partners left, newest first.

import { api } from "../api.js";
import { formatDuration, formatPercent, formatTime, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { feedbackCounts } from "../reputation.js";
import { boot } from "../shell.js";
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
  error: null,
  loading: true,
};

const byId = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

async function load({ append = false } = {}) {
  try {
    if (!ADDRESS.test(address)) throw new Error(t("reputation.bad_address"));
    const query = { limit: PAGE_SIZE, offset: append ? state.items.length : 0 };
    const [stats, page] = await Promise.all([
      append ? Promise.resolve(state.stats) : api("/traders/{address}/stats", { params: { address }, auth: false }),
      api("/traders/{address}/feedback", { params: { address }, query, auth: false }),
    ]);
    state.stats = stats;
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
    ["reputation.completion_rate", stats.completion_rate === null ? "—" : formatPercent(stats.completion_rate)],
    ["reputation.median_release", stats.median_release_seconds === null ? "—" : formatDuration(stats.median_release_seconds)],
    ["reputation.as_seller_buyer", t("reputation.sides", { seller: stats.as_seller, buyer: stats.as_buyer })],
    ["reputation.disputes", String(stats.disputes)],
    ["reputation.title", feedbackCounts(stats.feedback)],
  ];
  return el("dl", { class: "kv" }, rows.map(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)]));
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
