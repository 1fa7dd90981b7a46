// Node status: authorities and quorum, nodes with their state, endpoint, last heartbeat and
// hardware, the proposals in flight and the admission history with its reasons. Admins
// start a revocation here, and approve proposals with the authority keys the backend holds.

import { api } from "../api.js";
import { formatTime, shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { boot } from "../shell.js";
import { el, errorBox, explorerLink, loadingState } from "../ui.js";
import { signedIn } from "../wallet.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */
/** @typedef {Schemas["NetworkStatus"]} NetworkStatus */

const REFRESH_MS = 5000;
const state = {
  /** @type {NetworkStatus | null} */
  data: null,
  error: null,
  admin: false,
  busy: false,
  message: null,
};

function ago(ms) {
  if (!ms) return t("nodes.never");
  return t("nodes.seconds_ago", { n: Math.max(0, Math.round((Date.now() - ms) / 1000)) });
}

/** @param {Schemas["HardwareReport"] | null} hw a node's last report (the schema keeps it as a plain object) */
function hardwareText(hw) {
  if (!hw) return "—";
  const gpu = hw.gpus?.length ? hw.gpus.map((g) => g.name).join(", ") : t("nodes.no_gpu");
  return t("nodes.hardware_line", {
    cores: hw.cpu_cores,
    memory: (hw.memory_mb / 1024).toFixed(1),
    disk: hw.disk_free_gb,
    gpu,
    os: hw.os,
  });
}

async function act(run) {
  if (state.busy) return;
  state.busy = true;
  state.message = null;
  render();
  try {
    await run();
  } catch (err) {
    state.message = err;
  }
  state.busy = false;
  await load();
}

/** @param {NetworkStatus["nodes"][number]} node */
function revokeForm(node) {
  const input = el("input", { name: "reason", maxlength: "128", required: true, "data-testid": "revoke-reason", placeholder: t("nodes.reason") });
  const form = el(
    "form",
    { class: "row", "data-testid": "revoke-form" },
    input,
    el("button", { class: "btn btn-small", type: "submit", disabled: state.busy, "data-testid": "revoke" }, t("nodes.revoke")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api("/nodes/{node}/revocations", { method: "POST", params: { node: node.address }, body: { reason: input.value.trim() } }));
  });
  return form;
}

/** @param {NetworkStatus} d */
function authoritiesCard(d) {
  return el(
    "section",
    { class: "card", "data-testid": "authorities" },
    el("h2", {}, t("nodes.authorities")),
    el("p", { "data-testid": "quorum" }, t("nodes.quorum", { quorum: d.quorum, count: d.authority_count })),
    el(
      "ul",
      {},
      d.authorities.map((a) =>
        el("li", { "data-testid": "authority" }, explorerLink(a.address, a.address), " ", a.held_here ? el("span", { class: "badge" }, t("nodes.held_here")) : null),
      ),
    ),
    el("p", { class: "small muted" }, t(d.relay_fallback_to_own_key ? "nodes.fallback_on" : "nodes.fallback_off")),
  );
}

/** @param {NetworkStatus} d */
function nodesCard(d) {
  const rows = d.nodes.map((n) =>
    el(
      "tr",
      { "data-testid": "node", "data-address": n.address, "data-state": n.state },
      el("td", {}, el("span", { class: `dot ${n.live ? "dot-ok" : "dot-bad"}`, title: t(n.live ? "nodes.live" : "nodes.not_live") }), " ", explorerLink(n.address, shortAddress(n.address))),
      el("td", {}, el("span", { class: `badge badge-node-${n.state}` }, t(`nodes.state.${n.state}`)), n.revoked_reason ? el("div", { class: "small muted" }, n.revoked_reason) : null),
      el("td", { class: "mono small" }, n.endpoint || "—"),
      el("td", { "data-testid": "heartbeat" }, ago(n.last_heartbeat_ms)),
      el("td", { class: "small" }, hardwareText(/** @type {Schemas["HardwareReport"] | null} */ (n.hardware))),
      el("td", {}, String(n.relayed)),
      state.admin ? el("td", {}, n.state === "admitted" ? revokeForm(n) : null) : null,
    ),
  );
  return el(
    "section",
    { class: "card", "data-testid": "nodes" },
    el("h2", {}, t("nodes.nodes")),
    d.nodes.length
      ? el(
          "table",
          { class: "list-table" },
          el(
            "thead",
            {},
            el("tr", {}, ["nodes.col.node", "nodes.col.state", "nodes.col.endpoint", "nodes.col.heartbeat", "nodes.col.hardware", "nodes.col.relayed"].map((k) => el("th", {}, t(k))), state.admin ? el("th", {}, "") : null),
          ),
          el("tbody", {}, rows),
        )
      : el("p", { class: "muted" }, t("nodes.none")),
  );
}

