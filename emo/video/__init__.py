"""Continuous recordings: frame streams with timestamps, the face tracked through them, head
motion removed, and the six models' per-moment answers on a sliding window."""
