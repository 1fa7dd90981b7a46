// My orders: the signed-in user's orders as buyer and seller, newest first.

import { api } from "../api.js";
import { tokenInfo } from "../chain.js";
import { fiatTotal, formatFiat, formatTime, formatToken, sameAddress, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { rules } from "../protocol.js";
import { boot, ctx, requireSession } from "../shell.js";
import { actionOf, notificationsOn, notificationsSupported, onTodos, soundOn, todos, toggleNotifications, toggleSound } from "../todos.js";
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

async function load({ quiet = false } = {}) {
  if (!signedIn()) {
    render();
    return;
  }
  if (!quiet) {
    state.loading = true;
    state.error = null;
    render();
  }
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
      el(
        "span",
        {},
        actionOf(order.id) ? el("span", { class: "badge badge-todo", "data-testid": "order-todo" }, t(`todos.action.${actionOf(order.id)}`)) : null,
        " ",
        el("span", { class: `badge badge-${order.status}` }, t(`status.${order.status}`)),
      ),
    ),
    el(
      "div",
      { class: "small" },
      t(role === "buyer" ? "orders.you_buy" : "orders.you_sell", { amount: formatToken(order.amount, token) }),
      " · ",
      formatFiat(fiatTotal(order.amount, order.price, token.decimals), order.fiat),
    ),
    el(
      "div",
      { class: "small muted" },
      t("orders.with", { who: shortAddress(counterparty) }),
      " · ",
      el("span", { "data-testid": "order-side" }, t(order.side === "buy" ? "buyads.side_buy_ad" : "buyads.side_sell_ad")),
      " · ",
      formatTime(order.opened_at),
    ),
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

/** The to-do list at the top: each order that waits for the user, and what it waits for. */
function renderTodos() {
  const section = document.getElementById("todos");
  section.classList.toggle("hidden", !signedIn());
  if (!signedIn()) return;
  const toggles = [];
  if (notificationsSupported()) {
    toggles.push(
      el(
        "button",
        {
          class: "btn btn-small btn-ghost",
          type: "button",
          "data-testid": "todos-notify-toggle",
          "aria-pressed": String(notificationsOn()),
          onclick: async () => {
            await toggleNotifications();
            renderTodos();
          },
        },
        t(notificationsOn() ? "todos.notify_on" : "todos.notify_off"),
      ),
    );
  }
  toggles.push(
    el(
      "button",
      {
        class: "btn btn-small btn-ghost",
        type: "button",
        "data-testid": "todos-sound-toggle",
        "aria-pressed": String(soundOn()),
        onclick: () => {
          toggleSound();
          renderTodos();
        },
      },
      t(soundOn() ? "todos.sound_on" : "todos.sound_off"),
    ),
  );
  if (notificationsSupported() && Notification.permission === "denied") toggles.push(el("span", { class: "small muted" }, t("todos.notify_blocked")));
  document.getElementById("todos-toggles").replaceChildren(...toggles);
  const list = document.getElementById("todos-list");
  if (!todos.loaded) list.replaceChildren(loadingState());
  else if (todos.items.length === 0) list.replaceChildren(el("div", { class: "muted small", "data-testid": "todos-empty" }, t("todos.none")));
  else {
    list.replaceChildren(
      el(
        "ul",
        { class: "todos-items" },
        todos.items.map(({ action, order }) => {
          const token = tokenInfo(ctx.deployment, order.token);
          return el(
            "li",
            {},
            el(
              "a",
              { class: "todo-row", href: `order.html?id=${order.id}`, "data-testid": "todo-row", "data-order-id": order.id, "data-action": action },
              el("span", { class: "badge badge-todo" }, t(`todos.action.${action}`)),
              " ",
              t(`todos.hint.${action}`, { id: order.id, amount: formatToken(order.amount, token), total: formatFiat(fiatTotal(order.amount, order.price, token.decimals), order.fiat) }),
            ),
          );
        }),
      ),
    );
  }
}

async function main() {
  await boot("orders");
  // The statuses to filter by are the protocol's, as the backend serves them.
  const statusSelect = /** @type {HTMLSelectElement} */ (filters().querySelector("select[name=status]"));
  for (const { name } of rules()?.statuses ?? []) {
    statusSelect.append(el("option", { value: name, "data-i18n": `status.${name}` }, t(`status.${name}`)));
  }
  filters().addEventListener("change", () => load());
  window.addEventListener("sentinel:lang", render);
  window.addEventListener("sentinel:session", () => load());
  onWalletChange(render);
  // The to-dos move with pushes: the list below follows them (statuses, new orders) quietly.
  onTodos(() => {
    renderTodos();
    if (signedIn() && !state.loading) load({ quiet: true });
    else render();
  });
  renderTodos();
  await load();
}

main();
