"""KYC in the browser: Chromium's fake camera plays a video built from the shared photos
(three poses of one man); the applicant applies, the officer approves in the console, the
attestation is on chain, and the wallet may now trade under the escrow's KYC switch while
an unverified wallet is told, in words, to get verified."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.faces import FACES

ROOT = Path(__file__).resolve().parents[2]
EN = json.loads((ROOT / "frontend" / "i18n" / "en.json").read_text())


@pytest.fixture
def page_browser(camera_browser):
    """Every page of this module has the fake camera playing the shared photos."""
    return camera_browser


def grant_officer(backend_db: Path, address: str) -> None:
    env = {**os.environ, "SENTINEL_DATABASE_URL": f"sqlite:///{backend_db}"}
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "grant-role", address, "kyc_officer"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_kyc__apply_with_the_camera_officer_approves_then_trade(
    open_page, connect, backend, tmp_path, accounts, admin, create_ad, kyc_registry, escrow
):
    applicant, unverified = accounts[7], accounts[8]
    assert escrow.kyc_min_level() == 1 and not kyc_registry.is_verified(applicant, 1)
    ad_id = create_ad()
    backend.wait_indexed()

    # --- the applicant: document upload, selfie frames from the (fake) camera, submit
    a = open_page(applicant)
    ap = a.page
    ap.goto("/kyc.html")
    connect(ap)
    status = ap.get_by_test_id("kyc-status")
    expect(status).to_have_attribute("data-status", "none")
    ap.get_by_test_id("kyc-document-number").fill("P-7654321")
    ap.get_by_test_id("kyc-document").set_input_files(str(FACES / "obama-240p.jpg"))
    ap.get_by_test_id("kyc-start-camera").click()
    expect(ap.get_by_test_id("kyc-guidance")).to_have_text(EN["kyc.prompt.ready"])
    ap.get_by_test_id("kyc-capture").click()
    expect(ap.get_by_test_id("kyc-guidance")).to_have_text(EN["kyc.prompt.blink"])
    expect(ap.get_by_test_id("kyc-frame")).to_have_count(5)
    ap.get_by_test_id("kyc-submit").click()
    # Processing (the face workers start on first use), then the officer's queue.
    expect(status).to_have_attribute("data-status", "submitted", timeout=90_000)
    expect(ap.get_by_test_id("kyc-status-text")).to_have_text(EN["kyc.status_note.submitted"])
    ap.screenshot(path=str(tmp_path / "kyc-submitted.png"), full_page=True)  # for a look when it fails

    # --- the officer: the queue, both photos, the figures; approve -> attest on chain
    grant_officer(tmp_path / "sentinel.db", admin.address)
    o = open_page(admin)
    op = o.page
    op.goto("/kyc-officer.html")
    connect(op)
    row = op.get_by_test_id("kyc-queue-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(applicant.address[:6])
    row.click()
    expect(op.get_by_test_id("kyc-detail-account")).to_have_text(applicant.address)
    expect(op.get_by_test_id("kyc-detail-distance")).to_contain_text("match")
    expect(op.get_by_test_id("kyc-detail-liveness")).to_contain_text("head movement")
    for image in ("kyc-document-image", "kyc-selfie-image"):
        expect(op.get_by_test_id(image)).to_be_visible()
        assert op.get_by_test_id(image).evaluate("img => img.naturalWidth") > 100
    op.get_by_test_id("kyc-level").select_option("1")
    op.get_by_test_id("kyc-valid-days").fill("30")
    op.get_by_test_id("kyc-approve").click()
    expect(op.get_by_test_id("kyc-decision-done")).to_be_visible(timeout=40_000)
    tx_hash = op.get_by_test_id("kyc-decision-tx").inner_text().strip()
    op.screenshot(path=str(tmp_path / "kyc-officer-approved.png"), full_page=True)
    assert re.fullmatch(r"0x[0-9a-f]{64}", tx_hash)
    assert kyc_registry.is_verified(applicant, 1)
    assert escrow.provider.web3.eth.get_transaction_receipt(tx_hash)["status"] == 1

    # --- the applicant sees it live (push), with the transaction
    expect(status).to_have_attribute("data-status", "approved")
    expect(ap.get_by_test_id("kyc-attest-tx")).to_have_attribute("href", f"explorer.html?q={tx_hash}")

    # --- ... and may now trade: the escrow's KYC switch lets the order through
    backend.wait_indexed()
    ap.goto("/index.html")
    card = ap.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill("100")
    card.get_by_test_id("open-order").click()
    ap.wait_for_url(re.compile(r"/order\.html\?id=\d+$"))
    expect(ap.get_by_test_id("order-status")).to_have_attribute("data-status", "OPEN")

    # --- an unverified wallet is told in words to get verified, with the way there
    u = open_page(unverified)
    up = u.page
    up.goto("/index.html")
    connect(up)
    card = up.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill("100")
    card.get_by_test_id("open-order").click()
    notice = card.get_by_test_id("kyc-required")
    expect(notice).to_contain_text(EN["kyc.gate.required"].replace("{level}", "1"))
    expect(notice.get_by_test_id("kyc-get-verified")).to_have_attribute("href", "kyc.html")
    assert "eth_sendTransaction" not in u.wallet.requests  # refused before any transaction


def test_kyc__officer_console_refuses_a_non_officer(open_page, connect, backend, accounts):
    p = open_page(accounts[8]).page
    p.goto("/kyc-officer.html")
    connect(p)
    expect(p.get_by_test_id("officer-forbidden")).to_have_text(EN["kycofficer.forbidden"])
    expect(p.get_by_test_id("kyc-queue")).to_be_hidden()
