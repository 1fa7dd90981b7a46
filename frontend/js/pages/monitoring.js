// Monitoring center (role monitor; admins too): alerts with filters and a live feed,
// acknowledge / assign / resolve with a note, account freezes, camera sessions, the chain
// and the admitted nodes.

import { ApiError, api, getSession, setSession, wsUrl } from "../api.js";
import { formatDuration, formatTime, shortAddress } from "../format.js";
import { hasKey, t } from "../i18n.js";
import { boot } from "../shell.js";
import { el, errorBox } from "../ui.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */
/** @typedef {import("../../../types/api").QueryOf<"/monitoring/alerts">} AlertQuery */

const state = {
  /** @type {Map<number, Schemas["AlertPublic"]>} id -> alert */
  alerts: new Map(),
  fresh: new Set(), // ids that arrived live, highlighted once
  /** @type {Map<string, Schemas["CameraSessionPublic"]>} "order:address" -> session */
  cameras: new Map(),
  /** @type {Schemas["StaffPublic"][]} */
  staff: [],
  /** @type {Schemas["RulePublic"][]} */
  rules: [],
  /** @type {{status: AlertQuery["status"] | "", severity: AlertQuery["severity"] | "", rule: string, address: string}} "" for any */
  filters: { status: "unresolved", severity: "", rule: "", address: "" },
  /** @type {Schemas["AccountStanding"] | null} standing of the account looked up */
  account: null,
  accountError: null,
  socket: null,
  live: false,
};

// The page's own elements (monitoring.html), forms and their fields among them.
const $ = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

function ruleName(rule) {
  const key = `monitoring.rule.${rule}`;
  return hasKey(key) ? t(key) : rule;
}

function when(iso) {
  return formatTime(Math.floor(Date.parse(iso) / 1000));
}

// ------------------------------------------------------------------ alerts

function matches(alert) {
  const f = state.filters;
  if (f.status === "unresolved" && alert.status === "resolved") return false;
  if (f.status && f.status !== "unresolved" && alert.status !== f.status) return false;
  if (f.severity && alert.severity !== f.severity) return false;
  if (f.rule && alert.rule !== f.rule) return false;
  if (f.address && (alert.address || "").toLowerCase() !== f.address.toLowerCase()) return false;
  return true;
}

async function loadAlerts() {
  const f = state.filters;
  const page = await api("/monitoring/alerts", { query: { status: f.status || undefined, severity: f.severity || undefined, rule: f.rule, address: f.address, limit: 200 } });
  state.alerts = new Map(page.items.map((a) => [a.id, a]));
  renderAlerts();
}

/**
 * @param {"acknowledge" | "assign" | "resolve"} path
 * @param {Schemas["NoteBody"] | Schemas["AssignBody"] | Schemas["ResolveBody"]} body the action's
 */
async function act(alertId, path, body) {
  try {
    const updated = await api(`/monitoring/alerts/{alert_id}/${path}`, { method: "POST", params: { alert_id: alertId }, body });
    state.alerts.set(updated.id, updated);
    renderAlerts();
  } catch (err) {
    window.alert(err.message);
  }
}

function evidence(link) {
  if (link.kind === "frame") {
    return el("a", { href: link.href, target: "_blank", title: link.label }, el("img", { src: link.href, alt: t("monitoring.frame"), width: "96", height: "72", class: "thumb" }));
  }
  const label = link.kind === "address" ? shortAddress(link.label) : link.kind === "tx" ? `${link.label.slice(0, 10)}…` : link.label;
  return el("a", { href: link.href, class: "mono small" }, `${t(`monitoring.evidence.${link.kind}`)} ${label}`);
}

