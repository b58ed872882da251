"""Benchmarks: HumanEval and MBPP problems, a resumable pass@k runner, plots per round.

Importing this package pulls in neither torch nor matplotlib; the runner takes the
completions from any callable (the generator in :mod:`crlhf.generation` in practice).
"""

from crlhf.evaluation.problems import BenchProblem
from crlhf.evaluation.suites import SUITES, load_suite

__all__ = ["SUITES", "BenchProblem", "load_suite"]
