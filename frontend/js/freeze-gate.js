// The desk's account freeze, checked before a trade is sent: a frozen account is told so
// in words instead of opening an order the desk will not serve.

import { ApiError, api, getSession } from "./api.js";
import { t } from "./i18n.js";
import { el } from "./ui.js";

/** null when the signed-in account is not frozen; otherwise a notice (an element). */
export async function frozenBlock() {
  if (!getSession()) return null;
  try {
    await api("/auth/me");
    return null;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) return null;
    return el("div", { class: "banner banner-error", role: "alert", "data-testid": "account-frozen" }, t("monitoring.frozen_notice"));
  }
}
