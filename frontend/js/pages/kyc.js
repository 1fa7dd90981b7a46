// KYC for the signed-in wallet: document photo, selfie frames from the camera with
// guidance, and the application's status live (notification push, polling as fallback).

import { api, ApiError, getSession, setSession } from "../api.js";
import { formatTime, shortHash } from "../format.js";
import { hasKey, t } from "../i18n.js";
import { onPush } from "../pushes.js";
import { boot, requireSession } from "../shell.js";
import { el, errorBox } from "../ui.js";
import { onWalletChange, signedIn } from "../wallet.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

const FRAME_COUNT = 5;
const FRAME_INTERVAL_MS = 700;
const PROMPTS = ["look", "blink", "turn_left", "turn_right", "look"];
const POLL_MS = 2000;

const state = {
  /** @type {Partial<Schemas["MyKyc"]> | null} GET /kyc/me; only its application after a push or a submit before it loaded */
  me: null,
  frames: [], // Blobs
  documentBlob: null, // from the camera (a file input wins when both are set)
  stream: null,
  following: false, // listening to the pushes' socket (pushes.js)
  pollTimer: null,
  sending: false,
};

// The page's own elements (kyc.html): the video, the progress bar, the form and its fields.
const $ = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

/** @param {Schemas["ApplicationPublic"]} application */
function reasonText(application) {
  if (!application.reason_code && !application.reason) return null;
  const key = `kyc.reason.${application.reason_code}`;
  // The backend's sentence carries the specifics (which frame, how many faces): keep it in English.
  return hasKey(key) ? `${t(key)} (${application.reason})` : application.reason;
}

function renderStatus() {
  const box = $("kyc-status");
  if (!signedIn()) {
    box.dataset.status = "signed-out";
    box.replaceChildren(
      el(
        "div",
        { class: "state" },
        t("kyc.sign_in"),
        el("button", { class: "btn btn-primary", type: "button", "data-testid": "kyc-sign-in", onclick: () => requireSession().then(refresh).catch((err) => box.append(errorBox(err))) }, t("wallet.sign_in")),
      ),
    );
    $("kyc-form").classList.add("hidden");
    return;
  }
  const me = state.me;
  const application = me?.application;
  const status = application?.status || (me?.verified ? "verified" : "none");
  box.dataset.status = status;
  const items = [];
  if (application) {
    items.push(
      el(
        "div",
        { class: "kyc-status" },
        status === "processing" ? el("span", { class: "spinner" }) : null,
        el("span", { class: `badge badge-${status}`, "data-testid": "kyc-status-badge" }, t(`kyc.status.${status}`)),
        el("span", { "data-testid": "kyc-status-text" }, t(`kyc.status_note.${status}`)),
      ),
    );
    const reason = reasonText(application);
    if (reason && ["retake", "rejected", "revoked"].includes(status)) {
      items.push(el("div", { class: "field-error", "data-testid": "kyc-reason" }, reason));
    }
    if (application.attest_tx) {
      items.push(
        el(
          "div",
          { class: "small" },
          t("kyc.attested", { level: application.level, until: formatTime(application.expires_at) }),
          " ",
          el("a", { href: `explorer.html?q=${application.attest_tx}`, class: "mono", "data-testid": "kyc-attest-tx" }, shortHash(application.attest_tx)),
        ),
      );
    }
    items.push(el("div", { class: "small muted" }, t("kyc.application", { id: application.id, when: formatTime(application.updated_at) })));
  } else if (me?.verified) {
    items.push(el("div", { class: "kyc-status" }, el("span", { class: "badge badge-approved" }, t("kyc.status.verified"))));
  } else if (me && me.required_level > 0) {
    items.push(el("div", { class: "small" }, t("kyc.needed", { level: me.required_level })));
  }
  box.replaceChildren(el("div", { class: "card stack" }, items.length ? items : t("kyc.none")));
  // A new application is taken unless one is on its way or done.
  const open = !application || ["retake", "rejected", "withdrawn", "revoked"].includes(status);
  $("kyc-form").classList.toggle("hidden", !open || (me?.verified && !application));
}

async function refresh() {
  if (!signedIn()) {
    renderStatus();
    return;
  }
  try {
    state.me = await api("/kyc/me");
    const roles = (await api("/auth/me")).roles || [];
    $("officer-link").classList.toggle("hidden", !roles.some((r) => r === "kyc_officer" || r === "admin"));
  } catch (err) {
    $("kyc-status").replaceChildren(errorBox(err, { retry: refresh }));
    return;
  }
  renderStatus();
  follow();
}

// -------------------------------------------------------------- live status

