// What needs you: the signed-in user's orders that wait for them (GET /me/todos), as a
// count in the header on every page and a list on My orders, kept current by the
// notifications socket without a reload. The same pushes become browser notifications
// (when the user allowed them) and an optional beep, unless the order's own page is in
// front: there the user already sees the change.

import { api } from "./api.js";
import { onPush } from "./pushes.js";
import { sameAddress } from "./format.js";
import { t } from "./i18n.js";
import { el } from "./ui.js";
import { signedIn, wallet } from "./wallet.js";

const NOTIFY_KEY = "sentinel.todos.notify";
const SOUND_KEY = "sentinel.todos.sound";
const REFRESH_DEBOUNCE_MS = 250;

/** Who acted in each order event: the others hear of it (nobody is told of their own click).
 * OrderOpened's actor is the taker: the buyer on a sell ad, the seller on a buy ad (openerOf). */
const ACTOR = {
  OrderOpened: "taker",
  OrderPaid: "buyer",
  OrderReleased: "seller",
  OrderCancelled: "by",
  DisputeOpened: "by",
  DisputeResolved: "arbitrator",
  DeadlineExtended: null,
};

export const todos = {
  /** @type {import("../../types/api").Schemas["TodoItem"][]} */
  items: [],
  count: 0,
  loaded: false,
};

const listeners = [];
let refreshTimer = null;
let audio = null;

/** `handler()` after every change of the to-do list. */
export function onTodos(handler) {
  listeners.push(handler);
}

/** The action `order_id` waits for from the user, or null. */
export function actionOf(orderId) {
  return todos.items.find((item) => item.order.id === orderId)?.action ?? null;
}

export async function refreshTodos() {
  if (!signedIn()) {
    Object.assign(todos, { items: [], count: 0, loaded: false });
  } else {
    try {
      const list = await api("/me/todos");
      Object.assign(todos, { items: list.items, count: list.count, loaded: true });
    } catch (err) {
      console.warn("to-dos:", err);
    }
  }
  renderBadge();
  for (const handler of listeners) handler();
}

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshTodos, REFRESH_DEBOUNCE_MS);
}

// ------------------------------------------------------------------ header badge

function renderBadge() {
  const area = document.getElementById("todos-area");
  if (!area) return;
  if (!signedIn()) {
    area.replaceChildren();
    return;
  }
  const count = todos.count;
  area.replaceChildren(
    el(
      "a",
      {
        class: `todos-link ${count ? "todos-link-due" : ""}`,
        href: "orders.html#todos",
        "data-testid": "todos-link",
        title: t("todos.badge_title", { count }),
        "aria-label": t("todos.badge_title", { count }),
      },
      el("span", { class: "todos-bell", "aria-hidden": "true" }),
      el("span", { class: "todos-count", "data-testid": "todos-count", "aria-hidden": "true" }, String(count)),
    ),
  );
}

// ------------------------------------------------------------ notifications socket

function onTodoPush(push) {
  if (push.type === "subscribed") {
    refreshTodos(); // whatever moved while the socket was away
    return;
  }
  if (push.type !== "chain_event" && push.type !== "chat") return;
  if (push.order_id === null || push.order_id === undefined) return;
  refreshSoon();
  alertUser(push);
}

/** Start once per page (the shell does it): the badge, the socket, and their restarts. */
export function startTodos() {
  window.addEventListener("sentinel:session", refreshTodos);
  window.addEventListener("sentinel:lang", () => {
    renderBadge();
    for (const handler of listeners) handler();
  });
  // A chat reply answers a dispute: the page that sent it says so (the push goes to the others).
  window.addEventListener("sentinel:todos-stale", refreshSoon);
  // Browsers keep audio suspended until the page has had a gesture: the first one unlocks it.
  for (const kind of ["pointerdown", "keydown"]) {
    document.addEventListener(kind, () => soundOn() && unlockAudio(), { once: true, capture: true });
  }
  renderBadge();
  onPush(onTodoPush);
  refreshTodos();
}

// ------------------------------------------------------- browser notifications, sound

function orderPageInFront(orderId) {
  if (document.hidden) return false;
  if (!location.pathname.endsWith("/order.html")) return false;
  return Number(new URLSearchParams(location.search).get("id")) === orderId;
}

/** Who opened an order: whichever party did not post its ad (the event names both). */
async function openerOf(push) {
  const { ad_id: adId, buyer, seller } = push.args || {};
  try {
    const ad = await api("/ads/{ad_id}", { params: { ad_id: Number(adId) }, auth: false });
    return sameAddress(ad.maker, seller) ? buyer : seller;
  } catch {
    return buyer; // no answer: the usual case, a buyer taking a sell ad
  }
}

async function message(push) {
  const id = push.order_id;
  if (push.type === "chat") return t("todos.notify.chat", { id });
  const actorKey = ACTOR[push.event];
  if (actorKey === undefined) return null; // ActionRelayed and the like: the state event follows
  const actor = actorKey === "taker" ? await openerOf(push) : actorKey ? push.args?.[actorKey] : null;
  if (actor && sameAddress(actor, wallet.address)) return null;
  return t(`todos.notify.${push.event}`, { id });
}

async function alertUser(push) {
  const orderId = Number(push.order_id);
  if (orderPageInFront(orderId)) return;
  const body = await message(push);
  if (!body) return;
  if (notificationsOn()) {
    try {
      const note = new Notification(t("todos.notify_title", { id: orderId }), {
        body,
        // One per order and event: several open tabs show it once.
        tag: `sentinel-order-${orderId}-${push.type === "chat" ? "chat" : push.event}`,
        icon: "img/logo.svg",
      });
      note.onclick = () => {
        window.focus();
        location.href = `order.html?id=${orderId}`;
      };
    } catch (err) {
      console.warn("notification:", err);
    }
  }
  if (soundOn()) beep();
}

export function notificationsSupported() {
  return "Notification" in window;
}

export function notificationsOn() {
  return notificationsSupported() && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on";
}

/** Call from a click: asks the browser's permission the first time. Resolves with the new state. */
export async function toggleNotifications() {
  if (!notificationsSupported()) return false;
  if (notificationsOn()) {
    localStorage.setItem(NOTIFY_KEY, "off");
    return false;
  }
  const permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
  localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "on" : "off");
  return notificationsOn();
}

export function soundOn() {
  return localStorage.getItem(SOUND_KEY) === "on";
}

/** Call from a click: browsers start audio only after a gesture, so the context is made here. */
export function toggleSound() {
  const on = !soundOn();
  localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  if (on) beep();
  return on;
}

function unlockAudio() {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch (err) {
    console.warn("sound:", err);
  }
}

function beep() {
  try {
    unlockAudio();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = 880;
    const now = audio.currentTime;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(now);
    oscillator.stop(now + 0.3);
  } catch (err) {
    console.warn("sound:", err);
  }
}
