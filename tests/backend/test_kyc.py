"""KYC through the API: apply (the face check runs in the process pool), the officer's
desk with attestations on the real chain, the audit chain, erasure and who sees what."""

import json

import ape
import pytest
from sqlmodel import Session, select

from backend.kyc import service
from backend.kyc.models import KycApplication, KycAuditEntry
from backend.kyc.pool import FacePool
from tests.backend.sockets import receive_json, session_cookie
from tests.faces import MOVING_FRAMES, face

UNIT = 10**6
PRICE = 725
DOCUMENT_NUMBER = "P-1234567"


@pytest.fixture(scope="module")
def face_pool():
    """One warm worker for the module: each test's app would otherwise start its own."""
    pool = FacePool(1)
    yield pool
    pool.shutdown()


@pytest.fixture(autouse=True)
def shared_face_pool(client, face_pool):
    client.app.state.face_pool = face_pool


@pytest.fixture
def applicant(accounts):
    """A wallet nobody has attested: the KYC switch keeps it from trading until approved."""
    return accounts[7]


@pytest.fixture
def second_applicant(accounts):
    return accounts[8]


def files(document="obama-240p.jpg", frames=tuple(MOVING_FRAMES)):
    document_bytes = face(document) if isinstance(document, str) else document
    parts = [("document", ("document.jpg", document_bytes, "application/octet-stream"))]
    for i, frame in enumerate(frames):
        data = face(frame) if isinstance(frame, str) else frame
        parts.append(("frames", (f"frame{i}.jpg", data, "application/octet-stream")))
    return parts


def apply(client, headers, *, document="obama-240p.jpg", frames=tuple(MOVING_FRAMES), number=DOCUMENT_NUMBER):
    return client.post(
        "/api/kyc/applications",
        headers=headers,
        files=files(document, frames),
        data={"document_number": number, "document_type": "passport"},
    )


def decided(client, headers, response):
    """The application after its face check (TestClient runs the background work before returning)."""
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "processing"
    mine = client.get("/api/kyc/me", headers=headers).json()
    assert mine["application"]["id"] == response.json()["id"]
    return mine["application"]


@pytest.fixture
def officer_headers(login_as, accounts):
    return login_as(accounts[3], roles=("kyc_officer",))


@pytest.fixture
def submitted(client, login_as, applicant):
    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers))
    assert application["status"] == "submitted", application
    return application["id"], headers


# ---------------------------------------------------------------- applicant


def test_apply__match_with_movement_goes_to_the_officer(client, login_as, applicant, officer_headers, db):
    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers))
    assert application["status"] == "submitted" and application["reason"] is None
    detail = client.get(f"/api/kyc/officer/applications/{application['id']}", headers=officer_headers).json()
    assert detail["match"] == "match" and detail["distance"] <= detail["accept_distance"] == 0.5
    assert detail["liveness_passed"] is True and detail["liveness"]["head_movement"] is True
    assert len(detail["frame_distances"]) == 3 and detail["document_number"] == DOCUMENT_NUMBER
    assert detail["record_hash"].startswith("0x") and len(detail["record_hash"]) == 66
    queue = client.get("/api/kyc/officer/queue", headers=officer_headers).json()
    assert [row["id"] for row in queue["items"]] == [application["id"]]


def test_apply__two_faces_in_the_document_asks_for_a_retake(client, login_as, applicant):
    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers, document="two_people.jpg"))
    assert application["status"] == "retake" and application["reason_code"] == "several_faces_document"
    assert "2 faces found in the document photo" in application["reason"]
    # A retake is not a dead end: a new application is taken.
    assert decided(client, headers, apply(client, headers))["status"] == "submitted"


def test_apply__one_still_photo_fails_liveness(client, login_as, applicant):
    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers, frames=["obama.jpg"] * 3))
    assert application["status"] == "retake" and application["reason_code"] == "not_live"


def test_apply__another_persons_document_is_rejected(client, login_as, applicant):
    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers, document="biden.jpg"))
    assert application["status"] == "rejected" and application["reason_code"] == "face_mismatch"
    assert "does not match the document photo" in application["reason"]


def test_apply__rgba_png_document_works(client, login_as, applicant):
    headers = login_as(applicant)
    assert decided(client, headers, apply(client, headers, document="32bit.png"))["status"] == "submitted"


