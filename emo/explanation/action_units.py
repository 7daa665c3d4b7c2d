"""Attributions stated in FACS action units instead of mesh indices.

An action unit's footprint is how far it moves each landmark (emo.data.action_units, the
fields the demo generator animates faces with). A landmark attribution [468] is decomposed
into footprints by non-negative least squares (scipy.optimize.nnls): attribution ~
sum_au c_au |field_au|. An action unit's share is the attribution mass its fitted footprint
carries, c_au * sum |field_au|; what no footprint explains is the share of "other". The
shares sum to 1. Overlapping action units (the lip-corner pullers and depressors share
their landmarks) are told apart by the whole shape of their footprints, not by any single
landmark.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from emo.data.action_units import ACTION_UNIT_NAMES, ACTION_UNITS, action_unit_field, blink_field
from emo.data.emotions import EMOTIONS

UNITS = (*ACTION_UNITS, 45)  # 45: blink
OTHER = "other"
MOVED_SHARE = 0.25  # an action unit moves a landmark when it moves it by this share of its largest move


@functools.cache
def footprints() -> np.ndarray:
    """[len(UNITS), 468]: how far each action unit moves each landmark at intensity 1 (cm)."""
    fields = [action_unit_field(au) for au in ACTION_UNITS] + [blink_field()]
    return np.stack([np.linalg.norm(f, axis=1) for f in fields])


def unit_label(au: int) -> str:
    return f"AU{au} {ACTION_UNIT_NAMES[au]}"


def action_unit_shares(attribution: np.ndarray) -> np.ndarray:
    """[..., 468] non-negative attributions -> [..., len(UNITS) + 1] shares summing to 1 (the
    last is 'other': mass no action unit's footprint explains)."""
    a = np.clip(np.asarray(attribution, dtype=np.float64), 0, None)
    flat = a.reshape(-1, a.shape[-1])
    F = footprints()
    shares = np.zeros((len(flat), len(UNITS) + 1))
    for i, row in enumerate(flat):
        total = row.sum()
        if total <= 0:
            shares[i, -1] = 1.0
            continue
        scale = row.max()
        coef, _ = nnls(F.T, row / scale)
        mass = coef * F.sum(axis=1) * scale
        explained = mass.sum()
        other = max(total - explained, 0.0)
        shares[i, :-1], shares[i, -1] = mass / (explained + other), other / (explained + other)
    return shares.reshape(*a.shape[:-1], len(UNITS) + 1)


def shares_dict(shares: np.ndarray, top: int | None = None) -> dict[str, float]:
    """{'AU12 lip corner puller': 0.41, ...} largest first ('other' in its place), rounded."""
    labels = [unit_label(au) for au in UNITS] + [OTHER]
    order = np.argsort(-shares, kind="stable")[:top]
    return {labels[i]: round(float(shares[i]), 4) for i in order}


def shares_sentence(shares: np.ndarray, top: int = 3) -> str:
    """'AU12 lip corner puller 41%, AU6 cheek raiser 22%, AU26 jaw drop 9%'."""
    return ", ".join(f"{label} {value:.0%}" for label, value in shares_dict(shares, top).items())


def landmarks_moved() -> dict[int, list[int]]:
    """The map from action units to the landmarks each moves (by MOVED_SHARE of its largest move)."""
    F = footprints()
    return {au: [int(i) for i in np.flatnonzero(F[u] >= MOVED_SHARE * F[u].max())] for u, au in enumerate(UNITS)}


def found_units(shares: np.ndarray, n: int) -> list[int]:
    """The n action units with the largest shares ('other' excluded), largest first."""
    return [UNITS[i] for i in np.argsort(-shares[:-1], kind="stable")[:n]]


def shares_table(attributions: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows (method, emotion, action unit, share) of every method's [6, 468] attribution."""
    labels = [unit_label(au) for au in UNITS] + [OTHER]
    rows = []
    for method, values in attributions.items():
        shares = action_unit_shares(values)
        rows += [{"method": method, "emotion": emotion, "action_unit": label, "share": float(shares[e, u])}
                 for e, emotion in enumerate(EMOTIONS) for u, label in enumerate(labels)]
    return pd.DataFrame(rows)


def recovery_table(attributions: dict[str, np.ndarray], generating: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """Rows (method, emotion): the action units that generated the emotion, the as many
    largest-share units of the method's attribution, how many of them match, and the share
    of the attribution that the generating units carry."""
    rows = []
    for method, values in attributions.items():
        shares = action_unit_shares(values)
        for e, emotion in enumerate(EMOTIONS):
            units = generating[emotion]
            found = found_units(shares[e], len(units))
            rows.append({"method": method, "emotion": emotion, "generating": " ".join(f"AU{u}" for u in units),
                         "found": " ".join(f"AU{u}" for u in found), "hits": len(set(found) & set(units)),
                         "of": len(units), "share_generating": float(sum(shares[e, UNITS.index(u)] for u in units))})
    return pd.DataFrame(rows)
