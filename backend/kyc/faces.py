"""Face work for KYC, run in worker processes (see pool.py): detection, the 128-d dlib
embedding and its distance, and liveness from the 68 face landmarks.

Liveness, and what it is not: a flat photo moved in front of the camera (shifted,
turned, tilted, brought closer) changes the image of the face by close to an affine
map. So every frame's landmarks are put into the face's own affine frame, fixed by the
two eye centres and the mouth centre. There, a flat photo's landmarks stay put, while a
real head shows (a) parallax: the nose tip, which stands out of the eye-mouth plane,
moves when the head turns or nods; or (b) a blink: the eyes close while the rest stays.
It is a baseline against printed-photo and still-image attacks, not a certified
presentation-attack detector: a video replay of the person, a 3D mask or a deepfake
stream is not stopped by it.
"""

import time
from dataclasses import dataclass
from itertools import combinations
from statistics import median

import numpy as np

from backend.kyc.images import ImageRejected, decode

# dlib's ResNet face model, as face_recognition ships it: 99.38% on the LFW benchmark.
LFW_ACCURACY = "99.38%"


@dataclass(frozen=True)
class Params:
    max_bytes: int
    max_pixels: int
    size: int
    accept: float
    reject: float
    min_parallax: float
    blink_ratio: float


def warm() -> None:
    """Load dlib's models once per worker, so the first application is not the slow one."""
    import face_recognition  # noqa: F401


def _face_recognition():
    import face_recognition

    return face_recognition


def one_face(pixels: np.ndarray, label: str, code: str):
    """The one face's location; ImageRejected (retake) for none or several."""
    # At detection size a face in a selfie or an ID photo is big enough for the HOG detector
    # as is; upsampling (4-6 times slower) is only tried when nothing was found.
    locations = _face_recognition().face_locations(pixels, number_of_times_to_upsample=0, model="hog")
    if not locations:
        locations = _face_recognition().face_locations(pixels, number_of_times_to_upsample=1, model="hog")
    if not locations:
        raise ImageRejected(
            f"no face found in the {label}: face the camera in good light, uncovered, and retake it", f"no_face_{code}"
        )
    if len(locations) > 1:
        raise ImageRejected(
            f"{len(locations)} faces found in the {label}: only yours may be in the picture; retake it",
            f"several_faces_{code}",
        )
    return locations[0]


def encode(pixels: np.ndarray, location) -> np.ndarray:
    return _face_recognition().face_encodings(pixels, [location], num_jitters=1, model="small")[0]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def match_images(document: bytes, selfie: bytes, params: Params) -> float:
    """Distance between the faces of two images (the benchmark's unit of work)."""
    doc = decode(document, "document photo", max_bytes=params.max_bytes, max_pixels=params.max_pixels, size=params.size)
    face = decode(selfie, "selfie", max_bytes=params.max_bytes, max_pixels=params.max_pixels, size=params.size)
    return distance(
        encode(doc, one_face(doc, "document photo", "document")), encode(face, one_face(face, "selfie", "selfie"))
    )


# ------------------------------------------------------------------ liveness


def canonical_landmarks(pixels: np.ndarray, location) -> dict[str, np.ndarray]:
    """The 68 landmarks in the face's affine frame: left eye (0,0), right eye (1,0), mouth (0.5,1)."""
    marks = _face_recognition().face_landmarks(pixels, [location], model="large")[0]
    points = {name: np.asarray(p, dtype=np.float64) for name, p in marks.items()}
    left = points["left_eye"].mean(axis=0)
    right = points["right_eye"].mean(axis=0)
    mouth = np.vstack([points["top_lip"], points["bottom_lip"]]).mean(axis=0)
    source = np.hstack([np.array([left, right, mouth]), np.ones((3, 1))])
    target = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 1.0]])
    try:
        transform = np.linalg.solve(source, target)
    except np.linalg.LinAlgError:  # eyes and mouth in a line: no face we can use
        raise ImageRejected(
            "the face in a selfie frame is turned too far: look at the camera", "no_face_selfie"
        ) from None
    return {name: np.hstack([p, np.ones((len(p), 1))]) @ transform for name, p in points.items()}


