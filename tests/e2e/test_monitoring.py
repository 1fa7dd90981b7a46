"""Camera monitoring in the browser: Chromium's fake camera plays another person in front of
a verified trader's open order; the monitor sees the mismatch alert arrive live,
acknowledges it and freezes the account; the frozen trader's next order is refused in words.
And the center's nodes panel, in English and Chinese."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from eth_utils import keccak
from playwright.sync_api import expect
from sqlmodel import Session, create_engine, select

from backend.auth.models import User
from backend.config import Settings
from tests.e2e.conftest import ROOT, launched_with_camera
from tests.faces import approve_with_selfie, y4m_from_photos

DECODED_WIDTH = "img => img.decode().then(() => img.naturalWidth)"

EN = json.loads((ROOT / "frontend" / "i18n" / "en.json").read_text())
ZH = json.loads((ROOT / "frontend" / "i18n" / "zh-CN.json").read_text())


@pytest.fixture
def camera_settings(monkeypatch):
    """Read by the backend process: frames every second, an alert after three frames of
    someone else."""
    monkeypatch.setenv("SENTINEL_MONITORING_CAMERA_INTERVAL_SECONDS", "1")
    monkeypatch.setenv("SENTINEL_MONITORING_CAMERA_MIN_INTERVAL_SECONDS", "0.5")
    monkeypatch.setenv("SENTINEL_MONITORING_FACE_BAD_FRAMES", "3")


@pytest.fixture
def backend(camera_settings, backend):
    """The suite's backend, started with the camera settings above."""
    return backend


@pytest.fixture(scope="module")
def other_person_browser(browser, tmp_path_factory):
    """Chromium whose fake camera shows someone other than the verified trader, launched
    from the suite's one Playwright (see `camera_browser` in conftest)."""
    video = y4m_from_photos(tmp_path_factory.mktemp("camera") / "other.y4m", ["biden.jpg"])
    yield from launched_with_camera(browser, video)


@pytest.fixture
def page_browser(other_person_browser):
    return other_person_browser


def grant(backend_db: Path, address: str, role: str) -> None:
    env = {**os.environ, "SENTINEL_DATABASE_URL": f"sqlite:///{backend_db}"}
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "grant-role", address, role],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def verify_face(backend_db: Path, address: str, photo: str) -> None:
    """The trader's approved KYC application with `photo` as the verified selfie, sealed with
    the local keyring the backend uses (the KYC journey itself is tests/e2e/test_kyc.py)."""
    settings = Settings()
    engine = create_engine(f"sqlite:///{backend_db}")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.address == address)).first()
        if user is None:
            user = User(address=address)
            session.add(user)
            session.flush()
        approve_with_selfie(session, settings, user, photo)
    engine.dispose()


def test_monitoring__camera_mismatch_live_acknowledged_frozen_next_order_refused(
    open_page, connect, backend, tmp_path, create_ad, open_order, buyer, other
):
    db = tmp_path / "sentinel.db"
    ad_id = create_ad()
    order_id = open_order(ad_id)
    backend.wait_indexed()
    verify_face(db, buyer.address, "obama.jpg")
    grant(db, other.address, "monitor")

    # --- the monitor opens the center, signs in with the wallet holding the role
    m = open_page(other)
    mp = m.page
    mp.goto("/monitoring.html")
    connect(mp)
    expect(mp.locator("#live-text")).to_have_attribute("data-live", "on")
    mp.evaluate("window.__sameDocument = true")

    # --- the trader opens the order: the camera (playing another man) is asked for once
    t = open_page(buyer)
    tp = t.page
    tp.goto(f"/order.html?id={order_id}")
    connect(tp)
    expect(tp.get_by_test_id("camera-on")).to_contain_text("every 1 s", timeout=30_000)
    expect(tp.get_by_test_id("camera-policy")).to_have_attribute("data-policy", "optional")
    expect(tp.get_by_test_id("camera-verdict")).to_have_attribute("data-state", "mismatch", timeout=60_000)

    # --- the alert arrives on the monitor's page live (no reload), with the frame
    alert = mp.locator("[data-testid=alert][data-rule=face_mismatch]")
    expect(alert).to_have_count(1, timeout=60_000)
    assert mp.evaluate("window.__sameDocument") is True
    expect(alert.get_by_test_id("alert-title")).to_contain_text(f"order #{order_id}")
    expect(alert.locator("img.thumb")).to_be_visible()
    # decode() waits for the image to load (a just-added <img> has no size yet) and rejects a broken one.
    assert alert.locator("img.thumb").evaluate(DECODED_WIDTH) > 0
    session_row = mp.locator(f"[data-testid=camera-session][data-order-id='{order_id}']")
    expect(session_row.get_by_test_id("camera-verdict")).to_contain_text(EN["monitoring.verdict.mismatch"])

    # --- acknowledge, then freeze the account from the alert
    alert.get_by_test_id("alert-note").fill("not the verified trader")
    alert.get_by_test_id("alert-ack").click()
    expect(alert).to_have_attribute("data-status", "acknowledged")
    alert.get_by_test_id("alert-account").click()
    standing = mp.get_by_test_id("account-standing")
    expect(standing.get_by_test_id("in-force-none")).to_be_visible()
    standing.get_by_test_id("freeze-note").fill("someone else at the camera")
    standing.get_by_test_id("freeze").click()
    expect(standing.get_by_test_id("in-force-backend")).to_have_text(EN["monitoring.in_force.backend"])

    # --- the frozen trader's camera stops, and the next order is refused in words
    expect(tp.get_by_test_id("camera-unavailable")).to_contain_text("this account is frozen", timeout=20_000)
    sent_before = t.wallet.requests.count("eth_sendTransaction")
    tp.goto("/index.html")
    card = tp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill("100")
    card.get_by_test_id("open-order").click()
    expect(card.get_by_test_id("account-frozen")).to_have_text(EN["monitoring.frozen_notice"])
    assert t.wallet.requests.count("eth_sendTransaction") == sent_before  # refused before any transaction


