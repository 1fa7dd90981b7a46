"""Knowing what needs you: the seller keeps My orders open; the buyer opens an order and
marks it paid (from the chain, as any wallet would); the seller's header count goes to 1
and My orders lists the order as "release" without a reload; after the release it is 0
again. Browser notifications (permission granted, the real Notification API wrapped to
record what the page shows) come for the other party's moves while the order page is not
in front, and not while it is."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
TABLES = {lang: json.loads((ROOT / "frontend" / "i18n" / f"{lang}.json").read_text()) for lang in ("en", "zh-CN")}
UNIT = 10**6
REF = b"\x0a" * 32

# Records each notification the page constructs, then shows it with the real API.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  window.__beeps = 0;
  if (window.AudioContext) {
    const create = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () {
      window.__beeps += 1;
      return create.call(this);
    };
  }
  if (!Real) return;
  window.Notification = class extends Real {
    constructor(title, options) {
      window.__notifications.push({ title, body: options && options.body, tag: options && options.tag });
      super(title, options);
    }
  };
})();
"""


def notifications(page):
    return page.evaluate("window.__notifications")


# Both languages and both screens, paired so the browser suite stays within CI's time.
@pytest.mark.parametrize("lang, mobile", [("en", False), ("zh-CN", True)], ids=["en-desktop", "zh-phone"])
def test_todos__seller_sees_release_live_and_is_notified(
    open_page, connect, screenshot, backend, escrow, create_ad, open_order, buyer, seller, lang, mobile
):
    text = TABLES[lang]
    ad_id = create_ad()
    s = open_page(seller, mobile=mobile)
    sp = s.page
    sp.context.grant_permissions(["notifications"], origin=backend.url)
    sp.context.add_init_script(script=f"localStorage.setItem('sentinel.lang', {json.dumps(lang)});")
    sp.context.add_init_script(script=RECORD_NOTIFICATIONS)
    sp.goto("/orders.html")
    connect(sp)
    expect(sp.locator("html")).to_have_attribute("lang", lang)
    count = sp.get_by_test_id("todos-count")
    expect(count).to_have_text("0")
    expect(sp.get_by_test_id("todos-empty")).to_have_text(text["todos.none"])

    # Notifications are switched on by a click (the browser asks only on a gesture).
    toggle = sp.get_by_test_id("todos-notify-toggle")
    expect(toggle).to_have_text(text["todos.notify_off"])
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_text(text["todos.notify_on"])
    sound = sp.get_by_test_id("todos-sound-toggle")
    expect(sound).to_have_attribute("aria-pressed", "false")  # off until asked for
    sp.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # --- the buyer opens an order: nothing for the seller to do yet, but the seller hears of it
    order_id = open_order(ad_id, 100 * UNIT)
    row = sp.locator(f"[data-testid=order-row][data-order-id='{order_id}']")
    expect(row).to_be_visible()  # the list follows the pushes too
    expect(count).to_have_text("0")
    wait_for_notification(sp, f"sentinel-order-{order_id}-OrderOpened")

    # --- the buyer marks it paid: the seller's count goes to 1, the order waits for "release"
    escrow.mark_paid(order_id, REF, sender=buyer)
    expect(count).to_have_text("1")
    expect(sp.get_by_test_id("todos-link")).to_have_attribute(
        "aria-label", text["todos.badge_title"].replace("{count}", "1")
    )
    todo = sp.locator(f"[data-testid=todo-row][data-order-id='{order_id}']")
    expect(todo).to_have_attribute("data-action", "release")
    expect(todo).to_contain_text(text["todos.action.release"])
    expect(row.get_by_test_id("order-todo")).to_have_text(text["todos.action.release"])
    paid = wait_for_notification(sp, f"sentinel-order-{order_id}-OrderPaid")
    assert paid["body"] == text["todos.notify.OrderPaid"].replace("{id}", str(order_id))
    assert paid["title"] == text["todos.notify_title"].replace("{id}", str(order_id))
    screenshot(sp, f"todos-release-{lang}-{'phone' if mobile else 'desktop'}")
    if mobile:
        assert sp.evaluate("document.documentElement.scrollWidth") <= 390  # the count fits the header

    # --- the seller releases (from the chain): back to 0, still the same document
    escrow.release(order_id, sender=seller)
    expect(count).to_have_text("0")
    expect(todo).to_have_count(0)
    expect(sp.get_by_test_id("todos-empty")).to_be_visible()
    assert sp.evaluate("window.__sameDocument") is True
    # The seller's own release is no news to the seller.
    assert f"sentinel-order-{order_id}-OrderReleased" not in [n["tag"] for n in notifications(sp)]

    # The sound is off by default; switched on (a click) it beeps once and is remembered.
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_have_text(text["todos.sound_on"])
    assert sp.evaluate("window.__beeps") == 1

    # --- the order page in front: its own changes do not notify; hidden, they do
    second = open_order(ad_id, 50 * UNIT)
    sp.goto(f"/order.html?id={second}")
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "OPEN")
    escrow.mark_paid(second, REF, sender=buyer)
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    expect(sp.get_by_test_id("todos-count")).to_have_text("1")  # the header counts here too
    assert [n for n in notifications(sp) if n["tag"].startswith(f"sentinel-order-{second}-")] == []

    sp.evaluate(
        "Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });"
        "document.dispatchEvent(new Event('visibilitychange'));"
    )
    escrow.open_dispute(second, b"\x0b" * 32, sender=buyer)
    disputed = wait_for_notification(sp, f"sentinel-order-{second}-DisputeOpened")
    assert disputed["body"] == text["todos.notify.DisputeOpened"].replace("{id}", str(second))
    assert sp.evaluate("window.__beeps") == 1  # a fresh document: the remembered sound beeped
    # A dispute the buyer opened waits for the seller's answer.
    expect(sp.get_by_test_id("todos-count")).to_have_text("1")
    sp.goto("/orders.html")
    expect(sp.locator(f"[data-testid=todo-row][data-order-id='{second}']")).to_have_attribute(
        "data-action", "dispute_reply"
    )
    expect(sp.get_by_test_id("todos-sound-toggle")).to_have_attribute("aria-pressed", "true")


def wait_for_notification(page, tag):
    page.wait_for_function("tag => (window.__notifications || []).some((n) => n.tag === tag)", arg=tag, timeout=20_000)
    return next(n for n in notifications(page) if n["tag"] == tag)
