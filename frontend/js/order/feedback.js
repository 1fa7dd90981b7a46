// Feedback on the order page: once the order has ended, each party may leave one rating
// (positive / negative) and a short comment, signed by the wallet (EIP-712: the backend
// words the message, the wallet signs it, the backend checks who signed). Both sides'
// feedback shows here for anyone. The form is built once and kept while the user types:
// the page re-renders on every poll, this card only when its data changed.

import { api } from "../api.js";
import { describeError } from "../chain.js";
import { formatTime, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { ctx, requireSession } from "../shell.js";
import { el, errorBox } from "../ui.js";
import { getSigner } from "../wallet.js";
import { byId, orderId, role, state } from "./state.js";

/** @typedef {import("../../../types/api").Schemas["OrderFeedback"]} OrderFeedback */
/** @typedef {import("../../../types/api").Schemas["FeedbackPublic"]} FeedbackPublic */

const MAX_COMMENT = 280;
const RELOAD_MS = 10000; // the other side's feedback appears without a reload

const local = {
  /** @type {OrderFeedback | null} */
  data: null,
  loadedAt: 0,
  loading: false,
  error: null,
  busy: false,
  formError: "",
  /** @type {HTMLElement | null} */
  form: null,
  renderedKey: "",
};

async function load() {
  if (local.loading) return;
  local.loading = true;
  try {
    local.data = await api("/orders/{order_id}/feedback", { params: { order_id: orderId }, auth: false });
    local.error = null;
  } catch (err) {
    local.error = err;
  }
  local.loading = false;
  local.loadedAt = Date.now();
  draw(true);
}

export function renderFeedback() {
  const card = byId("feedback-card");
  const order = state.order;
  const ended = order && ["RELEASED", "CANCELLED", "RESOLVED"].includes(order.status);
  card.classList.toggle("hidden", !ended);
  if (!ended) return;
  if (!local.data || Date.now() - local.loadedAt > RELOAD_MS) load();
  draw(false);
}

/** Redraw the list (and the form's presence) when what it shows changed, or when asked. */
function draw(force) {
  const you = role();
  const key = JSON.stringify([local.data, local.error?.message, you, document.documentElement.lang]);
  if (!force && key === local.renderedKey) return;
  local.renderedKey = key;
  byId("feedback-list").replaceChildren(
    ...(local.error ? [errorBox(local.error, { retry: load })] : []),
    ...(local.data ? [side("buyer"), side("seller")] : []),
  );
  const mine = you === "buyer" || you === "seller" ? local.data?.[you] : undefined;
  const canLeave = local.data && (you === "buyer" || you === "seller") && !mine;
  if (!canLeave) {
    local.form = null;
    byId("feedback-form-box").replaceChildren();
  } else if (!local.form || local.form.dataset.lang !== document.documentElement.lang) {
    local.form = buildForm();
    byId("feedback-form-box").replaceChildren(local.form);
  }
}

/** What `author` (buyer or seller) said about the other side, or that they have not yet. */
function side(author) {
  const order = state.order;
  /** @type {FeedbackPublic | null} */
  const given = local.data[author];
  const address = author === "buyer" ? order.buyer : order.seller;
  const who = role() === author ? t("reputation.you") : t(`reputation.the_${author}`);
  const heading = el(
    "div",
    { class: "small muted" },
    t("reputation.from", { who }),
    " · ",
    el("a", { href: `trader.html?address=${address}`, class: "mono" }, shortAddress(address)),
  );
  if (!given) {
    return el("div", { class: "feedback-item", "data-testid": `feedback-${author}`, "data-left": "0" }, heading, el("div", { class: "muted" }, t("reputation.not_yet")));
  }
  return el(
    "div",
    { class: "feedback-item", "data-testid": `feedback-${author}`, "data-left": "1", "data-positive": given.positive ? "1" : "0" },
    heading,
    el(
      "div",
      {},
      el("span", { class: `badge ${given.positive ? "badge-positive" : "badge-negative"}`, "data-testid": "feedback-rating" }, t(given.positive ? "reputation.positive" : "reputation.negative")),
      " ",
      el("span", { class: "small muted" }, formatTime(given.created_at)),
    ),
    given.comment ? el("p", { class: "feedback-comment", "data-testid": "feedback-comment" }, given.comment) : null,
  );
}

function buildForm() {
  const errorLine = el("div", { class: "field-error", role: "alert", "data-testid": "feedback-error" });
  const counter = el("span", { class: "hint", "data-testid": "feedback-count" });
  const comment = /** @type {HTMLTextAreaElement} */ (
    el("textarea", { id: "feedback-comment", maxlength: String(MAX_COMMENT), "data-testid": "feedback-comment-input", rows: "3" })
  );
  const updateCount = () => {
    counter.textContent = t("reputation.chars_left", { n: MAX_COMMENT - [...comment.value].length });
  };
  comment.addEventListener("input", updateCount);
  updateCount();
  const choice = (value, key) =>
    el(
      "label",
      {},
      el("input", { type: "radio", name: "feedback-rating", value, "data-testid": `feedback-${value}` }),
      el("span", {}, t(key)),
    );
  const submit = el("button", { class: "btn btn-primary", type: "submit", "data-testid": "leave-feedback" }, t("reputation.leave"));
  const form = el(
    "form",
    { class: "feedback-form stack", "data-testid": "feedback-form", "data-lang": document.documentElement.lang },
    el("h3", {}, t("reputation.leave_title")),
    el("fieldset", { class: "checks", role: "radiogroup" }, el("legend", { class: "small muted" }, t("reputation.rating")), choice("positive", "reputation.positive"), choice("negative", "reputation.negative")),
    el("label", { class: "field", for: "feedback-comment" }, el("span", {}, t("reputation.comment_label")), comment),
    counter,
    el("div", { class: "hint" }, t("reputation.signed_hint")),
    el("div", { class: "row" }, submit),
    errorLine,
  );
  // A choice made answers the last complaint.
  form.addEventListener("change", () => {
    errorLine.textContent = "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=feedback-rating]:checked"));
    errorLine.textContent = "";
    if (!picked) {
      errorLine.textContent = t("reputation.choose_rating");
      return;
    }
    const text = comment.value.trim();
    if ([...text].length > MAX_COMMENT) {
      errorLine.textContent = t("reputation.too_long", { max: MAX_COMMENT });
      return;
    }
    const draft = { positive: picked.value === "positive", comment: text };
    submit.setAttribute("disabled", "");
    submit.textContent = t("reputation.signing");
    try {
      await requireSession();
      const prepared = await api("/orders/{order_id}/feedback/prepare", { method: "POST", params: { order_id: orderId }, body: draft });
      const { domain, message } = prepared.typed_data;
      // ethers derives the EIP712Domain type from the domain itself and refuses it in `types`.
      const types = { ...prepared.typed_data.types };
      delete types.EIP712Domain;
      const signer = await getSigner(ctx.deployment);
      const signature = await signer.signTypedData(domain, types, message);
      await api("/orders/{order_id}/feedback", { method: "POST", params: { order_id: orderId }, body: { ...draft, signature } });
      local.form = null;
      await load();
    } catch (err) {
      errorLine.textContent = describeError(err).message;
      submit.removeAttribute("disabled");
      submit.textContent = t("reputation.leave");
    }
  });
  return form;
}