/** @param {NetworkStatus} d */
function proposalsCard(d) {
  const held = d.authorities.filter((a) => a.held_here).map((a) => a.address);
  const rows = d.proposals.map((p) => {
    const open = !p.executed && !p.stale;
    const approvers = open && state.admin ? held.filter((a) => !p.approved_by.includes(a)) : [];
    return el(
      "tr",
      { "data-testid": "proposal", "data-id": p.id, "data-kind": p.kind },
      el("td", {}, `#${p.id}`),
      el("td", {}, t(`nodes.kind.${p.kind}`)),
      el("td", {}, explorerLink(p.subject, shortAddress(p.subject))),
      el("td", { "data-testid": "approvals" }, t("nodes.approvals", { n: p.approvals, quorum: p.quorum })),
      el("td", {}, t(p.executed ? "nodes.executed" : p.stale ? "nodes.stale" : "nodes.open"), p.reason ? el("div", { class: "small muted" }, p.reason) : null),
      el(
        "td",
        {},
        approvers.map((a) =>
          el(
            "button",
            { class: "btn btn-small", type: "button", disabled: state.busy, "data-testid": "approve", "data-authority": a, onclick: () => act(() => api("/nodes/proposals/{proposal_id}/approvals", { method: "POST", params: { proposal_id: p.id }, body: { authority: a } })) },
            t("nodes.approve_as", { authority: shortAddress(a) }),
          ),
        ),
      ),
    );
  });
  return el(
    "section",
    { class: "card", "data-testid": "proposals" },
    el("h2", {}, t("nodes.proposals")),
    d.proposals.length ? el("table", { class: "list-table" }, el("tbody", {}, rows)) : el("p", { class: "muted" }, t("nodes.none")),
  );
}

/** @param {NetworkStatus} d */
function admissionsCard(d) {
  const rows = d.admissions.map((a) =>
    el(
      "tr",
      { "data-testid": "admission", "data-outcome": a.outcome, "data-check": a.check },
      el("td", { class: "small" }, formatTime(Math.floor(a.created_ms / 1000))),
      el("td", {}, explorerLink(a.candidate, shortAddress(a.candidate))),
      el("td", {}, a.authority ? shortAddress(a.authority) : "—"),
      el("td", {}, el("span", { class: `badge badge-admission-${a.outcome}` }, t(`nodes.outcome.${a.outcome}`))),
      el("td", { class: "small" }, t(`nodes.check.${a.check}`)),
      el("td", { class: "small" }, a.reason),
      el("td", { class: "small" }, a.elapsed_ms == null ? "—" : `${a.elapsed_ms} ms`),
    ),
  );
  return el(
    "section",
    { class: "card", "data-testid": "admissions" },
    el("h2", {}, t("nodes.admissions")),
    d.admissions.length
      ? el(
          "table",
          { class: "list-table" },
          el("thead", {}, el("tr", {}, ["nodes.col.time", "nodes.col.candidate", "nodes.col.authority", "nodes.col.outcome", "nodes.col.check", "nodes.col.reason", "nodes.col.elapsed"].map((k) => el("th", {}, t(k))))),
          el("tbody", {}, rows),
        )
      : el("p", { class: "muted" }, t("nodes.none")),
  );
}

function render() {
  const box = document.getElementById("nodes-page");
  if (state.error && !state.data) return box.replaceChildren(errorBox(state.error, { retry: load }));
  if (!state.data) return box.replaceChildren(loadingState());
  const cards = [authoritiesCard(state.data), nodesCard(state.data), proposalsCard(state.data), admissionsCard(state.data)];
  box.replaceChildren(...(state.message ? [errorBox(state.message), ...cards] : cards));
}

async function loadRoles() {
  state.admin = false;
  if (!signedIn()) return;
  try {
    const me = await api("/auth/me");
    state.admin = me.roles.includes("admin");
  } catch {
    state.admin = false;
  }
}

async function load() {
  try {
    state.data = await api("/nodes/status", { auth: false });
    state.error = null;
  } catch (err) {
    state.error = err;
  }
  render();
}

async function main() {
  await boot("nodes");
  await loadRoles();
  await load();
  window.addEventListener("sentinel:lang", render);
  window.addEventListener("sentinel:session", async () => {
    await loadRoles();
    render();
  });
  setInterval(() => {
    if (!state.busy && document.visibilityState === "visible") load();
  }, REFRESH_MS);
}

main();
