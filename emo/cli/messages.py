"""What `emo predict` and `emo explain` print beside their answers: the clips that seem to start
at their peak, the paths that failed, and the time each step took."""

from __future__ import annotations

import sys


def print_problems(results) -> None:
    """One line on stderr per doubtful answer (a clip that seems to start at its peak, a long recording),
    and per path that failed."""
    for r in results:
        for _, text in r.notes:
            print(f"warning: {r.path}: {text}.", file=sys.stderr)
    for r in results:
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)


def print_timing(results, file) -> None:
    import pandas as pd

    table = pd.DataFrame([{"video": r.path, **{k: 1000 * v for k, v in r.timing.items()}} for r in results if r.timing])
    print("\nmilliseconds per video (model: the batch's time over its videos)", file=file)
    print(table.to_string(index=False, float_format="{:.0f}".format), file=file)