@pytest.mark.parametrize(
    ("document", "status", "message"),
    [
        (b"I am a text file called passport.jpg\n" * 10, 422, "not a JPEG, PNG or WebP image"),
        (b"\xff\xd8\xff\xe0" + b"\0" * (12 * 1024 * 1024), 413, "document photo is 12.0 MB: at most 10 MB"),
        ("png-bomb", 422, "20,000 x 20,000 pixels: at most 40 megapixels"),
    ],
    ids=["text-named-jpg", "12-mb", "20000x20000-header"],
)
def test_apply__bad_files_refused_with_clear_messages(client, login_as, applicant, document, status, message, db):
    if document == "png-bomb":
        from tests.backend.test_kyc_faces import png_header

        document = png_header(20_000, 20_000)
    headers = login_as(applicant)
    response = apply(client, headers, document=document)
    assert response.status_code == status and message in response.json()["detail"], response.text
    assert db.exec(select(KycApplication)).all() == []  # nothing stored


def test_apply__truncated_jpeg_asks_for_a_retake(client, login_as, applicant):
    data = face("obama.jpg")
    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers, document=data[: len(data) // 2]))
    assert application["status"] == "retake" and "damaged or incomplete" in application["reason"]


def test_apply__too_few_frames_and_bad_number_refused(client, login_as, applicant):
    headers = login_as(applicant)
    response = apply(client, headers, frames=MOVING_FRAMES[:2])
    assert response.status_code == 422 and "at least 3 selfie frames" in response.json()["detail"]
    response = apply(client, headers, number="<script>")
    assert response.status_code == 422 and "document number" in response.json()["detail"]


def test_apply__not_twice_while_one_waits(client, submitted):
    _, headers = submitted
    response = apply(client, headers)
    assert response.status_code == 409 and "awaits an officer" in response.json()["detail"]


def test_apply__needs_a_signed_in_wallet(client):
    assert apply(client, {}).status_code == 401


def test_apply__status_pushed_live(client, login_as, applicant):
    headers = login_as(applicant)
    with client.websocket_connect("/api/notifications/ws", headers=session_cookie(headers)) as ws:
        assert receive_json(ws)["type"] == "subscribed"
        apply(client, headers)
        first, second = receive_json(ws), receive_json(ws)
    assert first["type"] == second["type"] == "kyc"
    assert (first["status"], second["status"]) == ("processing", "submitted")


def test_applicant_never_sees_another_applicants_data(client, login_as, submitted, second_applicant):
    application_id, headers = submitted
    stranger = login_as(second_applicant)
    assert client.get(f"/api/kyc/applications/{application_id}", headers=stranger).status_code == 404
    assert client.get("/api/kyc/me", headers=stranger).json()["application"] is None
    assert client.get(f"/api/kyc/applications/{application_id}", headers=headers).status_code == 200
    for which in ("document", "selfie"):
        url = f"/api/kyc/officer/applications/{application_id}/{which}"
        assert client.get(url, headers=stranger).status_code == 403
        assert client.get(url, headers=headers).status_code == 403  # not even one's own, from the desk


@pytest.mark.parametrize("bad", ["0", "9223372036854775808", "x"])
def test_application_id__out_of_range_is_a_clear_422(client, login_as, applicant, bad):
    """Found by the schema fuzzer: an id past the database's 64-bit integers was a 500."""
    response = client.get(f"/api/kyc/applications/{bad}", headers=login_as(applicant))
    assert response.status_code == 422 and "application_id" in str(response.json()["detail"])


def test_non_officer_gets_403_on_every_officer_route(client, login_as, submitted):
    from backend.kyc.routes import router

    application_id, headers = submitted
    routes = [
        (method, "/api" + route.path.replace("{application_id}", str(application_id)).replace("{which}", "document"))
        for route in router.routes
        if route.path.startswith(("/kyc/officer", "/kyc/audit", "/kyc/admin"))
        for method in route.methods
    ]
    assert len(routes) >= 10
    body = {"level": 1, "reason": "not allowed"}
    for method, path in routes:
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert client.request(method, path, json=body).status_code == 401


# ------------------------------------------------------------------ officer


def test_approve__attests_on_chain_and_the_wallet_may_trade(
    client, login_as, submitted, officer_headers, applicant, kyc_registry, escrow, create_ad, sync, db
):
    application_id, headers = submitted
    ad_id = create_ad()
    with ape.reverts("otc_escrow: kyc required"):
        escrow.open_order(ad_id, 100 * UNIT, PRICE, sender=applicant)
    assert client.get(f"/api/kyc/eligibility/{applicant.address}").json() == {
        "address": applicant.address,
        "required_level": 1,
        "verified": False,
        "can_trade": False,
    }

    response = client.post(
        f"/api/kyc/officer/applications/{application_id}/approve",
        headers=officer_headers,
        json={"level": 2, "valid_days": 30},
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["status"] == "approved" and detail["attest_tx"].startswith("0x")
    attestation = kyc_registry.attestations(applicant)
    assert attestation.level == 2 and "0x" + attestation.record_hash.hex() == detail["record_hash"]
    assert kyc_registry.is_verified(applicant, 1)
    receipt = client.app.state.chain.w3.eth.get_transaction_receipt(detail["attest_tx"])
    assert receipt["status"] == 1

    escrow.open_order(ad_id, 100 * UNIT, PRICE, sender=applicant)  # trades now
    assert client.get(f"/api/kyc/eligibility/{applicant.address}").json()["can_trade"] is True
    mine = client.get("/api/kyc/me", headers=headers).json()
    assert mine["verified"] is True and mine["application"]["status"] == "approved"
    assert mine["application"]["attest_tx"] == detail["attest_tx"]
    sync()
    again = client.get(f"/api/kyc/officer/applications/{application_id}", headers=officer_headers).json()
    assert again["attestation"]["level"] == 2 and again["attestation"]["record_hash"] == detail["record_hash"]


def test_approve__only_once_and_with_a_future_expiry(client, submitted, officer_headers):
    application_id, _ = submitted
    url = f"/api/kyc/officer/applications/{application_id}/approve"
    past = client.post(url, headers=officer_headers, json={"level": 1, "expires_at": 1_000})
    assert past.status_code == 422 and "is not after the chain's time" in past.json()["detail"]
    assert client.post(url, headers=officer_headers, json={"level": 4}).status_code == 422
    assert client.post(url, headers=officer_headers, json={"level": 1}).status_code == 200
    twice = client.post(url, headers=officer_headers, json={"level": 1})
    assert twice.status_code == 409 and "is approved" in twice.json()["detail"]


def test_approve__officer_key_without_the_role_is_a_clear_503(client, submitted, officer_headers, settings, accounts):
    from pydantic import SecretStr

    application_id, _ = submitted
    client.app.state.settings.kyc_officer_private_key = SecretStr(accounts[6].private_key)
    response = client.post(
        f"/api/kyc/officer/applications/{application_id}/approve", headers=officer_headers, json={"level": 1}
    )
    assert response.status_code == 503 and "lacks KycRegistry's officer role" in response.json()["detail"]


def test_reject__with_a_reason_the_applicant_sees(client, submitted, officer_headers):
    application_id, headers = submitted
    url = f"/api/kyc/officer/applications/{application_id}/reject"
    assert client.post(url, headers=officer_headers, json={"reason": ""}).status_code == 422
    response = client.post(url, headers=officer_headers, json={"reason": "document expired"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    mine = client.get("/api/kyc/me", headers=headers).json()["application"]
    assert mine["status"] == "rejected" and mine["reason"] == "document expired"


def test_revoke__on_chain_with_a_reason(client, submitted, officer_headers, applicant, kyc_registry):
    application_id, _ = submitted
    base = f"/api/kyc/officer/applications/{application_id}"
    early = client.post(f"{base}/revoke", headers=officer_headers, json={"reason": "forged document"})
    assert early.status_code == 409
    client.post(f"{base}/approve", headers=officer_headers, json={"level": 1})
    response = client.post(f"{base}/revoke", headers=officer_headers, json={"reason": "forged document"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked" and response.json()["revoke_tx"].startswith("0x")
    assert not kyc_registry.is_verified(applicant, 1) and kyc_registry.attestations(applicant).revoked


# ------------------------------------------------------ personal data at rest


def test_personal_data_sealed_at_rest(client, submitted, officer_headers, db):
    application_id, _ = submitted
    row = db.get(KycApplication, application_id)
    document = face("obama-240p.jpg")
    assert row.key_id == "local-1"
    assert document[:64] not in row.document_image and DOCUMENT_NUMBER.encode() not in row.document_number
    assert not row.document_image.startswith(b"\xff\xd8")
    response = client.get(f"/api/kyc/officer/applications/{application_id}/document", headers=officer_headers)
    assert response.status_code == 200 and response.content == document
    assert response.headers["content-type"] == "image/jpeg" and response.headers["cache-control"] == "no-store"
    selfie = client.get(f"/api/kyc/officer/applications/{application_id}/selfie", headers=officer_headers)
    assert selfie.content in [face(n) for n in MOVING_FRAMES]


def test_erase__rejected_applicant_data_gone_audit_keeps_it(client, login_as, submitted, officer_headers, admin, db):
    application_id, _ = submitted
    admin_headers = login_as(admin, roles=("admin",))
    erase_url = f"/api/kyc/admin/applications/{application_id}/erase"
    assert client.post(erase_url, headers=admin_headers).status_code == 409  # still waiting: not erasable
    assert client.post(erase_url, headers=officer_headers).status_code == 403  # officers do not erase
    client.post(
        f"/api/kyc/officer/applications/{application_id}/reject", headers=officer_headers, json={"reason": "blurry"}
    )
    response = client.post(erase_url, headers=admin_headers)
    assert response.status_code == 200 and response.json()["erased"] is True
    assert response.json()["document_number"] is None and response.json()["distance"] is not None
    db.expire_all()
    row = db.get(KycApplication, application_id)
    assert row.document_image is None and row.selfie_image is None and row.document_number is None
    assert row.record_hash and row.document_sha256  # the hashes stay
    image = client.get(f"/api/kyc/officer/applications/{application_id}/document", headers=officer_headers)
    assert image.status_code == 404 and "was erased" in image.json()["detail"]
    actions = [e["action"] for e in client.get("/api/kyc/audit", headers=admin_headers).json()["items"]]
    assert actions[0] == "erase" and "reject" in actions


def test_retention__cli_erases_old_rejected_data(client, login_as, applicant, settings, db):
    from click.testing import CliRunner

    from backend.cli import cli

    headers = login_as(applicant)
    application = decided(client, headers, apply(client, headers, document="biden.jpg"))
    assert application["status"] == "rejected"
    runner = CliRunner()
    env = {"SENTINEL_DATABASE_URL": settings.database_url}
    result = runner.invoke(cli, ["kyc-retention", "--days", "30"], env=env)
    assert result.exit_code == 0 and "erased 0" in result.output, result.output
    row = db.get(KycApplication, application["id"])
    row.decided_at -= 31 * 86_400
    db.commit()
    result = runner.invoke(cli, ["kyc-retention", "--days", "30"], env=env)
    assert result.exit_code == 0 and f"erased 1 KYC application(s) older than 30 days: [{application['id']}]" in (
        result.output
    )
    db.expire_all()
    assert db.get(KycApplication, application["id"]).document_image is None


def test_withdraw__then_erasable(client, submitted, login_as, admin):
    application_id, headers = submitted
    response = client.post("/api/kyc/me/withdraw", headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert client.post("/api/kyc/me/withdraw", headers=headers).status_code == 409
    erase = client.post(f"/api/kyc/admin/applications/{application_id}/erase", headers=login_as(admin, ("admin",)))
    assert erase.status_code == 200


# -------------------------------------------------------------------- audit


def test_audit__hash_chained_and_an_edit_is_detected(client, login_as, submitted, officer_headers, admin, db):
    application_id, _ = submitted
    client.post(f"/api/kyc/officer/applications/{application_id}/approve", headers=officer_headers, json={"level": 1})
    admin_headers = login_as(admin, roles=("admin",))
    entries = client.get("/api/kyc/audit", headers=admin_headers).json()["items"]
    assert [e["action"] for e in entries] == ["approve", "submitted"]
    approve, submitted_entry = entries
    assert approve["prev_hash"] == submitted_entry["hash"] and submitted_entry["prev_hash"] == "0" * 64
    assert approve["actor"].startswith("user:") and submitted_entry["actor"] == "system"
    assert approve["record_hash"] == submitted_entry["record_hash"] and json.loads(approve["detail"])["level"] == 1
    assert client.get("/api/kyc/audit/verify", headers=admin_headers).json()["ok"] is True

    # Someone with database access rewrites history: the chain no longer verifies.
    with Session(client.app.state.engine) as session:
        entry = session.exec(select(KycAuditEntry).where(KycAuditEntry.action == "approve")).one()
        entry.detail = entry.detail.replace('"level":1', '"level":3')
        session.add(entry)
        session.commit()
    report = client.get("/api/kyc/audit/verify", headers=admin_headers).json()
    assert report["ok"] is False and report["first_bad_seq"] == approve["seq"]
    assert "changed after it was written" in report["problem"]


def test_audit__a_deleted_entry_is_detected(client, login_as, submitted, officer_headers, admin):
    application_id, _ = submitted
    client.post(
        f"/api/kyc/officer/applications/{application_id}/reject", headers=officer_headers, json={"reason": "blurry"}
    )
    with Session(client.app.state.engine) as session:
        session.delete(session.exec(select(KycAuditEntry).where(KycAuditEntry.seq == 1)).one())
        session.commit()
    report = client.get("/api/kyc/audit/verify", headers=login_as(admin, ("admin",))).json()
    assert report["ok"] is False and report["first_bad_seq"] == 2


def test_record_hash_commits_to_the_record(submitted, db):
    application_id, _ = submitted
    row = db.get(KycApplication, application_id)
    assert service.record_hash(row) == row.record_hash
    row.selfie_sha256 = "0" * 64
    assert service.record_hash(row) != row.record_hash


def test_face_work_runs_in_a_worker_process_not_the_event_loop(face_pool):
    import os

    import anyio

    assert anyio.run(face_pool.run, os.getpid) != os.getpid()
