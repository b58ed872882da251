"""The worker's side of a launched round: the child's command line, its JSON progress,
its typed errors, and a cancel that ends its whole process group.

The children here are small Python scripts that speak the protocol of ``crlhf
train-round --progress-json``; the real launch is in test_distributed_e2e.py.
"""

from __future__ import annotations

import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from crlhf.errors import EmptyDataset, InvalidInput, RoundCancelled, TrainingFailed
from crlhf.training import child_round
from crlhf.training.child_round import Launch, TrainingChild

REPO = Path(__file__).resolve().parents[3]


def script(body: str) -> list[str]:
    prelude = "import json, os, subprocess, sys, time\n"
    prelude += "def emit(**e):\n    print(json.dumps(e), flush=True)\n"
    return [sys.executable, "-c", prelude + textwrap.dedent(body)]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in {"Z", "X"}


def test_the_command_launches_train_round_under_accelerate() -> None:
    config = REPO / "docs" / "accelerate" / "multi_gpu.yaml"
    command = Launch(config_file=config, num_processes=4).command(["--data", "rows.jsonl"])
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert command[command.index("--config_file") + 1] == str(config)
    assert command[command.index("--num_processes") + 1] == "4"
    assert command[-5:] == ["-m", "crlhf", "train-round", "--data", "rows.jsonl"]
    bare = Launch(num_processes=2).command([])
    assert "--multi_gpu" in bare and bare[bare.index("--main_process_port") + 1] == "0"
    with pytest.raises(InvalidInput, match="config file or a process count"):
        Launch()
    with pytest.raises(InvalidInput, match="no such file"):
        Launch(config_file=Path("missing.yaml"))


def test_progress_is_forwarded_and_the_result_returned() -> None:
    steps: list[tuple[int, int]] = []
    child = script("""
        print("a log line on stdout that is not an event")
        for done in range(3):
            emit(event="step", done=done, total=2)
        print("log", file=sys.stderr)
        emit(event="done", version="v0003", directory="out/v0003")
    """)
    with TrainingChild(child) as running:
        done = running.follow(lambda d, t: steps.append((d, t)), lambda: None)
    assert steps == [(0, 2), (1, 2), (2, 2)]
    assert (done["version"], done["directory"]) == ("v0003", "out/v0003")
    assert running.stderr_tail[-1] == "log"
    assert running.process is not None  # and its pipes are not left to the collector
    assert running.process.stdout is not None and running.process.stdout.closed
    assert running.process.stderr is not None and running.process.stderr.closed


def test_a_failing_child_raises_its_own_typed_error() -> None:
    child = script("""
        emit(event="error", rank=1, code="empty_dataset", message="none with 3 votes",
             field="min_votes")
        emit(event="error", rank=0, code="training_failed", message="later", field=None)
        sys.exit(1)
    """)
    with TrainingChild(child) as running, pytest.raises(EmptyDataset) as caught:
        running.follow(lambda d, t: None, lambda: None)
    assert str(caught.value) == "min_votes: none with 3 votes"

    crash = script("""
        print("Traceback (most recent call last): ...", file=sys.stderr)
        print("ImportError: no module named accelerate", file=sys.stderr)
        sys.exit(1)
    """)
    with TrainingChild(crash) as running, pytest.raises(TrainingFailed) as caught:
        running.follow(lambda d, t: None, lambda: None)
    assert str(caught.value) == (
        "accelerate launch exited with status 1 without a result: "
        "ImportError: no module named accelerate"
    )


# What torchrun writes to stderr when a rank exits 3 after printing "boom" (torch 2.x).
TORCHRUN_FAILURE = """boom
E1203 08:07:48.336000 16359 torch/distributed/elastic/multiprocessing/api.py:1002] failed \
(exitcode: 3) local_rank: 0 (pid: 16364) of binary: /usr/bin/python

============================================================
crash.py FAILED
------------------------------------------------------------
Failures:
[1]:
  time      : 2026-12-03_08:07:48
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : 3 (pid: 16365)
  error_file: <N/A>
  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-12-03_08:07:48
  host      : localhost
  rank      : 0 (local_rank: 0)
  exitcode  : 3 (pid: 16364)
  error_file: <N/A>
  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
============================================================
"""

