"""What the user sees of a failing or noisy command: one line per user error, no native log lines."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

from emo.errors import EmoError


@contextlib.contextmanager
def native_logs_hidden() -> Iterator[None]:
    """Send what TensorFlow's and MediaPipe's C++ code writes to file descriptor 2 into a
    temporary file, while Python's stderr (progress bars, our messages) still reaches the
    terminal. Their absl logging ignores TF_CPP_MIN_LOG_LEVEL and GLOG_minloglevel before
    absl::InitializeLog, which neither library calls. The captured lines are replayed if
    the command fails unexpectedly."""
    sys.stderr.flush()
    terminal = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        python_stderr = sys.stderr
        sys.stderr = open(os.dup(terminal), "w", buffering=1, encoding=python_stderr.encoding or "utf-8",
                          errors="backslashreplace")
        try:
            yield
        except (EmoError, SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.close()
            sys.stderr = python_stderr
            os.dup2(terminal, 2)
            os.close(terminal)


@contextlib.contextmanager
def user_errors_reported() -> Iterator[None]:
    """A user error (EmoError) becomes one line on stderr and exit status 2, without a traceback."""
    try:
        yield
    except EmoError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
