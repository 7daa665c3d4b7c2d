"""What the user sees of a failing or noisy command: one line per user error, no native log lines."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

from emo.errors import EmoError


@contextlib.contextmanager
def native_logs_hidden(python_stderr_shown: bool = True) -> Iterator[None]:
    """Send what TensorFlow's and MediaPipe's C++ code writes to file descriptor 2 into a
    temporary file. Their absl logging ignores TF_CPP_MIN_LOG_LEVEL and GLOG_minloglevel before
    absl::InitializeLog, which neither library calls. The captured lines are replayed if the
    block fails unexpectedly.

    With `python_stderr_shown` (the commands), Python's stderr (progress bars, our messages)
    still reaches the terminal. Without it (the Python API), what Python code writes to stderr
    meanwhile is hidden too when it goes to that same descriptor (a terminal or a pipe; a
    notebook shows it), and sys.stderr is left alone: a logging handler made inside the block
    keeps a stream that stays open after it."""
    sys.stderr.flush()
    terminal = os.dup(2)
    failed = False
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        python_stderr = sys.stderr
        if python_stderr_shown:
            sys.stderr = open(os.dup(terminal), "w", buffering=1, encoding=python_stderr.encoding or "utf-8",
                              errors="backslashreplace")
        try:
            yield
        except (EmoError, SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            failed = True
            raise
        finally:
            if python_stderr_shown:
                sys.stderr.close()
                sys.stderr = python_stderr
            else:
                sys.stderr.flush()  # lines Python still buffers belong to the hidden ones
            os.dup2(terminal, 2)
            os.close(terminal)
            if failed:
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))


@contextlib.contextmanager
def user_errors_reported() -> Iterator[None]:
    """A user error (EmoError) becomes one line on stderr and exit status 2, without a traceback."""
    try:
        yield
    except EmoError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
