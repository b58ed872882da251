"""The worker's training stage as a child ``accelerate launch ... train-round`` process group.

``crlhf worker --num-processes N`` (or ``--accelerate-config FILE``) keeps claims,
heartbeats, sampling, benchmarks and pushes in its own single process and trains each
round data-parallel in a child: the worker writes the round's triples and its resolved
PPO settings to a temporary folder, starts ``python -m accelerate.commands.launch ... -m
crlhf train-round --data rows.jsonl --config ppo.json --progress-json`` in a session of
its own, and reads JSON lines from the child's stdout (``step``, ``done``, ``error``,
see :mod:`crlhf.training.cli`) to report progress through the heartbeat.

Stopping: the worker checks for a cancel every half second while it waits. A cancel, a
SIGTERM/Ctrl-C of the worker or any error ends the child: SIGTERM to its process group
(the launcher then stops its ranks), SIGKILL if it is still there after
:data:`STOP_GRACE_S`. A worker killed outright closes the pipe, and rank 0 dies of it at
its next progress line, before it saves anything. A child that fails ends the round
failed with the child's own typed error.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from crlhf.errors import CrlhfError, InvalidInput, TrainingFailed
from crlhf.jsonl import write_jsonl
from crlhf.schemas import ExportRow
from crlhf.training.adapters import read_manifest
from crlhf.training.config import PPOConfig
from crlhf.training.distributed import rebuild

logger = logging.getLogger(__name__)

STOP_GRACE_S = 40.0
"""Seconds between SIGTERM and SIGKILL: more than the launcher's own 30 s for its ranks."""

POLL_S = 0.5
"""How often the worker checks for a cancel while the child trains."""


@dataclass(frozen=True)
class Launch:
    """How to start the child: an accelerate config file and/or a process count."""

    config_file: Path | None = None
    num_processes: int | None = None

    def __post_init__(self) -> None:
        if self.config_file is None and self.num_processes is None:
            raise InvalidInput("give an accelerate config file or a process count")
        if self.num_processes is not None and self.num_processes < 1:
            raise InvalidInput("must be at least 1", field="num_processes")
        if self.config_file is not None and not self.config_file.is_file():
            raise InvalidInput(f"{self.config_file}: no such file", field="accelerate_config")

    def command(self, train_round_args: Sequence[str]) -> list[str]:
        """The child's command line: ``accelerate launch`` of ``crlhf train-round``."""
        command = [sys.executable, "-m", "accelerate.commands.launch", "--quiet"]
        if self.config_file is not None:
            command += ["--config_file", str(self.config_file)]
        else:  # one host, all of its GPUs (or CPU processes), any free port
            command += ["--multi_gpu", "--num_machines", "1", "--main_process_port", "0"]
            command += ["--mixed_precision", "no", "--dynamo_backend", "no"]
        if self.num_processes is not None:
            command += ["--num_processes", str(self.num_processes)]
        return [*command, "-m", "crlhf", "train-round", *train_round_args]


@dataclass(frozen=True)
class ChildResult:
    version: str
    directory: Path


StepReport = Callable[[int, int], None]
"""``(steps done, steps in all)``, as :data:`crlhf.training.round.StepCallback`."""


def train_in_child(
    launch: Launch,
    rows: Sequence[ExportRow],
    *,
    base_model: str,
    out_root: Path,
    version: str,
    config: PPOConfig,
    parent: Path | None,
    round_id: int,
    on_step: StepReport,
    check: Callable[[], None],
) -> ChildResult:
    """Train the round in a child process group; the new version's directory.

    ``check()`` runs every :data:`POLL_S` and stops the child by raising (a cancel).
    Raises the child's typed error if it fails.
    """
    work = Path(tempfile.mkdtemp(prefix=f"crlhf-round-{round_id}-"))
    succeeded = False
    try:
        write_jsonl(work / "rows.jsonl", rows)
        (work / "ppo.json").write_text(config.model_dump_json(), encoding="utf-8")
        arguments = ["--data", str(work / "rows.jsonl"), "--config", str(work / "ppo.json")]
        arguments += ["--base-model", base_model, "--out-dir", str(out_root)]
        arguments += ["--version", version, "--for-round", str(round_id)]
        arguments += ["--progress-json", "--no-progress"]
        if parent is not None:
            arguments += ["--parent", str(parent)]
        command = launch.command(arguments)
        logger.info("training round %d in a child: %s", round_id, " ".join(command))
        with TrainingChild(command) as child:
            done = child.follow(on_step, check)
        directory = Path(done["directory"])
        read_manifest(directory)  # it is there and whole
        succeeded = True
        return ChildResult(version=str(done["version"]), directory=directory)
    finally:
        if not succeeded:
            _remove_if_ours(out_root / version, round_id)
        shutil.rmtree(work, ignore_errors=True)


class TrainingChild:
    """A running child process group, its stdout as events and its stderr passed on."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = list(command)
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self.process: subprocess.Popen[str] | None = None
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> TrainingChild:
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: stopped as one
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.threads = [
            threading.Thread(target=self._read_events, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._pass_stderr, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for thread in self.threads:
            thread.join(timeout=5.0)

    def _read_events(self, stream: IO[str]) -> None:
        for line in stream:
            text = line.strip()
            if not text.startswith("{"):
                continue
            try:
                event = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and "event" in event:
                self.events.put(event)
        self.events.put(None)  # end of stdout: the child is gone or going

    def _pass_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self.stderr_tail.append(line.rstrip())
            sys.stderr.write(line)  # the child's log belongs in the worker's log
            sys.stderr.flush()

    def follow(self, on_step: StepReport, check: Callable[[], None]) -> dict[str, Any]:
        """Forward progress until the child ends; its ``done`` event, or its error."""
        assert self.process is not None
        done: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        while True:
            check()
            try:
                event = self.events.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if event is None:
                break
            if event["event"] == "step":
                on_step(int(event["done"]), int(event["total"]))
            elif event["event"] == "done":
                done = event
            elif event["event"] == "error" and error is None:
                error = event
        status = self.process.wait()
        if status == 0 and done is not None:
            return done
        if error is not None:
            raise rebuild(str(error["code"]), str(error["message"]), error.get("field"))
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), "")
        raise TrainingFailed(
            f"accelerate launch exited with status {status} without a result"
            + (f": {last}" if last else "")
        )

    def stop(self) -> None:
        """SIGTERM to the child's process group, SIGKILL after the grace period."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        logger.warning("stopping the training child (pid %d)", process.pid)
        for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


def _remove_if_ours(directory: Path, round_id: int) -> None:
    """Remove a version the child wrote for this round before it was stopped."""
    if not directory.is_dir():
        return
    try:
        ours = read_manifest(directory).round_id == round_id
    except CrlhfError:
        return
    if ours:
        shutil.rmtree(directory, ignore_errors=True)
        logger.info("removed %s (the round did not succeed)", directory)
