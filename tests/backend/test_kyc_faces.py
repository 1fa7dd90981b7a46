"""KYC face work on the real shared photos: image intake, matching, liveness.

These call the worker functions directly (the API tests go through the process pool)."""

import io
import struct
import tracemalloc
import zlib
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from backend.config import Settings
from backend.kyc import faces, images, service
from tests.faces import MOVING_FRAMES, OTHER_PEOPLE, SAME_PERSON, face

PARAMS = service.face_params(Settings())
LIMITS = {"max_bytes": PARAMS.max_bytes, "max_pixels": PARAMS.max_pixels}


def decode(data: bytes) -> np.ndarray:
    return images.decode(data, "photo", size=PARAMS.size, **LIMITS)


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **options)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height, with one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


# ------------------------------------------------------------------ matching


@pytest.mark.parametrize(("a", "b"), list(combinations(SAME_PERSON, 2)))
def test_match__same_person_pairs_match(a, b):
    distance = faces.match_images(face(a), face(b), PARAMS)
    assert distance <= PARAMS.accept, f"{a} vs {b}: {distance:.3f}"


@pytest.mark.parametrize(
    ("a", "b"), [(x, y) for x in SAME_PERSON[:3] for y in OTHER_PEOPLE] + list(combinations(OTHER_PEOPLE, 2))
)
def test_match__different_people_do_not(a, b):
    distance = faces.match_images(face(a), face(b), PARAMS)
    assert distance > PARAMS.reject, f"{a} vs {b}: {distance:.3f}"


def test_one_face__two_people_refused_for_two_faces():
    pixels = decode(face("two_people.jpg"))
    with pytest.raises(images.ImageRejected, match="2 faces found in the document photo") as refused:
        faces.one_face(pixels, "document photo", "document")
    assert refused.value.code == "several_faces_document"


def test_one_face__no_face_refused():
    blank = jpeg(Image.new("RGB", (400, 300), (200, 180, 160)))
    with pytest.raises(images.ImageRejected, match="no face found in the selfie") as refused:
        faces.one_face(decode(blank), "selfie", "selfie")
    assert refused.value.code == "no_face_selfie"


# ------------------------------------------------------------- image intake


def test_decode__rgba_png_works():
    data = face("32bit.png")
    assert Image.open(io.BytesIO(data)).mode == "RGBA"
    pixels = decode(data)
    assert pixels.ndim == 3 and pixels.shape[2] == 3 and max(pixels.shape[:2]) <= PARAMS.size
    faces.one_face(pixels, "selfie", "selfie")


@pytest.mark.parametrize("mode", ["L", "I;16"])
def test_decode__greyscale_works(mode):
    grey = Image.open(io.BytesIO(face("obama.jpg"))).convert("L")
    if mode == "I;16":
        grey = Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257)
    out = io.BytesIO()
    grey.save(out, "PNG")
    pixels = decode(out.getvalue())
    assert pixels.shape[2] == 3 and pixels.mean() > 40  # scaled, not clipped to white or black
    faces.one_face(pixels, "selfie", "selfie")


def test_decode__exif_orientation_applied():
    upright = Image.open(io.BytesIO(face("obama2.jpg"))).convert("RGB")
    # Stored sideways with the EXIF tag saying "rotate 90 degrees clockwise to view" (6),
    # as a phone camera writes it.
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    pixels = decode(jpeg(sideways, exif=exif.tobytes()))
    assert pixels.shape[0] > pixels.shape[1]  # portrait again, like the original
    faces.one_face(pixels, "selfie", "selfie")


def test_decode__webp_works():
    out = io.BytesIO()
    Image.open(io.BytesIO(face("obama.jpg"))).save(out, "WEBP", quality=85)
    assert images.inspect(out.getvalue(), "selfie", **LIMITS).format == "WEBP"
    faces.one_face(decode(out.getvalue()), "selfie", "selfie")


def test_decode__downscaled_before_detection():
    big = Image.open(io.BytesIO(face("obama.jpg"))).convert("RGB").resize((3000, 3750))
    pixels = decode(jpeg(big))
    assert max(pixels.shape[:2]) == PARAMS.size


def test_inspect__text_file_named_jpg_refused(tmp_path):
    path = tmp_path / "passport.jpg"
    path.write_text("this is not a photo of anybody\n" * 20)
    with pytest.raises(images.ImageRejected, match=r"not a JPEG, PNG or WebP image \(judged by its content"):
        images.inspect(path.read_bytes(), "document photo", **LIMITS)