def eye_openness(eye: np.ndarray) -> float:
    """Eye aspect ratio (Soukupová and Čech 2016): eyelid gap over eye width."""
    return float(
        (np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / (2.0 * np.linalg.norm(eye[0] - eye[3]))
    )


def liveness(frames: list[dict[str, np.ndarray]], *, min_parallax: float, blink_ratio: float) -> dict:
    """Head movement (nose-tip parallax) or a blink across the frames' canonical landmarks."""
    noses = [f["nose_tip"].mean(axis=0) for f in frames]
    ears = [(eye_openness(f["left_eye"]) + eye_openness(f["right_eye"])) / 2.0 for f in frames]
    parallax = max(float(np.linalg.norm(a - b)) for a, b in combinations(noses, 2))
    ear_ratio = min(ears) / max(ears) if max(ears) > 0 else 1.0
    moved = parallax >= min_parallax
    blinked = ear_ratio <= blink_ratio
    return {
        "passed": bool(moved or blinked),
        "head_movement": bool(moved),
        "blink": bool(blinked),
        "parallax": round(parallax, 4),
        "min_parallax": min_parallax,
        "eye_openness": [round(e, 4) for e in ears],
        "eye_ratio": round(ear_ratio, 4),
        "blink_ratio": blink_ratio,
        "nose": [[round(float(x), 4) for x in n] for n in noses],
    }


# --------------------------------------------------------------- application


def analyse_application(document: bytes, frames: list[bytes], params: Params) -> dict:
    """The whole face check of one application. Returns a plain dict (it crosses processes):
    `outcome` "retake" with `reason_code`/`reason`, or "checked" with the figures."""
    started = time.perf_counter()
    try:
        return _analyse(document, frames, params, started)
    except ImageRejected as rejected:
        return {
            "outcome": "retake",
            "reason_code": rejected.code,
            "reason": rejected.reason,
            "timings_ms": {"total": _ms(started)},
        }


def _analyse(document: bytes, frames: list[bytes], params: Params, started: float) -> dict:
    limits = {"max_bytes": params.max_bytes, "max_pixels": params.max_pixels, "size": params.size}
    doc_pixels = decode(document, "document photo", **limits)
    doc_face = encode(doc_pixels, one_face(doc_pixels, "document photo", "document"))
    after_document = time.perf_counter()

    if len(set(frames)) == 1:
        # Byte-identical frames are one picture sent several times: no need to look.
        raise ImageRejected(
            "the selfie frames are all the same picture: follow the guidance (blink, turn your head slightly)",
            "not_live",
        )
    encodings, landmarks = [], []
    for i, frame in enumerate(frames, start=1):
        pixels = decode(frame, f"selfie frame {i}", **limits)
        location = one_face(pixels, f"selfie frame {i}", "selfie")
        encodings.append(encode(pixels, location))
        landmarks.append(canonical_landmarks(pixels, location))
    after_frames = time.perf_counter()

    # Every frame must show the same person, or a liveness "movement" could be a face swap.
    spread = max(distance(a, b) for a, b in combinations(encodings, 2))
    if spread > params.reject:
        raise ImageRejected(
            "the selfie frames show different faces: only you may be in front of the camera", "frames_differ"
        )

    live = liveness(landmarks, min_parallax=params.min_parallax, blink_ratio=params.blink_ratio)
    if not live["passed"]:
        raise ImageRejected(
            "we could not see a live face: the frames show no blink and no head movement. "
            "Follow the guidance (blink, turn your head slightly) and retake",
            "not_live",
        )
    distances = [distance(doc_face, e) for e in encodings]
    med = float(median(distances))
    verdict = "match" if med <= params.accept else "mismatch" if med > params.reject else "review"
    # The frame kept for the officer: the one nearest the median distance (a typical frame).
    best = min(range(len(frames)), key=lambda i: abs(distances[i] - med))
    return {
        "outcome": "checked",
        "distance": round(med, 4),
        "frame_distances": [round(d, 4) for d in distances],
        "frame_spread": round(spread, 4),
        "match": verdict,
        "liveness": live,
        "selfie_index": best,
        "timings_ms": {
            "document": _ms(started, after_document),
            "frames": _ms(after_document, after_frames),
            "total": _ms(started),
        },
    }


def _ms(start: float, end: float | None = None) -> int:
    return round(((end if end is not None else time.perf_counter()) - start) * 1000)