function follow() {
  const processing = state.me?.application?.status === "processing";
  if (!state.following) {
    state.following = true;
    onPush((data) => {
      if (data.type !== "kyc") return;
      state.me = { ...(state.me || {}), application: /** @type {any} */ (data) };
      renderStatus();
      if (data.status === "approved") refresh(); // "verified" comes from the chain
    });
  }
  // Polling as well while the check runs: a push can be missed (socket down, proxy).
  clearTimeout(state.pollTimer);
  if (processing || state.me?.application?.status === "submitted") {
    state.pollTimer = setTimeout(refresh, processing ? POLL_MS : 4 * POLL_MS);
  }
}

// ------------------------------------------------------------------ camera

async function startCamera() {
  $("kyc-error").textContent = "";
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" }, audio: false });
  } catch (err) {
    $("kyc-error").textContent = t("kyc.camera_failed", { error: err.message || err.name });
    return;
  }
  const video = $("camera");
  video.srcObject = state.stream;
  await video.play().catch(() => {});
  $("capture").disabled = false;
  $("guidance").textContent = t("kyc.prompt.ready");
}

function grab() {
  const video = $("camera");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function captureFrames() {
  if (!state.stream) return;
  $("capture").disabled = true;
  state.frames = [];
  $("frames").replaceChildren();
  const progress = $("capture-progress");
  progress.classList.remove("hidden");
  progress.max = FRAME_COUNT;
  for (let i = 0; i < FRAME_COUNT; i += 1) {
    $("guidance").textContent = t(`kyc.prompt.${PROMPTS[i]}`);
    await sleep(FRAME_INTERVAL_MS);
    const blob = await grab();
    state.frames.push(blob);
    progress.value = i + 1;
    $("frames").append(el("img", { class: "kyc-thumb", src: URL.createObjectURL(blob), alt: t("kyc.frame", { n: i + 1 }), "data-testid": "kyc-frame" }));
  }
  $("guidance").textContent = t("kyc.prompt.done");
  $("capture").disabled = false;
  updateSubmit();
}

async function documentFromCamera() {
  if (!state.stream) await startCamera();
  if (!state.stream) return;
  $("guidance").textContent = t("kyc.prompt.document");
  await sleep(1500);
  state.documentBlob = await grab();
  const preview = $("document-preview");
  preview.src = URL.createObjectURL(state.documentBlob);
  preview.classList.remove("hidden");
  $("guidance").textContent = t("kyc.prompt.ready");
  updateSubmit();
}

function documentFile() {
  return $("kyc-form").elements.document.files[0] || state.documentBlob;
}

function updateSubmit() {
  $("submit").disabled = state.sending || !documentFile() || state.frames.length < 3;
}

// ------------------------------------------------------------------ submit

async function submit(event) {
  event.preventDefault();
  const form = $("kyc-form");
  const error = $("kyc-error");
  error.textContent = "";
  const number = form.elements.document_number.value.trim();
  if (!number) {
    error.textContent = t("kyc.error.number");
    return;
  }
  const document_ = documentFile();
  if (!document_ || state.frames.length < 3) {
    error.textContent = t("kyc.error.incomplete");
    return;
  }
  const body = new FormData();
  body.append("document", document_, document_.name || "document.jpg");
  state.frames.forEach((blob, i) => body.append("frames", blob, `frame-${i + 1}.jpg`));
  body.append("document_number", number);
  body.append("document_type", form.elements.document_type.value);
  state.sending = true;
  updateSubmit();
  $("submit").textContent = t("kyc.sending");
  try {
    const session = getSession() || (await requireSession());
    const res = await fetch(new URL("/api/kyc/applications", location.origin), {
      method: "POST",
      headers: { Authorization: `Bearer ${session.token}`, Accept: "application/json" },
      body,
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      if (res.status === 401) setSession(null);
      throw new ApiError(res.status, data?.detail || `HTTP ${res.status}`);
    }
    state.me = { ...(state.me || {}), application: data };
    renderStatus();
    follow();
  } catch (err) {
    error.textContent = err.message;
  } finally {
    state.sending = false;
    $("submit").textContent = t("kyc.submit");
    updateSubmit();
  }
}

async function main() {
  await boot("kyc");
  $("start-camera").addEventListener("click", startCamera);
  $("capture").addEventListener("click", captureFrames);
  $("document-camera").addEventListener("click", documentFromCamera);
  $("kyc-form").elements.document.addEventListener("change", updateSubmit);
  $("kyc-form").addEventListener("submit", submit);
  window.addEventListener("sentinel:session", refresh);
  window.addEventListener("sentinel:lang", renderStatus);
  onWalletChange(refresh);
  await refresh();
}

main();
