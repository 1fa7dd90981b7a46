// The KYC officer console: the queue, an application's photos side by side with the
// distance and liveness figures and the account's history; approve (on chain), reject,
// revoke. Admins also see the audit log and can check its hash chain.

import { api, getSession } from "../api.js";
import { formatTime, shortAddress, shortHash } from "../format.js";
import { hasKey, t } from "../i18n.js";
import { boot, requireSession } from "../shell.js";
import { el, errorBox, explorerLink, loadingState } from "../ui.js";
import { onWalletChange, signedIn } from "../wallet.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

const state = {
  /** @type {string[]} */
  roles: [],
  /** @type {Schemas["ApplicationSummary"][]} */
  queue: [],
  selected: null,
  /** @type {Schemas["ApplicationDetail"] | null} */
  detail: null,
  images: {},
};
const $ = (id) => document.getElementById(id);
const isOfficer = () => state.roles.some((r) => r === "kyc_officer" || r === "admin");

async function loadRoles() {
  state.roles = signedIn() ? (await api("/auth/me")).roles || [] : [];
}

function renderGate() {
  const gate = $("officer-gate");
  if (!signedIn()) {
    gate.replaceChildren(
      el("div", { class: "state" }, t("kycofficer.sign_in"),
        el("button", { class: "btn btn-primary", type: "button", "data-testid": "officer-sign-in", onclick: () => requireSession().then(start).catch((err) => gate.append(errorBox(err))) }, t("wallet.sign_in"))),
    );
  } else if (!isOfficer()) {
    gate.replaceChildren(el("div", { class: "state state-error", "data-testid": "officer-forbidden" }, t("kycofficer.forbidden")));
  } else gate.replaceChildren();
  $("officer-desk").classList.toggle("hidden", !signedIn() || !isOfficer());
  $("audit").classList.toggle("hidden", !state.roles.includes("admin"));
}

async function loadQueue() {
  const box = $("queue");
  box.replaceChildren(loadingState());
  try {
    const status = /** @type {Schemas["ApplicationSummary"]["status"]} */ (new FormData(/** @type {HTMLFormElement} */ ($("queue-filters"))).get("status"));
    state.queue = (await api("/kyc/officer/queue", { query: { status, limit: 100 } })).items;
  } catch (err) {
    box.replaceChildren(errorBox(err, { retry: loadQueue }));
    return;
  }
  box.replaceChildren(
    state.queue.length
      ? el("div", { class: "stack" }, state.queue.map(queueRow))
      : el("div", { class: "state state-empty", "data-testid": "kyc-queue-empty" }, t("kycofficer.empty")),
  );
}

function verdict(match) {
  return match ? t(`kycofficer.match.${match}`) : "—";
}

/** @param {Schemas["ApplicationSummary"]} row */
function queueRow(row) {
  return el(
    "button",
    { class: "card btn-block", type: "button", style: "text-align:left;display:block", "data-testid": "kyc-queue-row", "data-application-id": row.id, onclick: () => select(row.id) },
    el("div", { class: "spread" }, el("strong", {}, t("kycofficer.application", { id: row.id })), el("span", { class: `badge badge-${row.status}` }, t(`kyc.status.${row.status}`))),
    el("div", { class: "small mono" }, shortAddress(row.account)),
    el("div", { class: "small muted" }, formatTime(row.created_at), " · ", verdict(row.match), row.distance !== null ? ` (${row.distance.toFixed(3)})` : ""),
  );
}

async function image(id, which) {
  // Fetched with the session (not a plain <img src>) and shown from memory: nothing cached.
  const res = await fetch(new URL(`/api/kyc/officer/applications/${id}/${which}`, location.origin), {
    headers: { Authorization: `Bearer ${getSession()?.token}` },
    cache: "no-store",
  });
  if (!res.ok) return null;
  return URL.createObjectURL(await res.blob());
}

async function select(id) {
  state.selected = id;
  const box = $("detail");
  box.replaceChildren(loadingState());
  try {
    state.detail = await api("/kyc/officer/applications/{application_id}", { params: { application_id: id } });
    Object.values(state.images).forEach((url) => url && URL.revokeObjectURL(url));
    state.images = { document: await image(id, "document"), selfie: await image(id, "selfie") };
  } catch (err) {
    box.replaceChildren(errorBox(err, { retry: () => select(id) }));
    return;
  }
  renderDetail();
}

