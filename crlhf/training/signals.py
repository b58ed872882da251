"""SIGTERM and Ctrl-C as exceptions, so a stopped process can still report its round.

The worker and rank 0 of a launched ``train-round`` both need this: the process that
owns a round must mark it ``failed`` before it exits. Its own module so that ranks do
not import the worker (and with it the evaluation code) to get it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def raise_on_signals(error: Callable[[int], BaseException]) -> Iterator[None]:
    """Turn the first SIGTERM or SIGINT into ``error(signum)`` raised in the main thread;
    a second one gets the default behaviour (the failed round may still be being
    reported). Outside the main thread, where handlers cannot be set, it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise error(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