function alertCard(alert) {
  const resolved = alert.status === "resolved";
  const note = el("input", { placeholder: t("monitoring.note_placeholder"), "data-testid": "alert-note", style: "width:auto;flex:1" });
  const assignee = el(
    "select",
    { "data-testid": "alert-assignee", style: "width:auto" },
    state.staff.map((s) => el("option", { value: s.username || s.address }, s.username || shortAddress(s.address))),
  );
  const card = el(
    "div",
    { class: `card alert-card sev-${alert.severity} ${state.fresh.has(alert.id) ? "fresh" : ""}`, "data-testid": "alert", "data-alert-id": alert.id, "data-rule": alert.rule, "data-status": alert.status },
    el(
      "div",
      { class: "row" },
      el("span", { class: `badge badge-${alert.severity}` }, t(`monitoring.severity.${alert.severity}`)),
      el("strong", {}, ruleName(alert.rule)),
      el("span", { class: `badge ${resolved ? "badge-resolved" : ""}`, "data-testid": "alert-status" }, t(`monitoring.status.${alert.status}`)),
      alert.assignee ? el("span", { class: "small muted" }, t("monitoring.assigned_to", { who: alert.assignee })) : null,
      el("span", { class: "small muted" }, `#${alert.id} · ${when(alert.created_at)}`),
    ),
    el("div", { "data-testid": "alert-title" }, alert.title),
    el("div", { class: "row thumbs" }, alert.evidence.map(evidence)),
    alert.note ? el("div", { class: "small" }, t("monitoring.note", { note: alert.note })) : null,
    resolved
      ? null
      : el(
          "div",
          { class: "row" },
          note,
          alert.status === "open"
            ? el("button", { class: "btn btn-small", type: "button", "data-testid": "alert-ack", onclick: () => act(alert.id, "acknowledge", { note: note.value || null }) }, t("monitoring.acknowledge"))
            : null,
          state.staff.length ? assignee : null,
          state.staff.length
            ? el("button", { class: "btn btn-small", type: "button", "data-testid": "alert-assign", onclick: () => act(alert.id, "assign", { assignee: assignee.value, note: note.value || null }) }, t("monitoring.assign"))
            : null,
          el(
            "button",
            {
              class: "btn btn-small",
              type: "button",
              "data-testid": "alert-resolve",
              onclick: () => {
                if (!note.value.trim()) {
                  note.focus();
                  note.placeholder = t("monitoring.note_required");
                  return;
                }
                act(alert.id, "resolve", { note: note.value });
              },
            },
            t("monitoring.resolve"),
          ),
          alert.address
            ? el("button", { class: "btn btn-small btn-danger", type: "button", "data-testid": "alert-account", onclick: () => lookUp(alert.address) }, t("monitoring.open_account"))
            : null,
        ),
  );
  return card;
}

function renderAlerts() {
  const list = [...state.alerts.values()].filter(matches).sort((a, b) => b.id - a.id);
  $("alerts").replaceChildren(...(list.length ? list.map(alertCard) : [el("div", { class: "state state-empty", "data-testid": "empty" }, t("monitoring.no_alerts"))]));
  state.fresh.clear();
}

// ----------------------------------------------------------------- accounts

async function lookUp(address) {
  $("account-form").elements.address.value = address;
  state.accountError = null;
  try {
    state.account = await api("/monitoring/accounts/{address}", { params: { address } });
  } catch (err) {
    state.account = null;
    state.accountError = err;
  }
  renderAccount();
  $("account-panel").scrollIntoView({ block: "nearest" });
}

async function setFrozen(frozen, note) {
  const address = state.account.address;
  try {
    state.account = await api(`/monitoring/accounts/{address}/${frozen ? "freeze" : "unfreeze"}`, { method: "POST", params: { address }, body: { note } });
    state.accountError = null;
  } catch (err) {
    state.accountError = err;
  }
  renderAccount();
}

function renderAccount() {
  const box = $("account");
  if (state.accountError) {
    box.replaceChildren(errorBox(state.accountError));
    return;
  }
  const s = state.account;
  if (!s) {
    box.replaceChildren();
    return;
  }
  const force = s.in_force.length
    ? s.in_force.map((which) => el("div", { class: "badge badge-critical", "data-testid": `in-force-${which}` }, t(`monitoring.in_force.${which}`)))
    : [el("div", { class: "muted", "data-testid": "in-force-none" }, t("monitoring.in_force.none"))];
  const kyc = s.kyc
    ? t(s.kyc.revoked ? "monitoring.kyc_revoked" : "monitoring.kyc_valid", { level: s.kyc.level, reason: s.kyc.revoke_reason || "" })
    : t("monitoring.kyc_none");
  const note = el("input", { placeholder: t("monitoring.freeze_note"), "data-testid": "freeze-note" });
  const parts = [
    el("div", { class: "mono small" }, s.address),
    el("div", { class: "stack" }, force),
    s.frozen && s.frozen_by ? el("div", { class: "small" }, t("monitoring.frozen_by", { who: s.frozen_by, when: when(s.frozen_at), note: s.freeze_note || "" })) : null,
    el("div", { class: "small" }, kyc),
    s.kyc_min_level !== null ? el("div", { class: "small muted" }, t(s.kyc_min_level ? "monitoring.kyc_switch_on" : "monitoring.kyc_switch_off", { level: s.kyc_min_level })) : null,
    s.kyc && !s.kyc.revoked ? el("a", { class: "small", href: "kyc-officer.html", "data-testid": "kyc-revoke-link" }, t("monitoring.kyc_revoke_link")) : null,
    el("div", { class: "small muted" }, t("monitoring.open_alerts", { count: s.open_alerts })),
    el(
      "div",
      { class: "row" },
      note,
      s.frozen
        ? el("button", { class: "btn btn-small", type: "button", "data-testid": "unfreeze", onclick: () => (note.value.trim() ? setFrozen(false, note.value) : note.focus()) }, t("monitoring.unfreeze"))
        : el("button", { class: "btn btn-small btn-danger", type: "button", "data-testid": "freeze", onclick: () => (note.value.trim() ? setFrozen(true, note.value) : note.focus()) }, t("monitoring.freeze")),
    ),
    s.actions.length
      ? el("ul", { class: "small" }, s.actions.slice(0, 8).map((a) => el("li", {}, `${when(a.at)} · ${a.actor} · ${t(`monitoring.action.${a.action}`)}${a.note ? ` · ${a.note}` : ""}`)))
      : null,
  ];
  box.replaceChildren(...parts.filter(Boolean));
}

