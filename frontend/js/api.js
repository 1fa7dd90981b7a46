// The backend's HTTP and WebSocket API. The session token from /auth/siwe lives in
// sessionStorage (one tab, one session): it goes out as Bearer on fetches. WebSockets
// cannot carry headers and a URL is no place for a token (logs, histories), so it goes
// out in a cookie of the handshake (see wsUrl). The HTTP-only cookie the backend also
// sets is the browser's latest sign-in, not necessarily this tab's.

import { t } from "./i18n.js";

const SESSION_KEY = "sentinel.session";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
  }
}

export function getSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    if (!session?.token) return null;
    if (session.expires_at && Date.parse(session.expires_at) <= Date.now()) {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function setSession(session) {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new CustomEvent("sentinel:session"));
}

/**
 * End the session of `token` on the server. Best effort: the token is already dropped
 * here, so a failure only leaves it to expire. Sent without cookies: the logout revokes
 * the cookie's session too, which may already be a new sign-in's.
 */
export async function revokeSession(token) {
  try {
    await fetch(new URL("/api/auth/logout", location.origin), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
    });
  } catch {
    // offline: the session expires by itself
  }
}

/** "/orders/{order_id}" with {order_id: 7} -> "/orders/7" (each value URL-encoded). */
function fillPath(path, params = {}) {
  return path.replace(/\{(\w+)\}/g, (_, name) => {
    if (params[name] === undefined || params[name] === null) throw new Error(`api: no value for {${name}} in ${path}`);
    return encodeURIComponent(String(params[name]));
  });
}

function detailOf(data, res) {
  const detail = data?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  return `HTTP ${res.status} ${res.statusText}`.trim();
}

/**
 * fetch /api<path>; resolves with the JSON body, rejects with ApiError(status, detail).
 * `path` is written as the API's schema names it, e.g. "/orders/{order_id}", its `{names}`
 * filled from `params`: tsc then types the response, the body and the query from the
 * schema itself (types/api.d.ts), so a page cannot read a field no response declares.
 *
 * @template {import("../../types/api").ApiPath} P
 * @template {import("../../types/api").MethodOf<P>} [M=Extract<import("../../types/api").MethodOf<P>, "GET">]
 * @param {P} path
 * @param {import("../../types/api").RequestOptions<P, M>} [options]
 * @returns {Promise<import("../../types/api").ResponseOf<P, M>>}
 */
export async function api(path, options = {}) {
  const { method = "GET", params, body, query, auth = true, signal } = options;
  const url = new URL(`/api${fillPath(path, params)}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const session = auth ? getSession() : null;
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, t("error.network"));
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    // A token the backend no longer knows is dropped, so the page offers to sign in again.
    if (res.status === 401 && session) setSession(null);
    throw new ApiError(res.status, detailOf(data, res));
  }
  return data;
}

/**
 * The ws(s):// URL of the socket at /api<path>. The tab's token rides in a cookie that
 * only this socket's handshake sends: named by a random key (the only thing the URL
 * carries), scoped to the socket's path, gone after 30 s or when the handshake answers.
 * Call it right before `new WebSocket(...)`.
 */
export function wsUrl(path, query = {}) {
  const url = new URL(`/api${path}`, location.origin);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const session = getSession();
  if (session) {
    const key = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
    const secure = location.protocol === "https:" ? "; Secure" : "";
    // Session tokens are URL-safe base64: nothing to escape in a cookie value.
    document.cookie = `sentinel_ws_${key}=${session.token}; Path=${url.pathname}; Max-Age=30; SameSite=Strict${secure}`;
    url.searchParams.set("ws_key", key);
  }
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}
