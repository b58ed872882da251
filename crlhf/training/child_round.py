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
import re
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
from crlhf.training.round import RoundResult

logger = logging.getLogger(__name__)

STOP_GRACE_S = 40.0
"""Seconds between SIGTERM and SIGKILL: more than the launcher's own 30 s for its ranks."""

POLL_S = 0.5
"""How often the worker checks for a cancel while the child trains."""

_SUMMARY_FRAME = re.compile(r"=+")
"""A line that opens or closes torchrun's failure summary (a table, no rank's own words)."""
_LAUNCHER_LOG = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ")
"""The prefix of torchrun's own log lines (glog style)."""
_RANK_FAILED = re.compile(r"failed \(exitcode: (-?\d+)\) local_rank: (\d+)")
"""torchrun's log line naming the first rank that failed and its exit code."""


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
) -> RoundResult:
    """Train the round in a child process group; the new version, read back from disk.

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
        result = RoundResult(str(done["version"]), directory, read_manifest(directory))
        succeeded = True
        return result
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
        self.readers: list[tuple[IO[str], threading.Thread]] = []
        """The child's stdout and stderr, each with the thread that reads it."""

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
        try:
            assert self.process.stdout is not None and self.process.stderr is not None
            for stream, read in (
                (self.process.stdout, self._read_events),
                (self.process.stderr, self._pass_stderr),
            ):
                thread = threading.Thread(target=read, args=(stream,), daemon=True)
                self.readers.append((stream, thread))
                thread.start()
        except BaseException:  # a signal's exception, say: ``with`` would not call __exit__
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            for _, thread in self.readers:
                if thread.ident is not None:
                    thread.join(timeout=5.0)
            # Not a pipe a straggler still holds open: closing a stream another thread is
            # reading would wait for that read.
            busy = [stream for stream, thread in self.readers if thread.is_alive()]
            pipes = (self.process.stdout, self.process.stderr) if self.process else ()
            for pipe in pipes:
                if pipe is not None and all(pipe is not stream for stream in busy):
                    pipe.close()

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
        in_summary = False  # torchrun's failure summary: kept out of the tail
        for line in stream:
            text = line.rstrip()
            if _SUMMARY_FRAME.fullmatch(text):
                in_summary = not in_summary
            elif not in_summary:
                self.stderr_tail.append(text)
            sys.stderr.write(line)  # the child's log belongs in the worker's log
            sys.stderr.flush()

    def _last_words(self) -> str:
        """Why the child failed, from its stderr: the rank torchrun saw fail first, and the
        last line a rank wrote itself (``""`` when there is neither)."""
        lines = [line.strip() for line in self.stderr_tail if line.strip()]
        failed = next((m for line in reversed(lines) if (m := _RANK_FAILED.search(line))), None)
        own = next((line for line in reversed(lines) if not _LAUNCHER_LOG.match(line)), None)
        words = [f"local rank {failed[2]} exited with code {failed[1]}"] if failed else []
        return "".join(f": {part}" for part in (*words, *([own] if own else [])))

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
        raise TrainingFailed(
            f"accelerate launch exited with status {status} without a result" + self._last_words()
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
