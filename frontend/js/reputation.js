// A trader's feedback counts as the ad cards and the trader page show them.

import { t } from "./i18n.js";
import { el } from "./ui.js";

/** "12 positive · 1 negative" (or "no feedback yet"), from a `FeedbackSummary`. */
export function feedbackCounts(summary) {
  const positive = summary?.positive ?? 0;
  const negative = summary?.negative ?? 0;
  return el(
    "span",
    { class: "feedback-counts", "data-testid": "feedback-counts", "data-positive": String(positive), "data-negative": String(negative) },
    positive + negative === 0 ? t("reputation.none_yet") : t("reputation.counts", { positive, negative }),
  );
}
