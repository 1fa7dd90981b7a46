"""The shared test photographs (../shared/faces beside the repository; see its README)."""

from pathlib import Path

import pytest

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
