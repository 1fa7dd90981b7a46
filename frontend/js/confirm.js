// The confirmation a step that moves money asks for: a modal <dialog> (the browser traps
// focus in it and closes it on Escape) saying what happens next, optionally with a box to
// tick ("I have received $725.00") before the confirm button works.

import { t } from "./i18n.js";
import { el } from "./ui.js";

let seq = 0;

/**
 * Ask; resolves true when confirmed, false when dismissed (Go back, Escape).
 * @param {{title: string, body: (string | null)[], warning?: string, tick?: string, ok: string, danger?: boolean}} options
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, body, warning = undefined, tick = undefined, ok, danger = false }) {
  const id = `confirm-${++seq}`;
  const returnFocus = /** @type {HTMLElement | null} */ (document.activeElement);
  const okButton = /** @type {HTMLButtonElement} */ (
    el("button", { class: `btn ${danger ? "btn-danger" : "btn-primary"}`, type: "button", "data-testid": "confirm-ok", disabled: Boolean(tick) }, ok)
  );
  const backButton = el("button", { class: "btn btn-ghost", type: "button", "data-testid": "confirm-back" }, t("confirm.back"));
  const box = tick ? /** @type {HTMLInputElement} */ (el("input", { type: "checkbox", "data-testid": "confirm-tick" })) : null;
  if (box) box.addEventListener("change", () => (okButton.disabled = !box.checked));
  const dialog = /** @type {HTMLDialogElement} */ (
    el(
      "dialog",
      { class: "confirm-dialog", "data-testid": "confirm-dialog", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-body` },
      el("h2", { id: `${id}-title` }, title),
      el("div", { id: `${id}-body`, "data-testid": "confirm-body" }, body.filter(Boolean).map((line) => el("p", {}, line))),
      warning ? el("p", { class: "confirm-warning", role: "alert", "data-testid": "confirm-warning" }, warning) : null,
      box ? el("label", { class: "confirm-tick" }, box, el("span", {}, tick)) : null,
      el("div", { class: "row confirm-buttons" }, backButton, okButton),
    )
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    okButton.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    backButton.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      returnFocus?.focus?.();
      resolve(answer);
    });
    dialog.showModal();
    // Focus the safe choice first: Enter must never release by accident.
    (box ?? backButton).focus();
  });
}
