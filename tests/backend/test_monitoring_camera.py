"""Camera monitoring: frames from ../shared/faces matched against the trader's verified
KYC face, the camera rules, what is kept, who sees it, and bad input refused."""

import hashlib
import io
from datetime import timedelta

import pytest
from conftest import UNIT
from eth_utils import keccak
from PIL import Image, ImageOps
from sqlmodel import Session, func, select

from backend.auth.models import User
from backend.chain.models import utcnow
from backend.monitoring import camera, rules
from backend.monitoring.models import Alert, CameraFrame
from tests.backend.sockets import receive_json, session_cookie
from tests.faces import approve_with_selfie, face

BLANK = "blank"


def frame(name: str, size=(320, 240)) -> bytes:
    """A webcam-like 320 x 240 JPEG of a test photo (letterboxed: the face keeps its shape)."""
    if name == BLANK:
        image = Image.new("RGB", size, (52, 50, 48))
    else:
        image = ImageOps.pad(Image.open(io.BytesIO(face(name))).convert("RGB"), size, color=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"monitoring_camera_min_interval_seconds": 0.0, "monitoring_face_bad_frames": 3})


@pytest.fixture
def verified(client, settings):
    """An approved KYC application with `photo` as the verified selfie, as the KYC desk leaves it."""

    def make(account, photo="obama.jpg"):
        with Session(client.app.state.engine) as session:
            user = session.exec(select(User).where(User.address == account.address)).first()
            approve_with_selfie(session, settings, user, photo)

    return make


@pytest.fixture
def trade(client, sync, login_as, verified, create_ad, open_order, buyer):
    """An open order whose buyer is signed in with a verified face."""
    headers = login_as(buyer)
    verified(buyer)
    order_id = open_order(create_ad(), 100 * UNIT)
    sync()
    return order_id, headers


def send(client, order_id, headers, data, media_type="image/jpeg"):
    return client.post(
        f"/api/monitoring/camera/{order_id}/frames", content=data, headers={**headers, "content-type": media_type}
    )


def stored_frames(client):
    with Session(client.app.state.engine) as session:
        return session.exec(select(func.count(CameraFrame.id))).one()


def test_camera__verified_person_matches_and_only_hash_and_thumbnail_kept(client, trade, settings):
    order_id, headers = trade
    for name in ("obama2.jpg", "obama3.jpg", "obama-240p.jpg"):
        data = frame(name)
        response = send(client, order_id, headers, data)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["state"] == "match" and body["faces"] == 1, (name, body)
        assert body["distance"] <= settings.kyc_accept_distance and body["alerts"] == []
        assert body["sha256"] == hashlib.sha256(data).hexdigest()
    with Session(client.app.state.engine) as session:
        rows = session.exec(select(CameraFrame)).all()
        assert len(rows) == 3
        for row in rows:
            assert not row.thumbnail.startswith(b"\xff\xd8")  # sealed, not a readable JPEG
            assert len(row.thumbnail) < 6_000
            _, thumb = camera.thumbnail(session, settings=settings, frame_id=row.id)
            assert Image.open(io.BytesIO(thumb)).size[0] <= 96
        assert session.exec(select(Alert)).all() == []


def test_camera__another_person_raises_mismatch_after_the_count(client, trade):
    order_id, headers = trade
    answers = [send(client, order_id, headers, frame("biden.jpg")).json() for _ in range(4)]
    assert [a["state"] for a in answers] == ["mismatch"] * 4
    assert all(a["distance"] > 0.6 for a in answers)
    assert [bool(a["alerts"]) for a in answers] == [False, False, True, False]
    with Session(client.app.state.engine) as session:
        (alert,) = session.exec(select(Alert)).all()
    assert alert.rule == "face_mismatch" and alert.severity == "critical" and alert.order_id == order_id
    assert {e["kind"] for e in alert.evidence} == {"frame", "order", "address"}
    # A match breaks the run: a new run of three raises a new alert.
    assert send(client, order_id, headers, frame("obama2.jpg")).json()["state"] == "match"
    again = [send(client, order_id, headers, frame("alex-lacamoire.png")).json()["alerts"] for _ in range(3)]
    assert [bool(a) for a in again] == [False, False, True]