function figure(label, src, testid) {
  return el("figure", {}, el("figcaption", { class: "small muted" }, label),
    src ? el("img", { src, alt: label, "data-testid": testid }) : el("div", { class: "state" }, t("kycofficer.no_image")));
}

function row(label, value, testid) {
  return [el("dt", {}, label), el("dd", testid ? { "data-testid": testid } : {}, value)];
}

function renderDetail() {
  const d = state.detail;
  const live = d.liveness || {};
  const result = el("div", { id: "decision-result" });
  const figures = el(
    "dl",
    { class: "kyc-figures" },
    row(t("kycofficer.account"), explorerLink(d.account, d.account), "kyc-detail-account"),
    row(t("kycofficer.status"), el("span", { class: `badge badge-${d.status}` }, t(`kyc.status.${d.status}`)), "kyc-detail-status"),
    row(t("kycofficer.distance"), d.distance === null ? "—" : t("kycofficer.distance_value", { distance: d.distance.toFixed(3), accept: d.accept_distance, reject: d.reject_distance, verdict: verdict(d.match) }), "kyc-detail-distance"),
    row(t("kycofficer.frames"), (d.frame_distances || []).map((x) => x.toFixed(3)).join(" · ") || "—"),
    row(t("kycofficer.liveness"), d.liveness_passed === null ? "—" : t(d.liveness_passed ? "kycofficer.live_yes" : "kycofficer.live_no", {
      how: [live.head_movement ? t("kycofficer.head_movement") : null, live.blink ? t("kycofficer.blink") : null].filter(Boolean).join(", ") || "—",
      parallax: live.parallax ?? "—",
    }), "kyc-detail-liveness"),
    row(t("kycofficer.document"), `${hasKey(`kyc.doc.${d.document_type}`) ? t(`kyc.doc.${d.document_type}`) : d.document_type} · ${d.document_number ?? t("kycofficer.erased")}`),
    row(t("kycofficer.reason"), d.reason || "—"),
    row(t("kycofficer.record_hash"), el("code", {}, d.record_hash || "—")),
    row(t("kycofficer.attestation"), d.attestation
      ? t(d.attestation.revoked ? "kycofficer.attestation_revoked" : "kycofficer.attestation_value", { level: d.attestation.level, until: formatTime(d.attestation.expires_at) })
      : "—", "kyc-detail-attestation"),
    d.attest_tx ? row(t("kycofficer.attest_tx"), el("a", { href: `explorer.html?q=${d.attest_tx}`, class: "mono", "data-testid": "kyc-detail-attest-tx", title: d.attest_tx }, shortHash(d.attest_tx))) : [],
    d.revoke_tx ? row(t("kycofficer.revoke_tx"), el("a", { href: `explorer.html?q=${d.revoke_tx}`, class: "mono" }, shortHash(d.revoke_tx))) : [],
  );
  const history = d.history.length
    ? el("ul", { class: "small", "data-testid": "kyc-history" }, d.history.map((h) => el("li", {}, t("kycofficer.application", { id: h.id }), " · ", t(`kyc.status.${h.status}`), " · ", formatTime(h.created_at), h.reason ? ` · ${h.reason}` : "")))
    : el("div", { class: "small muted" }, t("kycofficer.no_history"));
  $("detail").replaceChildren(
    el(
      "div",
      { class: "card stack" },
      el("h2", {}, t("kycofficer.application", { id: d.id })),
      el("div", { class: "kyc-pair" }, figure(t("kycofficer.document_photo"), state.images.document, "kyc-document-image"), figure(t("kycofficer.selfie"), state.images.selfie, "kyc-selfie-image")),
      figures,
      el("h3", {}, t("kycofficer.history")),
      history,
      actions(d, result),
      result,
    ),
  );
}

