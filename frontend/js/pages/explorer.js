// Explorer: one search box (tx hash, address, block number, ad or order id); the
// backend decodes the results with the project's ABIs and this page lays them out.

import { api } from "../api.js";
import { hasKey, t } from "../i18n.js";
import { boot } from "../shell.js";
import { el, errorBox, loadingState } from "../ui.js";

const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const state = {
  query: "",
  /** @type {import("../../../types/api").Schemas["SearchResponse"] | null} */
  data: null,
  loading: false,
  error: null,
};
let seq = 0;

function label(key) {
  const k = `explorer.field.${key}`;
  return hasKey(k) ? t(k) : key.replace(/_/g, " ");
}

function argsText(args) {
  return Object.entries(args || {})
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(", ");
}

/** A decoded call or event as one line: OtcEscrow.open_order(ad_id=1, amount=…). */
function callLine(contract, name, args) {
  return el("code", { class: "call" }, `${contract ? `${contract}.` : ""}${name ?? "?"}(${argsText(args)})`);
}

function value(v, key) {
  if (v === null || v === undefined || v === "") return el("span", { class: "muted" }, "—");
  if (key === "call" && typeof v === "object") return callLine(v.contract, v.function ?? v.selector, v.args);
  if (key === "events" && Array.isArray(v) && v.length) {
    return el(
      "ol",
      { class: "events", "data-testid": "explorer-events" },
      v.map((e) =>
        el(
          "li",
          { "data-event": e.name ?? "" },
          callLine(e.contract, e.name, e.args),
          e.tx_hash ? [" ", el("span", { class: "small muted" }, t("order.block", { block: e.block_number })), " ", el("a", { class: "mono small", href: `explorer.html?q=${e.tx_hash}` }, e.tx_hash.slice(0, 10) + "…")] : null,
        ),
      ),
    );
  }
  if (key === "transactions" && Array.isArray(v)) {
    return v.length ? el("div", {}, v.map((h) => el("div", {}, el("a", { class: "mono", href: `explorer.html?q=${h}` }, h)))) : el("span", { class: "muted" }, t("explorer.none"));
  }
  if (typeof v === "boolean") return t(v ? "explorer.yes" : "explorer.no");
  if (typeof v === "string" && (HASH.test(v) || ADDRESS.test(v))) {
    // Event topics and payment refs are hashes that are not transactions: show them plain.
    const searchable = ADDRESS.test(v) || /(^|_)(tx|hash|transaction)(_|$)|^tx$|^hash$|block_hash/.test(key || "");
    return searchable ? el("a", { class: "mono", href: `explorer.html?q=${v}` }, v) : el("code", {}, v);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return el("span", { class: "muted" }, t("explorer.none"));
    if (v.every((item) => item === null || typeof item !== "object")) return el("span", {}, v.map((item, i) => [i ? ", " : "", value(item, key)]));
    return el("div", { class: "stack" }, v.map((item) => table(item)));
  }
  if (typeof v === "object") return table(v);
  return el("span", { class: typeof v === "string" && v.length > 40 ? "mono" : "" }, String(v));
}

function table(obj) {
  return el(
    "table",
    {},
    el(
      "tbody",
      {},
      Object.entries(obj).map(([key, v]) => el("tr", {}, el("th", {}, label(key)), el("td", {}, value(v, key)))),
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
    table(fields),
    links.length ? el("div", { class: "row", style: "margin-top:0.6rem" }, links) : null,
  );
}

function render() {
  const box = document.getElementById("results");
  if (!state.query) box.replaceChildren();
  else if (state.loading) box.replaceChildren(loadingState("explorer.searching"));
  else if (state.error) box.replaceChildren(errorBox(state.error, { retry: () => search(state.query) }));
  else if (!state.data?.results?.length) {
    box.replaceChildren(
      el("div", { class: "state state-empty", "data-testid": "empty" }, t("explorer.no_results", { q: state.query }), state.data?.message ? el("code", { class: "reason" }, state.data.message) : null),
    );
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