def test_decode__truncated_jpeg_refused():
    data = face("obama.jpg")
    cut = data[: len(data) // 2]
    images.inspect(cut, "document photo", **LIMITS)  # the header is intact...
    with pytest.raises(images.ImageRejected, match="damaged or incomplete"):
        images.decode(cut, "document photo", size=PARAMS.size, **LIMITS)  # ...the pixels are not


def test_inspect__12_mb_file_refused():
    data = face("obama.jpg") + b"\0" * (12 * 1024 * 1024)
    with pytest.raises(images.ImageRejected, match=r"is 12\.\d MB: at most 10 MB") as refused:
        images.inspect(data, "document photo", **LIMITS)
    assert refused.value.code == "too_large"


def test_inspect__huge_header_refused_without_allocating():
    bomb = png_header(20_000, 20_000)
    assert len(bomb) < 100
    tracemalloc.start()
    try:
        with pytest.raises(images.ImageRejected, match="20,000 x 20,000 pixels: at most 40 megapixels"):
            images.decode(bomb, "document photo", size=PARAMS.size, **LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024  # 20,000 x 20,000 RGB would be 1.2 GB


def test_inspect__bomb_past_pillows_own_limit_refused():
    with pytest.raises(images.ImageRejected, match="3,600 megapixels: at most 40 megapixels"):
        images.inspect(png_header(60_000, 60_000), "selfie", **LIMITS)


# ------------------------------------------------------------------ liveness


def analyse(document: bytes, frames: list[bytes]) -> dict:
    return faces.analyse_application(document, frames, PARAMS)


def test_liveness__three_copies_of_one_photo_fail():
    photo = face("obama.jpg")
    result = analyse(face("obama-240p.jpg"), [photo, photo, photo])
    assert result["outcome"] == "retake" and result["reason_code"] == "not_live"


def test_liveness__a_still_photo_moved_in_front_of_the_camera_fails():
    """A printed photo held up and moved: shifted, turned in the image plane, tilted away,
    brought closer, re-encoded. Every frame is different, yet none shows a live face."""
    still = Image.open(io.BytesIO(face("obama.jpg"))).convert("RGB")
    w, h = still.size
    frames = [
        jpeg(still),
        jpeg(still.crop((50, 40, w, h))),
        jpeg(still.rotate(12, resample=Image.Resampling.BICUBIC, expand=True)),
        jpeg(still.resize((int(w * 0.8), h))),  # turned away about the vertical axis
        jpeg(still.resize((int(w * 0.7), int(h * 0.7)))),
    ]
    assert len(set(frames)) == len(frames)
    result = analyse(face("obama-240p.jpg"), frames)
    assert result["outcome"] == "retake" and result["reason_code"] == "not_live", result


def test_liveness__real_head_movement_passes():
    result = analyse(face("obama-240p.jpg"), [face(n) for n in MOVING_FRAMES])
    assert result["outcome"] == "checked", result
    live = result["liveness"]
    assert live["passed"] and live["head_movement"] and live["parallax"] >= PARAMS.min_parallax
    assert result["match"] == "match" and result["distance"] <= PARAMS.accept


def test_liveness__measure_separates_still_from_moving():
    """The parallax of a moved still photo is noise; a turning head's is several times it."""
    still = Image.open(io.BytesIO(face("obama.jpg"))).convert("RGB")

    def canonical(image_bytes):
        pixels = decode(image_bytes)
        return faces.canonical_landmarks(pixels, faces.one_face(pixels, "selfie", "selfie"))

    w, h = still.size
    moved = [
        canonical(jpeg(still)),
        canonical(jpeg(still.rotate(-15, resample=Image.Resampling.BICUBIC, expand=True))),
        canonical(jpeg(still.crop((w // 10, h // 12, w, h)))),
    ]
    moving = [canonical(face(n)) for n in MOVING_FRAMES]
    still_parallax = faces.liveness(moved, min_parallax=PARAMS.min_parallax, blink_ratio=PARAMS.blink_ratio)["parallax"]
    head_parallax = faces.liveness(moving, min_parallax=PARAMS.min_parallax, blink_ratio=PARAMS.blink_ratio)["parallax"]
    assert still_parallax < PARAMS.min_parallax / 2 and head_parallax > 2 * PARAMS.min_parallax


def test_liveness__frames_of_different_people_refused():
    result = analyse(face("obama.jpg"), [face("obama2.jpg"), face("biden.jpg"), face("obama3.jpg")])
    assert result["outcome"] == "retake" and result["reason_code"] == "frames_differ"


def test_liveness__blink_rule_on_landmarks():
    """No shared photo has closed eyes, so the blink rule is checked on the landmarks of a
    real face with the eyelids moved (points 1, 2 and 4, 5 of each eye towards its axis)."""
    pixels = decode(face("obama.jpg"))
    open_eyes = faces.canonical_landmarks(pixels, faces.one_face(pixels, "selfie", "selfie"))

    def closed(marks, factor):
        out = dict(marks)
        for name in ("left_eye", "right_eye"):
            eye = marks[name].copy()
            axis_y = (eye[0, 1] + eye[3, 1]) / 2
            eye[[1, 2, 4, 5], 1] = axis_y + (eye[[1, 2, 4, 5], 1] - axis_y) * factor
            out[name] = eye
        return out

    rule = {"min_parallax": PARAMS.min_parallax, "blink_ratio": PARAMS.blink_ratio}
    blink = faces.liveness([open_eyes, closed(open_eyes, 0.3), open_eyes], **rule)
    assert blink["passed"] and blink["blink"] and not blink["head_movement"]
    squint = faces.liveness([open_eyes, closed(open_eyes, 0.85), open_eyes], **rule)
    assert not squint["passed"]
