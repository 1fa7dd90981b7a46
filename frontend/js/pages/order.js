// The order page: status, countdown to the payment deadline (by the chain's clock),
// timeline, the actions the connected account may take (from the wallet or relayed),
// and the chat with the other party. It refreshes when the notifications socket says
// the order changed, and polls every few seconds as a fallback.
//
// The parts live in ../order/: state.js (data), summary.js, actions.js (with panels.js
// and relay.js), chat.js and notifications.js. This entry wires them: each view in VIEWS
// renders from the shared state after every refresh; a new part of the page (e.g. payment
// details) is a module with a render function added there, and its container in order.html.

import { t } from "../i18n.js";
import { boot } from "../shell.js";
import { errorBox, loadingState } from "../ui.js";
import { onWalletChange } from "../wallet.js";
import { initActions, perform, renderActions, resetActions, useCamera } from "../order/actions.js";
import { orderCamera } from "../order/camera.js";
import { chatLive, connectChat, pollChat, renderChat, renderChatGate, restartChat, sendChat } from "../order/chat.js";
import { renderFeedback } from "../order/feedback.js";
import { connectNotifications } from "../order/notifications.js";
import { mountPayment } from "../order/payment.js";
import { byId, expired, onChange, orderId, refresh, role, state } from "../order/state.js";
import { renderDeadline, renderHeading, renderSummary, renderTimeline } from "../order/summary.js";

const POLL_MS = 3000;

const VIEWS = [renderHeading, renderSummary, renderDeadline, renderActions, renderFeedback, renderTimeline, renderChatGate];
let payment; // the payment step (../order/payment.js), mounted once the page boots
const camera = orderCamera(orderId, {
  section: byId("camera-card"),
  onChange: () => state.order && renderActions({ force: true }),
});
useCamera(camera);

function render() {
  const stateBox = byId("order-state");
  if (!state.order) {
    byId("order-main").classList.add("hidden");
    // No such order is final: said in the page's language (also after a switch), no retry.
    const error = state.missing ? new Error(t(state.missing, { id: orderId })) : state.error;
    stateBox.replaceChildren(error ? errorBox(error, { retry: state.missing ? undefined : refresh }) : loadingState("order.loading"));
    return;
  }
  stateBox.replaceChildren(state.error ? errorBox(state.error, { retry: refresh }) : "");
  byId("order-main").classList.remove("hidden");
  if (state.lastStatus !== state.order.status) {
    state.lastStatus = state.order.status;
    state.panel = null; // a panel opened for the old status has no meaning now
  }
  camera.update(state.order, role());
  for (const view of VIEWS) view();
  payment?.render();
}

function tickCountdown() {
  if (!state.order) return;
  const wasExpired = document.querySelector("[data-testid=countdown]")?.getAttribute("data-expired") === "1";
  renderDeadline();
  // The moment the deadline passes, the actions change (cancel_expired appears).
  if (!wasExpired && expired()) renderActions();
}

async function main() {
  await boot("order");
  initActions();
  payment = mountPayment({
    orderId,
    order: () => state.order,
    ad: () => state.ad,
    role,
    markPaid: (ref, opts) => perform("mark_paid", { paymentRef: ref, ...opts }),
  });
  byId("chat-form").addEventListener("submit", sendChat);
  onChange(render);
  window.addEventListener("sentinel:lang", () => {
    resetActions();
    render();
    renderChat();
  });
  // A new session (or none): the chat socket opens again under it (the pushes' socket does so itself).
  window.addEventListener("sentinel:session", restartChat);
  onWalletChange(() => {
    render();
    renderChat();
  });
  await refresh();
  renderChat();
  connectChat();
  connectNotifications();
  setInterval(refresh, POLL_MS);
  setInterval(tickCountdown, 1000);
  // Without a chat socket (proxy, old backend), poll the transcript too.
  setInterval(() => {
    if (!chatLive()) pollChat();
  }, POLL_MS);
}

main();
