"""The 468-point face mesh: canonical geometry, triangles, mirror pairs and named regions.

The canonical mesh (3D, in cm; x towards the subject's left, which is the image's right;
y up; symmetric about x = 0) is read from the geometry metadata inside face_landmarker.task, and the region
index sets from MediaPipe's FaceLandmarksConnections. Both are stored once in
`canonical_mesh.npz` beside this file (regenerate with `python -m emo.data.mesh TASK`), so
training, plotting and the CLI need neither the model file nor a mediapipe import.
"""

from __future__ import annotations

import functools
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo import N_LANDMARKS

MESH_FILE = Path(__file__).with_name("canonical_mesh.npz")
GEOMETRY_MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"
# Regions a researcher names when reading an explanation (FaceLandmarksConnections names).
REGION_CONNECTIONS = {
    "lips": "FACE_LANDMARKS_LIPS",
    "left_eye": "FACE_LANDMARKS_LEFT_EYE",
    "right_eye": "FACE_LANDMARKS_RIGHT_EYE",
    "left_eyebrow": "FACE_LANDMARKS_LEFT_EYEBROW",
    "right_eyebrow": "FACE_LANDMARKS_RIGHT_EYEBROW",
    "nose": "FACE_LANDMARKS_NOSE",
    "face_oval": "FACE_LANDMARKS_FACE_OVAL",
}


@dataclass(frozen=True)
class FaceMesh:
    vertices: np.ndarray  # [468, 3] canonical positions (cm), y up
    triangles: np.ndarray  # [T, 3] vertex indices
    mirror: np.ndarray  # [468] index of each landmark's left/right mirror image
    regions: dict[str, np.ndarray]  # region name -> landmark indices

    @functools.cached_property
    def edges(self) -> np.ndarray:
        """Unique undirected edges of the triangulation, [E, 2]."""
        t = self.triangles
        e = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
        return np.unique(np.sort(e, axis=1), axis=0)


@functools.cache
def face_mesh() -> FaceMesh:
    with np.load(MESH_FILE) as z:
        vertices = z["vertices"]
        regions = {name: z[f"region_{name}"] for name in REGION_CONNECTIONS}
        return FaceMesh(vertices=vertices, triangles=z["triangles"], mirror=mirror_permutation(vertices), regions=regions)


def mirror_permutation(vertices: np.ndarray) -> np.ndarray:
    """For each landmark, the landmark at its mirror position across the face's midline (x = 0)."""
    mirrored = vertices * np.array([-1.0, 1.0, 1.0])
    d = ((mirrored[:, None, :] - vertices[None, :, :]) ** 2).sum(-1)
    return d.argmin(axis=1)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Decode one protobuf message into (field number, value) pairs, without its schema."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def read_canonical_mesh(task_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Canonical vertices [468, 3] and triangles [T, 3] from face_landmarker.task.

    GeometryPipelineMetadata: field 1 is the canonical Mesh3d, whose field 3 is the vertex
    buffer (x, y, z, u, v per vertex) and field 4 the triangle index buffer.
    """
    with zipfile.ZipFile(task_path) as z:
        meta = z.read(GEOMETRY_MEMBER)
    mesh = next(v for n, v in _proto_fields(meta) if n == 1)
    parts = _proto_fields(mesh)
    floats = np.array([struct.unpack("<f", v)[0] for n, v in parts if n == 3], dtype=np.float64)
    indices = np.array([v for n, v in parts if n == 4], dtype=np.int64)
    vertices = floats.reshape(-1, 5)[:, :3]
    assert vertices.shape[0] == N_LANDMARKS, vertices.shape
    return vertices, indices.reshape(-1, 3)


def mediapipe_vision():
    """`mediapipe.tasks.python.vision`, imported without pulling in TensorFlow.

    mediapipe imports TensorFlow only to decorate its docs when it is installed; that
    costs about 4 s per process, paid by every extract worker. Hiding TensorFlow during
    the import makes mediapipe use its own fallback; TensorFlow stays importable after.
    """
    if "mediapipe.tasks.python.vision" not in sys.modules and "tensorflow" not in sys.modules:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
        try:
            from mediapipe.tasks.python import vision
        finally:
            del sys.modules["tensorflow"]
    from mediapipe.tasks.python import vision

    return vision


def read_regions() -> dict[str, np.ndarray]:
    connections = mediapipe_vision().FaceLandmarksConnections
    return {
        name: np.array(sorted({i for c in getattr(connections, attr) for i in (c.start, c.end)}), dtype=np.int64)
        for name, attr in REGION_CONNECTIONS.items()
    }


def write_mesh_file(task_path: str | Path, out: Path = MESH_FILE) -> None:
    vertices, triangles = read_canonical_mesh(task_path)
    regions = {f"region_{k}": v for k, v in read_regions().items()}
    np.savez_compressed(out, vertices=vertices.astype(np.float32), triangles=triangles.astype(np.int32), **regions)


if __name__ == "__main__":
    write_mesh_file(sys.argv[1])
