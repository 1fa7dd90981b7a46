// Every visible string goes through `t(key)`: tables in /i18n/<lang>.json, English as
// the fallback for a key a translation lacks. The choice is kept in localStorage.

const STORE_KEY = "sentinel.lang";
export const LANGS = { en: "English", "zh-CN": "简体中文" };

let lang = "en";
let table = {};
let fallback = {};

async function loadTable(code) {
  const res = await fetch(`i18n/${code}.json`, { cache: "no-cache" });
  if (!res.ok) throw new Error(`i18n/${code}.json: HTTP ${res.status}`);
  return res.json();
}

function preferred() {
  const saved = localStorage.getItem(STORE_KEY);
  if (saved && saved in LANGS) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function currentLang() {
  return lang;
}

export async function initI18n() {
  lang = preferred();
  fallback = await loadTable("en");
  table = lang === "en" ? fallback : await loadTable(lang).catch(() => fallback);
  document.documentElement.lang = lang;
}

export async function setLang(code) {
  if (!(code in LANGS) || code === lang) return;
  table = code === "en" ? fallback : await loadTable(code);
  lang = code;
  localStorage.setItem(STORE_KEY, code);
  document.documentElement.lang = code;
  applyI18n(document);
  window.dispatchEvent(new CustomEvent("sentinel:lang", { detail: code }));
}

export function hasKey(key) {
  return key in table || key in fallback;
}

/** The text for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  let text = table[key] ?? fallback[key] ?? key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }
  return text;
}

/** Fill the static markup: data-i18n (text), -placeholder, -title, -aria (aria-label). */
export function applyI18n(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  const titleKey = document.body?.dataset.titleKey;
  if (titleKey) document.title = `${t(titleKey)} · ${t("app.name")}`;
}
