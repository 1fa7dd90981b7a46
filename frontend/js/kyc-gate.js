// The escrow's KYC switch, checked before a trade is sent: a wallet that is not verified
// is told so in words, with the way to get verified, instead of meeting a revert.

import { api } from "./api.js";
import { t } from "./i18n.js";
import { el } from "./ui.js";

/** null when `address` may trade; otherwise a notice (an element) to show instead. */
export async function kycBlock(address) {
  if (!address) return null;
  let eligibility;
  try {
    eligibility = await api("/kyc/eligibility/{address}", { params: { address }, auth: false });
  } catch {
    return null; // the backend cannot tell: the escrow still decides, and its revert is worded
  }
  if (eligibility.can_trade) return null;
  return kycNotice(eligibility.required_level);
}

export function kycNotice(level = 1) {
  return el(
    "div",
    { class: "banner banner-warn", role: "alert", "data-testid": "kyc-required" },
    t("kyc.gate.required", { level }),
    " ",
    el("a", { href: "kyc.html", "data-testid": "kyc-get-verified" }, t("kyc.gate.link")),
  );
}