CRASH_MESSAGE = (
    "accelerate launch exited with status 1 without a result: local rank 0 exited with code 3: boom"
)


def test_a_child_that_dies_without_an_error_event_is_named_by_its_rank_not_the_summary() -> None:
    """torchrun ends a failed launch with a framed table; its last line (a row of '=')
    said nothing, and the table alone is longer than the tail kept."""
    crash = script(f"""
        sys.stderr.write({TORCHRUN_FAILURE!r})
        sys.exit(1)
    """)
    with TrainingChild(crash) as running, pytest.raises(TrainingFailed) as caught:
        running.follow(lambda d, t: None, lambda: None)
    assert str(caught.value) == CRASH_MESSAGE


@pytest.mark.slow
def test_a_real_launch_that_dies_without_an_error_event(tmp_path: Path) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text('import os, sys\nprint("boom", file=sys.stderr)\nos._exit(3)\n')
    command = [sys.executable, "-m", "accelerate.commands.launch", "--quiet"]
    command += ["--config_file", str(REPO / "docs" / "accelerate" / "multi_gpu.yaml")]
    command += ["--num_processes", "1", str(crash)]
    with TrainingChild(command) as running, pytest.raises(TrainingFailed) as caught:
        running.follow(lambda d, t: None, lambda: None)
    assert str(caught.value) == CRASH_MESSAGE


def test_a_child_is_stopped_when_starting_its_readers_is_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal's exception inside ``__enter__`` (``with`` calls no ``__exit__`` then)."""
    pid_file = tmp_path / "child.pid"
    child = script(f"""
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    """)

    class Interrupted(threading.Thread):
        def start(self) -> None:
            # Generous, and until the pid is written (not just the file created): on a
            # loaded machine the child's interpreter can take seconds to start.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                pid_file.exists() and pid_file.read_text().strip()
            ):
                time.sleep(0.02)
            raise KeyboardInterrupt

    running = TrainingChild(child)
    with monkeypatch.context() as patch:
        patch.setattr(child_round.threading, "Thread", Interrupted)
        with pytest.raises(KeyboardInterrupt):
            running.__enter__()
    assert running.process is not None and running.process.poll() is not None
    assert not alive(int(pid_file.read_text()))


def test_a_cancel_ends_the_childs_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    child = script(f"""
        grandchild = subprocess.Popen(["sleep", "60"])  # a rank, as torchrun would start
        open({str(pid_file)!r}, "w").write(str(grandchild.pid))
        emit(event="step", done=0, total=5)
        time.sleep(60)
    """)
    seen: list[int] = []

    def cancelled() -> None:
        if seen:
            raise RoundCancelled("round 4 was cancelled")

    started = time.monotonic()
    with pytest.raises(RoundCancelled), TrainingChild(child) as running:
        running.follow(lambda done, total: seen.append(done), cancelled)
    assert time.monotonic() - started < 20
    assert running.process is not None and running.process.poll() is not None
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_worker_options_for_launched_rounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crlhf.cli import main

    base = ["worker", "--base-model", "m", "--out-dir", str(tmp_path), "--exit-when-idle"]
    base += ["--server", "http://127.0.0.1:9", "--token", "t"]
    assert main([*base, "--num-processes", "0"]) == 1
    assert capsys.readouterr().err == "crlhf worker: error: num_processes: must be at least 1\n"
    assert main([*base, "--accelerate-config", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml: no such file" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")  # the worker itself under accelerate launch
    assert main(base) == 1
    assert "crlhf worker runs as one process" in capsys.readouterr().err
