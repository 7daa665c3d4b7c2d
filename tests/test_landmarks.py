import numpy as np

from emo.data.landmarks import FaceBox


def test_face_box_is_square_centred_with_margin():
    box = FaceBox.around((100, 50), (200, 250), margin=0.25)
    assert box.side == 300
    assert (box.x0 + box.side / 2, box.y0 + box.side / 2) == (150, 150)


def test_crop_maps_box_corners_and_to_box_inverts_it():
    frame = np.zeros((100, 120), np.uint8)
    frame[20:40, 30:50] = 255  # a bright square
    box = FaceBox(20.0, 10.0, 40.0)
    crop = box.crop(frame, 80)
    assert crop.shape == (80, 80)
    # The square 30..50 x 20..40 lands at (30-20)*2 .. (50-20)*2 in the crop.
    assert crop[25:55, 25:55].mean() > 250 and crop[:15, :15].max() == 0
    pts = np.array([[30.0, 20.0], [50.0, 40.0]])
    np.testing.assert_allclose(box.to_box(pts), [[0.25, 0.25], [0.75, 0.75]])


def test_crop_outside_frame_repeats_border():
    frame = np.full((50, 50), 7, np.uint8)
    crop = FaceBox(-25.0, -25.0, 100.0).crop(frame, 64)
    assert (crop == 7).all()