// ------------------------------------------------------------------ cameras

function renderCameras() {
  const rows = [...state.cameras.values()].sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));
  if (!rows.length) {
    $("cameras").replaceChildren(el("div", { class: "muted small" }, t("monitoring.no_cameras")));
    return;
  }
  $("cameras").replaceChildren(
    el(
      "table",
      { class: "mon-table" },
      el("tr", {}, ["order", "trader", "camera", "verdict", "frames"].map((k) => el("th", {}, t(`monitoring.cam.${k}`)))),
      rows.map((c) =>
        el(
          "tr",
          { "data-testid": "camera-session", "data-order-id": c.order_id },
          el("td", {}, el("a", { href: `order.html?id=${c.order_id}` }, `#${c.order_id}`)),
          el("td", { class: "mono", title: c.address }, shortAddress(c.address)),
          el("td", {}, t(`monitoring.camera_state.${c.camera}`)),
          el("td", { class: `cam-${c.last_state}`, "data-testid": "camera-verdict" }, c.last_state ? t(`monitoring.verdict.${c.last_state}`) : "—", c.last_distance !== null ? ` (${c.last_distance.toFixed(2)})` : ""),
          el("td", {}, String(c.frames)),
        ),
      ),
    ),
  );
}

// -------------------------------------------------------------------- chain

async function loadChain() {
  try {
    const c = await api("/monitoring/chain");
    const parts = [
      el("div", { class: "small", "data-testid": "chain-head" }, t("monitoring.chain_head", { head: c.head ?? "—", indexed: c.indexed, lag: c.lag_blocks ?? "—" })),
      c.refused_blocks ? el("div", { class: "small cam-mismatch" }, t("monitoring.refused_blocks", { count: c.refused_blocks })) : null,
      c.indexer_error ? el("div", { class: "small cam-mismatch" }, c.indexer_error) : null,
      el("h3", { class: "small" }, t("monitoring.escrow_activity")),
      el("table", { class: "mon-table" }, c.escrow_events.slice(0, 10).map((e) => el("tr", {}, el("td", {}, String(e.block_number)), el("td", {}, e.name), el("td", {}, e.order_id ? `#${e.order_id}` : e.ad_id ? `ad ${e.ad_id}` : ""), el("td", {}, el("a", { class: "mono", href: `explorer.html?q=${e.tx_hash}` }, `${e.tx_hash.slice(0, 10)}…`))))),
      el("h3", { class: "small" }, t("monitoring.incidents")),
      c.incidents.length ? el("ul", { class: "small" }, c.incidents.slice(0, 8).map((i) => el("li", {}, `${i.kind} · ${t("monitoring.block", { block: i.block_number })} · ${i.detail}`))) : el("div", { class: "small muted" }, t("monitoring.no_incidents")),
    ];
    $("chain").replaceChildren(...parts.filter(Boolean));
  } catch (err) {
    $("chain").replaceChildren(errorBox(err));
  }
}

// -------------------------------------------------------------------- nodes

function heartbeat(node) {
  const age = node.heartbeat_age_seconds === null ? t("monitoring.node_never") : t("monitoring.node_ago", { age: formatDuration(node.heartbeat_age_seconds) });
  return el("td", { class: node.silent ? "cam-mismatch" : "", "data-testid": "node-heartbeat" }, age, node.silent ? ` · ${t("monitoring.node_silent")}` : "");
}

