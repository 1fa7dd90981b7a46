// My orders: the signed-in user's orders as buyer and seller, newest first.

import { api } from "../api.js";
import { tokenInfo } from "../chain.js";
import { fiatTotal, formatFiat, formatTime, formatToken, sameAddress, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { rules } from "../protocol.js";
import { boot, ctx, requireSession } from "../shell.js";
import { el, errorBox, loadingState } from "../ui.js";
import { onWalletChange, signedIn, wallet } from "../wallet.js";

const PAGE_SIZE = 50;
const state = {
  /** @type {import("../../../types/api").Schemas["OrderPublic"][]} */
  items: [],
  total: 0,
  loading: true,
  error: null,
};
const filters = () => document.getElementById("order-filters");

async function load() {
  if (!signedIn()) {
    render();
    return;
  }
  state.loading = true;
  state.error = null;
  render();
  const data = new FormData(/** @type {HTMLFormElement} */ (filters()));
  try {
    const page = await api("/me/orders", { query: { role: /** @type {any} */ (data.get("role")), status: String(data.get("status") || ""), limit: PAGE_SIZE } });
    state.items = page.items;
    state.total = page.total;
  } catch (err) {
    state.error = err;
  }
  state.loading = false;
  render();
}

function orderCard(order) {
  const token = tokenInfo(ctx.deployment, order.token);
  const role = sameAddress(order.buyer, wallet.address) ? "buyer" : "seller";
  const counterparty = role === "buyer" ? order.seller : order.buyer;
  return el(
    "a",
    { class: "card", href: `order.html?id=${order.id}`, "data-testid": "order-row", "data-order-id": order.id, style: "display:block;color:inherit;text-decoration:none" },
    el(
      "div",
      { class: "spread" },
      el("strong", {}, t("order.title", { id: order.id })),
      el("span", { class: `badge badge-${order.status}` }, t(`status.${order.status}`)),
    ),
    el(
      "div",
      { class: "small" },
      t(role === "buyer" ? "orders.you_buy" : "orders.you_sell", { amount: formatToken(order.amount, token) }),
      " · ",
      formatFiat(fiatTotal(order.amount, order.price, token.decimals), order.fiat),
    ),
    el("div", { class: "small muted" }, t("orders.with", { who: shortAddress(counterparty) }), " · ", formatTime(order.opened_at)),
  );
}

function render() {
  const box = document.getElementById("orders");
  if (!signedIn()) {
    box.replaceChildren(
      el(
        "div",
        { class: "state" },
        t("orders.sign_in"),
        el("button", { class: "btn btn-primary", type: "button", "data-testid": "orders-sign-in", onclick: () => requireSession().then(load).catch((err) => box.append(errorBox(err))) }, t("wallet.sign_in")),
      ),
    );
    return;
  }
  if (state.loading) box.replaceChildren(loadingState());
  else if (state.error) box.replaceChildren(errorBox(state.error, { retry: load }));
  else if (state.items.length === 0) {
    box.replaceChildren(el("div", { class: "state state-empty", "data-testid": "empty" }, t("orders.empty"), " ", el("a", { href: "index.html" }, t("nav.market"))));
  } else box.replaceChildren(el("div", { class: "order-row-cards" }, state.items.map(orderCard)));
}

async function main() {
  await boot("orders");
  // The statuses to filter by are the protocol's, as the backend serves them.
  const statusSelect = /** @type {HTMLSelectElement} */ (filters().querySelector("select[name=status]"));
  for (const { name } of rules()?.statuses ?? []) {
    statusSelect.append(el("option", { value: name, "data-i18n": `status.${name}` }, t(`status.${name}`)));
  }
  filters().addEventListener("change", load);
  window.addEventListener("sentinel:lang", render);
  window.addEventListener("sentinel:session", load);
  onWalletChange(render);
  await load();
}

main();
