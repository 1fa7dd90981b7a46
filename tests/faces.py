"""The shared test photographs (../shared/faces beside the repository; see its README)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"

SAME_PERSON = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama-240p.jpg", "32bit.png"]
OTHER_PEOPLE = ["biden.jpg", "alex-lacamoire.png", "lin-manuel-miranda.png"]
# Three photographs of one man with his head in three different poses: real movement.
MOVING_FRAMES = ["obama.jpg", "obama2.jpg", "obama3.jpg"]


def face(name: str) -> bytes:
    path = FACES / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the shared test photos must sit beside the repository (../shared/faces)")
    return path.read_bytes()


def y4m_from_photos(path: Path, names: list[str], *, width=640, height=480, fps=10, frames_per_photo=8) -> Path:
    """A Y4M video (4:2:0) for Chromium's fake camera: each photo, letterboxed, held for
    `frames_per_photo` frames; Chromium loops the file."""
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for name in names:
            photo = ImageOps.exif_transpose(Image.open(FACES / name)).convert("RGB")
            photo.thumbnail((width, height))
            frame = Image.new("RGB", (width, height), (40, 40, 40))
            frame.paste(photo, ((width - photo.width) // 2, (height - photo.height) // 2))
            y, cb, cr = frame.convert("YCbCr").split()
            planes = [np.asarray(y)]
            planes += [np.asarray(c.resize((width // 2, height // 2), Image.Resampling.BILINEAR)) for c in (cb, cr)]
            payload = b"".join(p.astype(np.uint8).tobytes() for p in planes)
            for _ in range(frames_per_photo):
                out.write(b"FRAME\n" + payload)
    return path


def approve_with_selfie(session, settings, user, photo: str) -> None:
    """An approved KYC application of `user` with `photo` as the verified selfie, sealed with
    `settings`' keyring, as the officer desk leaves it (the KYC journey itself has its own tests)."""
    from backend.crypto import seal
    from backend.kyc import service as kyc
    from backend.kyc.models import KycApplication

    application = KycApplication(
        account=user.address,
        user_id=user.id,
        status="approved",
        created_at=1,
        updated_at=1,
        document_type="passport",
        frame_count=3,
        document_sha256="0" * 64,
        document_number_sha256="0" * 64,
        salt="0" * 64,
        record_hash="0x" + "42" * 32,
    )
    session.add(application)
    session.flush()
    key_id, blob = seal(
        face(photo), kyc.keyring(settings), settings.kyc_current_key_id, aad=kyc._aad(application, "selfie")
    )
    application.key_id, application.selfie_image, application.selfie_image_type = key_id, blob, "JPEG"
    session.add(application)
    session.commit()
