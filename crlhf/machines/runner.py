"""The machine annotator's loop: fetch samples it has not judged, run its checker, submit.

One :class:`MachineRunner` per machine token (one annotator, one checker). A checker that
raises or runs past ``timeout_s`` on a sample abstains on all of it; the runner logs one
line and submits the empty verdict, so the sample is recorded as seen and not served to
that machine again. A timed-out check keeps running in its worker thread until the
sandbox's own limits end it; the loop does not wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from crlhf.client import CrlhfClient
from crlhf.machines.checkers import Checker, Verdict
from crlhf.schemas import LineLabel, MachineSubmission, MachineTask

logger = logging.getLogger(__name__)

TASKS_PER_CALL = 10


@dataclass
class MachineRunner:
    client: CrlhfClient
    checker: Checker
    timeout_s: float = 60.0

    async def judge(self, task: MachineTask) -> Verdict:
        """The checker's verdict, or an abstention (and one log line) if it fails.

        The built-in checkers read Python only: code in another language (the problem's
        ``language``) gets an abstention without running anything.
        """
        if task.problem.language != "python":
            return Verdict(note=f"{task.problem.language}: only Python is checked")
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.checker.check, task), self.timeout_s
            )
        except TimeoutError:
            note = f"{self.checker.name} timed out after {self.timeout_s:g} s"
        except Exception as exc:  # any checker failure is an abstention, never a crash
            note = f"{self.checker.name} crashed: {type(exc).__name__}: {exc}".splitlines()[0]
        logger.warning("sample %s: %s; abstaining", task.sample_id, note)
        return Verdict(note=note[:500])

    async def run_pass(self) -> int:
        """Judge every sample the server has for this machine now; returns how many."""
        done = 0
        while tasks := await self.client.machine_tasks(TASKS_PER_CALL):
            for task in tasks:
                verdict = await self.judge(task)
                judged = set(task.judged_numbers)
                await self.client.machine_submit(
                    MachineSubmission(
                        submission_id=uuid.uuid4(),
                        sample_id=task.sample_id,
                        labels=[
                            LineLabel(line=n, label=label)
                            for n, label in sorted(verdict.labels.items())
                            if n in judged
                        ],
                        note=verdict.note,
                    )
                )
                done += 1
        return done