def test_monitoring__arbitrator_sees_the_camera_thumbnails_of_a_dispute(
    open_page, connect, backend, tmp_path, create_ad, open_order, escrow, buyer, admin
):
    order_id = open_order(create_ad())
    backend.wait_indexed()
    verify_face(tmp_path / "sentinel.db", buyer.address, "obama.jpg")
    t = open_page(buyer)
    tp = t.page
    tp.goto(f"/order.html?id={order_id}")
    connect(tp)
    expect(tp.get_by_test_id("camera-verdict")).to_have_attribute("data-state", "mismatch", timeout=60_000)
    escrow.mark_paid(order_id, keccak(text="ref"), sender=buyer)
    escrow.open_dispute(order_id, b"\x03" * 32, sender=buyer)
    backend.wait_indexed()

    a = open_page(admin)  # holds the escrow's arbitrator role
    ap = a.page
    ap.goto(f"/order.html?id={order_id}")
    connect(ap)
    expect(ap.get_by_test_id("order-status")).to_have_attribute("data-status", "DISPUTED")
    evidence = ap.get_by_test_id("camera-evidence")
    expect(evidence.locator("img").first).to_be_visible(timeout=20_000)
    assert evidence.locator("img").first.evaluate(DECODED_WIDTH) > 0
    expect(evidence).to_contain_text(EN["monitoring.verdict.mismatch"])


def test_monitoring__nodes_panel_lists_the_local_relayer_node(open_page, connect, backend, manifest, tmp_path, other):
    relayer = manifest["relayer"]  # account 9, admitted by the deploy
    grant(tmp_path / "sentinel.db", other.address, "monitor")
    mp = open_page(other).page
    mp.goto("/monitoring.html")
    connect(mp)
    panel = mp.get_by_test_id("nodes-panel")
    network = httpx.get(f"{backend.url}/api/nodes/status", timeout=10).json()  # what the nodes page shows
    quorum = EN["monitoring.nodes_quorum"].format(count=network["authority_count"], quorum=network["quorum"])
    expect(panel.get_by_test_id("nodes-quorum")).to_have_text(quorum)

    # No node agent runs in these journeys: the relayer node was never heard from.
    row = panel.locator(f"[data-testid=node-row][data-address='{relayer}']")
    expect(row).to_have_attribute("data-status", "active")
    expect(row).to_have_attribute("data-silent", "true")
    expect(row).to_contain_text(f"{relayer[:6]}…{relayer[-4:]}")
    expect(row.get_by_test_id("node-status")).to_have_text(EN["monitoring.node_status.active"])
    expect(row.get_by_test_id("node-heartbeat")).to_have_text(
        f"{EN['monitoring.node_never']} · {EN['monitoring.node_silent']}"
    )

    mp.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(mp.locator("#nodes").locator("..").locator("h2")).to_have_text(ZH["monitoring.nodes_title"])
    # The panel's own rows follow at its next refresh.
    expect(row.get_by_test_id("node-status")).to_have_text(ZH["monitoring.node_status.active"])
