"""Running and importing the scripts of benchmarks/: their smoke tests share these."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_quick(
    script: str, *args: str, timeout: float = 280, env: Mapping[str, str] | None = None
) -> str:
    """``benchmarks/<script> --quick [args]`` to its end (``env`` on top of ours); its
    stdout, or a failed test showing the end of its stderr."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def load_benchmark(script: str) -> ModuleType:
    """``benchmarks/<script>`` imported as a module, for tests of its own arithmetic.

    Its folder goes on ``sys.path`` (the scripts import their siblings), and the module
    into ``sys.modules`` (dataclasses look their module up by name)."""
    sys.path.insert(0, str(BENCHMARKS))
    name = f"benchmark_{Path(script).stem}"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