async function loadNodes() {
  try {
    const n = await api("/monitoring/nodes");
    const table = n.nodes.length
      ? el(
          "table",
          { class: "mon-table" },
          el("tr", {}, ["node", "endpoint", "status", "heartbeat"].map((k) => el("th", {}, t(`monitoring.node.${k}`)))),
          n.nodes.map((node) =>
            el(
              "tr",
              { "data-testid": "node-row", "data-address": node.address, "data-status": node.status, "data-silent": String(node.silent) },
              el("td", { class: "mono", title: node.address }, el("a", { href: `explorer.html?q=${node.address}` }, shortAddress(node.address))),
              el("td", { class: "mono small" }, node.endpoint || "—"),
              el("td", { "data-testid": "node-status" }, t(`monitoring.node_status.${node.status}`)),
              heartbeat(node),
            ),
          ),
        )
      : el("div", { class: "small muted", "data-testid": "nodes-empty" }, t("monitoring.no_nodes"));
    $("nodes").replaceChildren(
      el("div", { class: "small", "data-testid": "nodes-quorum" }, t("monitoring.nodes_quorum", { count: n.authority_count, quorum: n.quorum })),
      table,
      el("div", { class: "small muted" }, t("monitoring.nodes_silence", { duration: formatDuration(n.silence_seconds) })),
    );
  } catch (err) {
    $("nodes").replaceChildren(errorBox(err));
  }
}

// --------------------------------------------------------------------- feed

function setLive(on) {
  state.live = on;
  $("live-dot").classList.toggle("on", on);
  $("live-text").textContent = t(on ? "monitoring.feed_on" : "monitoring.feed_off");
  $("live-text").dataset.live = on ? "on" : "off";
}

function connect() {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl("/monitoring/ws"));
    state.socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "subscribed") {
        setLive(true);
        resolve();
      } else if (message.type === "alert") {
        const known = state.alerts.get(message.alert.id);
        if (known && known.revision >= message.alert.revision) return;
        if (!known) state.fresh.add(message.alert.id);
        state.alerts.set(message.alert.id, message.alert);
        renderAlerts();
        if (state.account && message.alert.address === state.account.address) lookUp(state.account.address);
        // A node alert (a silence) shows in the panel at once, not at the next tick.
        if (message.alert.subject_kind === "node") loadNodes();
      } else if (message.type === "camera") {
        state.cameras.set(`${message.session.order_id}:${message.session.address}`, message.session);
        renderCameras();
      }
    };
    socket.onclose = () => {
      setLive(false);
      resolve();
      setTimeout(() => connect().then(loadAlerts).catch(() => {}), 2000);
    };
  });
}

// --------------------------------------------------------------------- boot

function isStaff(user) {
  return Boolean(user && (user.roles.includes("monitor") || user.roles.includes("admin")));
}

async function start() {
  $("staff-login").classList.add("hidden");
  $("center").classList.remove("hidden");
  [state.staff, state.rules] = await Promise.all([api("/monitoring/staff"), api("/monitoring/rules")]);
  const ruleSelect = $("alert-filters").elements.rule;
  ruleSelect.replaceChildren(el("option", { value: "" }, t("monitoring.rule.all")), ...state.rules.map((r) => el("option", { value: r.rule }, ruleName(r.rule))));
  await connect(); // subscribed before the list loads: nothing falls in between
  await loadAlerts();
  const cameras = await api("/monitoring/camera/sessions");
  for (const c of cameras) state.cameras.set(`${c.order_id}:${c.address}`, c);
  renderCameras();
  await Promise.all([loadChain(), loadNodes()]);
  setInterval(() => {
    loadChain();
    loadNodes();
  }, 5000);
}

async function main() {
  await boot("monitoring");
  $("alert-filters").addEventListener("change", (event) => {
    const form = event.currentTarget;
    state.filters = { status: form.elements.status.value, severity: form.elements.severity.value, rule: form.elements.rule.value, address: form.elements.address.value.trim() };
    loadAlerts().catch((err) => $("page-state").replaceChildren(errorBox(err)));
  });
  $("alert-filters").addEventListener("submit", (event) => event.preventDefault());
  $("account-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const address = event.currentTarget.elements.address.value.trim();
    if (address) lookUp(address);
  });
  $("staff-login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    $("login-error").textContent = "";
    try {
      const result = await api("/auth/login", { method: "POST", body: { username: form.elements.username.value, password: form.elements.password.value }, auth: false });
      setSession({ token: result.token, expires_at: result.expires_at, address: null, user: result.user });
      if (!isStaff(result.user)) throw new Error(t("monitoring.not_staff"));
    } catch (err) {
      $("login-error").textContent = err.message;
    }
  });
  // Staff sign in with a password here, or with a wallet that holds the role (header).
  window.addEventListener("sentinel:session", () => checkStaff().catch(showError));
  await checkStaff();
}

let started = false;

async function checkStaff() {
  if (started) return;
  let me = null;
  try {
    me = getSession() ? await api("/auth/me") : null;
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 403)) throw err;
    $("login-error").textContent = err.status === 403 ? err.message : "";
  }
  if (!isStaff(me)) {
    $("staff-login").classList.remove("hidden");
    if (me) $("login-error").textContent = t("monitoring.not_staff");
    return;
  }
  started = true;
  await start();
}

function showError(err) {
  console.error(err);
  $("page-state").replaceChildren(errorBox(err));
}

main().catch(showError);
