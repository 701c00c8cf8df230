"""Solvers are quiet: what C code writes on stdout goes to ``logging``, never to stdout."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOG = logging.getLogger("planner.optimization.solve")
#: One solver call at a time may own file descriptor 1 (Streamlit runs sessions in threads).
_STDOUT_LOCK = threading.RLock()


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to flush
        pass


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep what C code writes on stdout (file descriptor 1) off the real stdout.

    HiGHS prints its banner from C when the first ``Highs`` object is made, before any
    option can stop it, and CBC writes from a child process. Inside this block file
    descriptor 1 points at a temporary file; at the end the text is forwarded to
    ``logging.getLogger("planner.optimization")`` at DEBUG level. Python's own ``sys.stdout``
    is flushed first, so nothing printed before the block is lost or reordered. A lock
    serialises the blocks of several threads (a thread printing while another holds the
    block has its C-level output logged instead of printed).
    """
    with _STDOUT_LOCK:
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        _flush_c_stdout()
        try:
            saved = os.dup(1)
        except OSError:  # no file descriptor 1 at all: nothing can leak
            saved = None
        if saved is None:
            yield
            return
        text = ""
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 1)
            try:
                yield
            finally:
                _flush_c_stdout()
                os.dup2(saved, 1)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", errors="replace")
        if text.strip():
            _LOG.debug("solver output:\n%s", text.rstrip())
