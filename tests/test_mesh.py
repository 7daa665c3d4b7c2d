import numpy as np

from emo.data.mesh import N_LANDMARKS, face_mesh, read_canonical_mesh, read_regions


def test_mirror_is_an_involution_that_maps_pairs_onto_each_other():
    mesh = face_mesh()
    m = mesh.mirror
    assert sorted(m) == list(range(N_LANDMARKS))
    assert np.array_equal(m[m], np.arange(N_LANDMARKS))
    v = mesh.vertices
    np.testing.assert_allclose(v[m] * [-1, 1, 1], v, atol=1e-4)
    # Known MediaPipe pairs: outer eye corners, mouth corners; the nose tip is on the midline.
    assert m[33] == 263 and m[61] == 291 and m[1] == 1


def test_regions_mirror_each_other():
    mesh = face_mesh()
    assert sorted(mesh.mirror[mesh.regions["left_eye"]]) == sorted(mesh.regions["right_eye"])
    assert sorted(mesh.mirror[mesh.regions["lips"]]) == sorted(mesh.regions["lips"])


def test_committed_mesh_matches_the_model_file(face_model):
    vertices, triangles = read_canonical_mesh(face_model)
    mesh = face_mesh()
    np.testing.assert_allclose(mesh.vertices, vertices, atol=1e-6)
    assert np.array_equal(mesh.triangles, triangles)
    for name, idx in read_regions().items():
        assert np.array_equal(mesh.regions[name], idx), name


def test_edges_are_unique_and_cover_every_landmark():
    e = face_mesh().edges
    assert len(np.unique(e, axis=0)) == len(e)
    assert set(e.ravel()) == set(range(N_LANDMARKS))


def test_named_regions_do_not_overlap():
    regions = face_mesh().regions
    seen = np.concatenate(list(regions.values()))
    assert len(seen) == len(np.unique(seen))