def test_camera__two_people_raise_several_faces(client, trade):
    order_id, headers = trade
    body = send(client, order_id, headers, frame("two_people.jpg")).json()
    assert body["state"] == "several_faces" and body["faces"] == 2 and len(body["alerts"]) == 1
    assert send(client, order_id, headers, frame("two_people.jpg")).json()["alerts"] == []
    with Session(client.app.state.engine) as session:
        assert session.get(Alert, body["alerts"][0]).rule == "several_faces"


def test_camera__empty_frames_raise_no_face(client, trade):
    order_id, headers = trade
    answers = [send(client, order_id, headers, frame(BLANK)).json() for _ in range(3)]
    assert [a["state"] for a in answers] == ["no_face"] * 3 and answers[0]["distance"] is None
    assert [bool(a["alerts"]) for a in answers] == [False, False, True]
    with Session(client.app.state.engine) as session:
        assert session.get(Alert, answers[2]["alerts"][0]).rule == "face_absent"


# ------------------------------------------------------------------ bad input


def test_camera__bad_input_refused_nothing_stored(client, trade, login_as, other, settings):
    order_id, headers = trade
    text = send(client, order_id, headers, b"this is not a picture at all, only text", "image/jpeg")
    assert text.status_code == 422 and "not a JPEG, PNG or WebP image" in text.json()["detail"]
    big = frame("obama2.jpg", size=(320, 240)) + b"\0" * settings.monitoring_camera_max_frame_bytes
    oversized = send(client, order_id, headers, big)
    assert oversized.status_code == 413 and "at most 200,000" in oversized.json()["detail"]
    huge = send(client, order_id, headers, frame("obama2.jpg", size=(1280, 960)))
    assert huge.status_code == 422 and "megapixels" in huge.json()["detail"]
    not_mine = send(client, order_id, login_as(other), frame("obama2.jpg"))
    assert not_mine.status_code == 403
    assert not_mine.json()["detail"] == f"camera frames are for your own orders: order {order_id} is not yours"
    unknown = send(client, 999_999, headers, frame("obama2.jpg"))
    assert unknown.status_code == 404 and unknown.json()["detail"] == "order 999999 not found"
    anonymous = client.post(f"/api/monitoring/camera/{order_id}/frames", content=frame("obama2.jpg"))
    assert anonymous.status_code == 401
    assert stored_frames(client) == 0


def test_camera__faster_than_the_limit_refused(client, trade, settings):
    client.app.state.monitoring.frame_gate.min_interval = 60.0
    order_id, headers = trade
    assert send(client, order_id, headers, frame("obama2.jpg")).status_code == 201
    fast = send(client, order_id, headers, frame("obama3.jpg"))
    assert fast.status_code == 429 and fast.json()["detail"].startswith(
        "camera frames too fast: at most one every 60 s"
    )
    assert "retry-after" in fast.headers
    assert stored_frames(client) == 1


def test_camera__without_verified_face_or_after_the_order_refused(
    client, sync, login_as, escrow, create_ad, open_order, seller, buyer, verified
):
    order_id = open_order(create_ad(), 100 * UNIT)
    sync()
    seller_headers = login_as(seller)
    no_face = send(client, order_id, seller_headers, frame("obama2.jpg"))
    assert no_face.status_code == 409 and "has no verified KYC face" in no_face.json()["detail"]
    headers = login_as(buyer)
    verified(buyer)
    escrow.cancel(order_id, sender=buyer)
    sync()
    ended = send(client, order_id, headers, frame("obama2.jpg"))
    assert (
        ended.status_code == 409
        and ended.json()["detail"] == f"order {order_id} is CANCELLED: camera monitoring ends with the order"
    )
    assert stored_frames(client) == 0


# ------------------------------------------------------------- evidence, access


