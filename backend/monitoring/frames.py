"""Camera frames in the face workers (KYC's pool): the verdict of one frame against the
trader's verified face, and that face's embedding from the KYC selfie.

Plain functions of bytes and lists, returning plain dicts: they cross process borders.
"""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.kyc import faces
from backend.kyc.images import ImageRejected, decode

THUMBNAIL_SIZE = (96, 72)


@dataclass(frozen=True)
class FrameParams:
    max_bytes: int
    max_pixels: int
    size: int  # frames are downscaled to this many pixels on the long side
    accept: float  # at most this distance is the verified person
    upsample: int  # HOG upsampling: 1 finds faces down to ~40 px in a 320 x 240 frame


def reference_encoding(selfie: bytes, params: FrameParams) -> list[float]:
    """The embedding of the verified selfie's one face."""
    pixels = decode(selfie, "KYC selfie", max_bytes=50 * 1024 * 1024, max_pixels=60_000_000, size=640)
    return faces.encode(pixels, faces.one_face(pixels, "KYC selfie", "selfie")).tolist()


def analyse_frame(frame: bytes, reference: list[float], params: FrameParams) -> dict:
    """match / mismatch / no_face / several_faces, the distance of the face nearest the
    verified one, and a small JPEG thumbnail; `{"rejected": reason}` for an unusable image."""
    try:
        pixels = decode(
            frame, "camera frame", max_bytes=params.max_bytes, max_pixels=params.max_pixels, size=params.size
        )
    except ImageRejected as rejected:
        return {"rejected": rejected.reason}
    fr = faces._face_recognition()
    locations = fr.face_locations(pixels, number_of_times_to_upsample=params.upsample, model="hog")
    distance = None
    if locations:
        encodings = fr.face_encodings(pixels, locations, num_jitters=1, model="small")
        known = np.asarray(reference)
        distance = round(min(faces.distance(known, e) for e in encodings), 4)
    if not locations:
        state = "no_face"
    elif len(locations) > 1:
        state = "several_faces"
    else:
        state = "match" if distance <= params.accept else "mismatch"
    return {"state": state, "faces": len(locations), "distance": distance, "thumbnail": thumbnail(pixels)}


def thumbnail(pixels: np.ndarray) -> bytes:
    image = Image.fromarray(pixels)
    image.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=60)
    return out.getvalue()
