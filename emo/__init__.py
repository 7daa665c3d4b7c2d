"""emo: explainable facial-emotion recognition from face-mesh landmark videos."""

import os

# TensorFlow and MediaPipe log C++ banners at start-up; keep the console for our own messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("GLOG_minloglevel", "2")

__version__ = "0.1.0"

# The points of MediaPipe's face mesh (its 10 iris points left out): the landmark tensor's last
# axis everywhere. Here, at the root, so that params validation (emo.config) can use it too.
N_LANDMARKS = 468