def test_camera__evidence_for_the_dispute_and_thumbnails_for_the_arbitrator(
    client, trade, sync, escrow, login_as, buyer, admin, other
):
    order_id, headers = trade
    shas = [send(client, order_id, headers, frame(n)).json()["sha256"] for n in ("obama2.jpg", "biden.jpg")]
    evidence = client.get(f"/api/monitoring/camera/{order_id}/evidence", headers=headers).json()
    digest = "0x" + keccak(b"".join(bytes.fromhex(s) for s in shas)).hex()
    assert evidence["frames"] == 2 and evidence["camera_digest"] == digest
    head = bytes.fromhex(evidence["chat_head"][2:])
    assert evidence["dispute_evidence"] == "0x" + keccak(head + bytes.fromhex(digest[2:])).hex()
    assert client.get(f"/api/monitoring/camera/{order_id}/evidence", headers=login_as(other)).status_code == 403

    listing = f"/api/monitoring/camera/{order_id}/frames"
    assert client.get(listing, headers=headers).status_code == 403  # the counterparty sees no faces
    admin_headers = login_as(admin, roles=("admin",))
    refused = client.get(listing, headers=login_as(other, roles=("user",)))
    assert refused.status_code == 403
    escrow.mark_paid(order_id, keccak(text="ref"), sender=buyer)
    escrow.open_dispute(order_id, bytes.fromhex(evidence["dispute_evidence"][2:]), sender=buyer)
    sync()
    frames = client.get(listing, headers=admin_headers).json()
    assert [f["sha256"] for f in frames] == shas and [f["state"] for f in frames] == ["match", "mismatch"]
    thumb = client.get(frames[0]["thumbnail_url"], headers=admin_headers)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


def test_camera__thumbnails_erased_after_retention_except_in_dispute(client, trade, settings, login_as, other):
    order_id, headers = trade
    frame_id = send(client, order_id, headers, frame("obama2.jpg")).json()["frame_id"]
    with Session(client.app.state.engine) as session:
        assert camera.erase_expired(session, retention_days=30, now=utcnow() + timedelta(days=29)) == 0
        assert camera.erase_expired(session, retention_days=30, now=utcnow() + timedelta(days=31)) == 1
        row = session.get(CameraFrame, frame_id)
        assert row.thumbnail is None and len(row.sha256) == 64 and row.state == "match"
    gone = client.get(
        f"/api/monitoring/camera/frames/{frame_id}/thumbnail", headers=login_as(other, roles=("monitor",))
    )
    assert gone.status_code == 410


def test_camera__rules_each():
    config = rules.RuleConfig(face_bad_frames=3)

    def run(state, length):
        return rules.FrameRun(
            address="0x" + "11" * 20,
            order_id=5,
            state=state,
            length=length,
            start_frame=7,
            frame_id=9,
            sha256="ab" * 32,
            distance=0.8,
        )

    assert rules.face_mismatch(run("mismatch", 2), config) is None
    assert rules.face_mismatch(run("mismatch", 3), config).key == f"face_mismatch:{'0x' + '11' * 20}:5:7"
    assert rules.face_mismatch(run("mismatch", 4), config) is None
    assert rules.face_absent(run("no_face", 3), config).rule == "face_absent"
    assert rules.face_absent(run("mismatch", 3), config) is None
    assert rules.several_faces(run("several_faces", 1), config).rule == "several_faces"
    assert rules.several_faces(run("several_faces", 2), config) is None


# ------------------------------------------------------------------ live feed


def test_camera__feed_shows_the_session_and_the_alert(client, trade, login_as, other):
    order_id, headers = trade
    monitor = login_as(other, roles=("monitor",))
    with client.websocket_connect("/api/monitoring/ws", headers=session_cookie(monitor)) as ws:
        assert receive_json(ws) == {"type": "subscribed"}
        send(client, order_id, headers, frame("two_people.jpg"))
        messages = [receive_json(ws), receive_json(ws)]
        by_type = {m["type"]: m for m in messages}
        assert by_type["camera"]["session"]["last_state"] == "several_faces"
        assert by_type["camera"]["session"]["order_id"] == order_id
        assert by_type["alert"]["alert"]["rule"] == "several_faces"


def test_camera__policy_and_refused_camera_reported(client, trade, login_as, other, settings):
    policy = client.get("/api/monitoring/camera/policy").json()
    assert policy == {
        "policy": "optional",
        "interval_seconds": settings.monitoring_camera_interval_seconds,
        "min_interval_seconds": 0.0,
        "width": 320,
        "height": 240,
        "max_frame_bytes": settings.monitoring_camera_max_frame_bytes,
    }
    order_id, headers = trade
    reported = client.post(f"/api/monitoring/camera/{order_id}/status", json={"camera": "refused"}, headers=headers)
    assert reported.status_code == 200 and reported.json()["camera"] == "refused"
    bad = client.post(f"/api/monitoring/camera/{order_id}/status", json={"camera": "maybe"}, headers=headers)
    assert bad.status_code == 422
    sessions = client.get("/api/monitoring/camera/sessions", headers=login_as(other, roles=("monitor",))).json()
    assert [(s["order_id"], s["camera"], s["frames"]) for s in sessions] == [(order_id, "refused", 0)]