/** @param {Schemas["ApplicationDetail"]} d */
function actions(d, result) {
  if (d.status === "submitted") {
    const level = el("select", { "data-testid": "kyc-level", style: "width:auto" }, [1, 2, 3].map((n) => el("option", { value: n }, t(`kycofficer.level.${n}`))));
    const days = el("input", { type: "number", min: 1, max: 3650, value: 365, "data-testid": "kyc-valid-days", style: "width:7rem" });
    const reason = el("input", { maxlength: 128, "data-testid": "kyc-reject-reason", placeholder: t("kycofficer.reason_placeholder") });
    return el(
      "div",
      { class: "stack" },
      el("div", { class: "row" }, el("label", { class: "field" }, t("kycofficer.level_label"), level), el("label", { class: "field" }, t("kycofficer.valid_days"), days),
        el("button", { class: "btn btn-primary", type: "button", "data-testid": "kyc-approve", onclick: (e) => decide(e.currentTarget, result, "approve", { level: Number(level.value), valid_days: Number(days.value) }) }, t("kycofficer.approve"))),
      el("div", { class: "row" }, reason,
        el("button", { class: "btn btn-danger", type: "button", "data-testid": "kyc-reject", onclick: (e) => decide(e.currentTarget, result, "reject", { reason: reason.value.trim() }) }, t("kycofficer.reject"))),
    );
  }
  if (d.status === "approved") {
    const reason = el("input", { maxlength: 128, "data-testid": "kyc-revoke-reason", placeholder: t("kycofficer.reason_placeholder") });
    return el("div", { class: "row" }, reason,
      el("button", { class: "btn btn-danger", type: "button", "data-testid": "kyc-revoke", onclick: (e) => decide(e.currentTarget, result, "revoke", { reason: reason.value.trim() }) }, t("kycofficer.revoke")));
  }
  return el("div");
}

/**
 * @param {"approve" | "reject" | "revoke"} action
 * @param {Schemas["ApproveRequest"] | Schemas["ReasonRequest"]} body the action's
 */
async function decide(button, result, action, body) {
  button.disabled = true;
  result.replaceChildren(el("div", { class: "tx", "data-testid": "kyc-decision-pending" }, el("span", { class: "spinner" }), t(`kycofficer.sending.${action}`)));
  try {
    state.detail = await api(`/kyc/officer/applications/{application_id}/${action}`, { method: "POST", params: { application_id: state.selected }, body });
  } catch (err) {
    button.disabled = false;
    result.replaceChildren(el("div", { class: "field-error", role: "alert", "data-testid": "kyc-decision-error" }, err.message));
    return;
  }
  renderDetail();
  const tx = state.detail.attest_tx && action === "approve" ? state.detail.attest_tx : action === "revoke" ? state.detail.revoke_tx : null;
  document.getElementById("decision-result").replaceChildren(
    el("div", { class: "tx tx-done", "data-testid": "kyc-decision-done" }, t(`kycofficer.done.${action}`), tx ? el("span", { class: "mono", "data-testid": "kyc-decision-tx" }, ` ${tx}`) : null),
  );
  loadQueue();
  if (state.roles.includes("admin")) loadAudit();
}

async function loadAudit() {
  try {
    const page = await api("/kyc/audit", { query: { limit: 50 } });
    $("audit-list").replaceChildren(
      el("ul", { class: "small" }, page.items.map((e) =>
        el("li", { "data-testid": "kyc-audit-entry" }, `#${e.seq} `, formatTime(e.at), ` · ${e.actor} · `, el("strong", {}, e.action),
          e.application_id ? ` · ${t("kycofficer.application", { id: e.application_id })}` : "", " · ", el("code", {}, e.hash.slice(0, 12))))),
    );
  } catch (err) {
    $("audit-list").replaceChildren(errorBox(err));
  }
}

async function verifyAudit() {
  try {
    const report = await api("/kyc/audit/verify");
    $("audit-result").replaceChildren(
      el("div", { class: report.ok ? "tx tx-done" : "tx tx-failed", "data-ok": String(report.ok) },
        report.ok ? t("kycofficer.audit_ok", { n: report.entries }) : t("kycofficer.audit_bad", { seq: report.first_bad_seq, problem: report.problem })),
    );
  } catch (err) {
    $("audit-result").replaceChildren(errorBox(err));
  }
}

async function start() {
  try {
    await loadRoles();
  } catch (err) {
    $("officer-gate").replaceChildren(errorBox(err, { retry: start }));
    return;
  }
  renderGate();
  if (!isOfficer()) return;
  await loadQueue();
  if (state.roles.includes("admin")) loadAudit();
}

async function main() {
  await boot("kyc");
  $("queue-filters").addEventListener("change", loadQueue);
  $("queue-refresh").addEventListener("click", loadQueue);
  $("audit-verify").addEventListener("click", verifyAudit);
  window.addEventListener("sentinel:session", start);
  onWalletChange(start);
  await start();
}

main();
