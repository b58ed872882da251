"""A worker's heartbeat: progress to the server every lease/4 s, and the cancel signal back.

The round's work (training, sampling, the sandbox) runs in the worker's main thread, where
SIGTERM can interrupt it; the heartbeat runs beside it in a thread of its own with its own
event loop and HTTP client, so a long PPO step never delays it past the lease. The main
thread calls :meth:`Heartbeat.report` as it goes and :meth:`Heartbeat.check` at every
step boundary; ``check`` raises :class:`~crlhf.errors.RoundCancelled` once the server
has answered that the round was cancelled, or that it is no longer this worker's (its
lease ran out while the network was down, say).
"""

from __future__ import annotations

import asyncio
import logging
import threading

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.errors import Conflict, CrlhfError, NotFound, RoundCancelled, ServerUnreachable
from crlhf.schemas import RoundProgress, RoundStatus

logger = logging.getLogger(__name__)


class Heartbeat:
    """Reports one claimed round's progress until :meth:`stop`; use it as a context manager."""

    def __init__(self, config: ClientConfig, round_id: int, worker: str, interval_s: float) -> None:
        self.round_id = round_id
        self.worker = worker
        self.interval_s = interval_s
        self._config = config
        self._lock = threading.Lock()
        self._progress = RoundProgress(stage="starting")
        self._verdict: tuple[RoundStatus, str] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"heartbeat-round-{round_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def progress(self) -> RoundProgress:
        with self._lock:
            return self._progress

    @property
    def verdict(self) -> tuple[RoundStatus, str] | None:
        """Why the worker must stop: (cancelled, reason) or (failed, reason); None: go on."""
        with self._lock:
            return self._verdict

    def report(
        self,
        stage: str,
        step: int | None = None,
        steps: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Record where the round is; a new stage is sent at once, steps at the next beat."""
        progress = RoundProgress(stage=stage, step=step, steps=steps, detail=detail)
        with self._lock:
            new_stage = progress.stage != self._progress.stage
            self._progress = progress
        if new_stage:
            self._wake.set()

    def check(self) -> None:
        """Raise :class:`RoundCancelled` if the server said to stop."""
        verdict = self.verdict
        if verdict is not None:
            raise RoundCancelled(verdict[1])

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(5.0, 2 * self.interval_s))

    # ------------------------------------------------------------ the thread

    def _main(self) -> None:
        timeout = max(1.0, 2 * self.interval_s)
        with asyncio.Runner() as runner:
            client = CrlhfClient.from_config(self._config, timeout=timeout)
            try:
                while not self._stop.is_set():
                    runner.run(self._beat(client))
                    self._wake.wait(self.interval_s)
                    self._wake.clear()
            finally:
                runner.run(client.aclose())

    async def _beat(self, client: CrlhfClient) -> None:
        try:
            answer = await client.heartbeat_round(self.round_id, self.worker, self.progress)
        except ServerUnreachable as exc:
            logger.warning("heartbeat of round %d not delivered: %s", self.round_id, exc)
            return
        except (Conflict, NotFound) as exc:
            self._decide(RoundStatus.FAILED, f"the server took round {self.round_id} back: {exc}")
            return
        except CrlhfError as exc:
            logger.warning("heartbeat of round %d refused: %s", self.round_id, exc)
            return
        if answer.status is RoundStatus.CANCELLED:
            why = f": {answer.message}" if answer.message else ""
            self._decide(RoundStatus.CANCELLED, f"round {self.round_id} was cancelled{why}")

    def _decide(self, status: RoundStatus, reason: str) -> None:
        with self._lock:
            if self._verdict is None:
                self._verdict = (status, reason)
                logger.warning("%s; stopping at the next step", reason)
        self._stop.set()
