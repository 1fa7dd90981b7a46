// Camera monitoring on the order page: while the signed-in trader's order is open, the
// camera (asked for once) sends a small 320 x 240 JPEG every few seconds; the backend
// matches it against the trader's verified KYC face. The desk's policy (required /
// optional) decides whether the page lets the trader act without the camera.

import { api, getSession } from "../api.js";
import { t } from "../i18n.js";
import { el } from "../ui.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

const ENDED = new Set(["RELEASED", "CANCELLED", "RESOLVED"]);

/**
 * orderCamera(orderId, {section, onChange}): call `update(order, role)` on every render;
 * `blocksActions()` says whether the policy keeps the actions closed; `disputeEvidence()`
 * gives the chat head combined with the camera digest for open_dispute (or null).
 */
export function orderCamera(orderId, { section, onChange = () => {} }) {
  const cam = {
    /** @type {Schemas["CameraPolicy"] | null} from /monitoring/camera/policy */
    policy: null,
    status: "idle", // idle | asking | on | refused | unavailable | ended
    reason: "",
    /** @type {Schemas["FrameResult"] | null} the last frame's */
    verdict: null,
    stream: null,
    timer: null,
    video: null,
    canvas: null,
    started: false,
    sending: false,
    trader: false,
    /** @type {Schemas["CameraFramePublic"][] | null} the arbitrator's view of a disputed order's frames */
    evidenceFrames: null,
    evidenceAsked: false,
  };

  const policyReady = api("/monitoring/camera/policy", { auth: false })
    .then((p) => {
      cam.policy = p;
      render();
      onChange();
    })
    .catch(() => {});

  function set(status, reason = "") {
    const changed = status !== cam.status;
    cam.status = status;
    cam.reason = reason;
    render();
    if (changed) onChange();
  }

  /** @param {Schemas["CameraReport"]["camera"]} camera */
  async function report(camera) {
    try {
      await api("/monitoring/camera/{order_id}/status", { method: "POST", params: { order_id: orderId }, body: { camera } });
    } catch {
      // the status is informative; the frames are what counts
    }
  }

  async function start() {
    if (cam.started) return;
    cam.started = true;
    await policyReady;
    set("asking");
    try {
      cam.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
    } catch (err) {
      set("refused", err?.message || String(err));
      report("refused");
      return;
    }
    cam.video = el("video", { autoplay: true, muted: true, playsinline: true, width: "160", height: "120", "data-testid": "camera-preview" });
    cam.video.srcObject = cam.stream;
    cam.canvas = document.createElement("canvas");
    cam.canvas.width = cam.policy?.width ?? 320;
    cam.canvas.height = cam.policy?.height ?? 240;
    set("on");
    const every = Math.max(1, cam.policy?.interval_seconds ?? 3) * 1000;
    cam.timer = setInterval(sendFrame, every);
    setTimeout(sendFrame, 500);
  }

  function stop(status) {
    if (cam.timer) clearInterval(cam.timer);
    cam.timer = null;
    for (const track of cam.stream?.getTracks() ?? []) track.stop();
    cam.stream = null;
    set(status, cam.reason);
  }

  async function sendFrame() {
    if (cam.sending || !cam.video || cam.video.readyState < 2) return;
    cam.sending = true;
    try {
      const { width, height } = cam.canvas;
      const ctx = cam.canvas.getContext("2d");
      // Letterboxed, so the face keeps its shape whatever the camera's aspect.
      const scale = Math.min(width / cam.video.videoWidth, height / cam.video.videoHeight);
      const w = cam.video.videoWidth * scale;
      const h = cam.video.videoHeight * scale;
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, width, height);
      ctx.drawImage(cam.video, (width - w) / 2, (height - h) / 2, w, h);
      const blob = await new Promise((resolve) => cam.canvas.toBlob(resolve, "image/jpeg", 0.75));
      const session = getSession();
      const res = await fetch(`/api/monitoring/camera/${orderId}/frames`, {
        method: "POST",
        headers: { "Content-Type": "image/jpeg", ...(session ? { Authorization: `Bearer ${session.token}` } : {}) },
        body: blob,
        credentials: "same-origin",
      });
      const data = await res.json().catch(() => ({}));
      if (res.ok) {
        cam.verdict = data;
        render();
      } else if (res.status === 429) {
        // a frame too early: the next one goes at the usual pace
      } else if (res.status === 409 && /ends with the order/.test(data.detail || "")) {
        cam.reason = "";
        stop("ended");
      } else if (res.status === 409 || res.status === 403 || res.status === 401) {
        cam.reason = data.detail || `HTTP ${res.status}`;
        stop("unavailable");
      } else {
        cam.reason = data.detail || `HTTP ${res.status}`;
        render();
      }
    } catch (err) {
      cam.reason = err?.message || String(err);
      render();
    } finally {
      cam.sending = false;
    }
  }

  function render() {
    if (!section) return;
    const policy = cam.policy?.policy;
    const lines = [];
    if (cam.status === "idle") lines.push(el("div", { class: "small muted" }, t("camera.sign_in")));
    if (cam.status === "asking") lines.push(el("div", { class: "small" }, t("camera.asking")));
    if (cam.status === "on") {
      lines.push(el("div", { class: "small", "data-testid": "camera-on" }, t("camera.on", { seconds: cam.policy?.interval_seconds ?? 3 })));
      if (cam.verdict) {
        lines.push(el("div", { class: "small muted", "data-testid": "camera-verdict", "data-state": cam.verdict.state }, t("camera.last", { verdict: t(`monitoring.verdict.${cam.verdict.state}`) })));
      }
      if (cam.reason) lines.push(el("div", { class: "field-error" }, t("camera.error", { reason: cam.reason })));
    }
    if (cam.status === "refused") lines.push(el("div", { class: "field-error", role: "alert", "data-testid": "camera-refused" }, t("camera.refused", { reason: cam.reason })));
    if (cam.status === "unavailable") lines.push(el("div", { class: "field-error", role: "alert", "data-testid": "camera-unavailable" }, t("camera.no_face_on_file", { reason: cam.reason })));
    if (cam.status === "ended") lines.push(el("div", { class: "small muted" }, t("camera.ended")));
    if (policy && cam.status !== "ended") lines.push(el("div", { class: "hint", "data-testid": "camera-policy", "data-policy": policy }, t(policy === "required" ? "camera.required" : "camera.optional")));
    if (cam.status === "refused") lines.push(el("button", { class: "btn btn-small", type: "button", onclick: () => { cam.started = false; start(); } }, t("camera.start")));
    if (cam.evidenceFrames) {
      lines.push(
        el("div", { class: "small muted" }, t("camera.evidence", { count: cam.evidenceFrames.length })),
        el(
          "div",
          { class: "row", "data-testid": "camera-evidence" },
          cam.evidenceFrames.map((f) =>
            el(
              "figure",
              { class: "small", style: "margin:0" },
              f.thumbnail_url ? el("img", { src: f.thumbnail_url, alt: f.sha256, width: "96", height: "72" }) : el("div", { class: "muted" }, t("camera.erased")),
              el("figcaption", {}, `${t(`monitoring.verdict.${f.state}`)}${f.distance !== null ? ` (${f.distance.toFixed(2)})` : ""}`),
            ),
          ),
        ),
      );
    }
    section.replaceChildren(
      el("div", { class: "spread" }, el("h2", {}, t("camera.title")), cam.video && cam.status === "on" ? cam.video : null),
      ...lines,
    );
    section.dataset.camera = cam.status;
    section.classList.toggle("hidden", !cam.trader && !cam.evidenceFrames);
  }

  return {
    /** Follow the order: start while it is open and the signed-in wallet trades in it. */
    update(order, role) {
      const trader = role === "buyer" || role === "seller";
      if (trader !== cam.trader) {
        cam.trader = trader;
        render();
      }
      if (order && !cam.trader && getSession() && ["DISPUTED", "RESOLVED"].includes(order.status) && !cam.evidenceAsked) {
        // The arbitrator of a dispute (or staff) sees the traders' camera thumbnails.
        cam.evidenceAsked = true;
        api("/monitoring/camera/{order_id}/frames", { params: { order_id: orderId } })
          .then((frames) => {
            cam.evidenceFrames = frames;
            render();
          })
          .catch(() => {}); // not the arbitrator: nothing to show
      }
      if (!order || !cam.trader || !getSession()) return;
      if (ENDED.has(order.status)) {
        if (cam.started && cam.status !== "ended") stop("ended");
        return;
      }
      start();
    },
    blocksActions() {
      return cam.policy?.policy === "required" && cam.trader && cam.status !== "on" && cam.status !== "ended";
    },
    async disputeEvidence() {
      try {
        const evidence = await api("/monitoring/camera/{order_id}/evidence", { params: { order_id: orderId } });
        return evidence.frames > 0 ? evidence.dispute_evidence : null;
      } catch {
        return null;
      }
    },
  };
}
