"""The built-in checkers as annotators: coverage, accuracy and recall on lines of known truth,
and the gap between the reliability honeypots would give them and their accuracy on real lines.

    .venv/bin/python benchmarks/machine_checkers.py            # 300 testbed, 100+100 MBPP
    .venv/bin/python benchmarks/machine_checkers.py --quick    # smoke run

Data sets (``benchmarks/_machines.py``): ``testbed`` (real non-honeypot lines: samples
written with random slot bugs, caught by the tests or not), ``mbpp`` (MBPP test-split
mutants that fail their tests, plus the unmutated references), ``honeypots`` (MBPP
train-split honeypots, as the server makes them). Per checker and set:

* coverage: share of judged lines it voted on (the rest it abstained on);
* accuracy: share of its votes that match the truth;
* recall: share of the wrong lines it voted wrong on;
* sens / spec: P(+1 | correct line), P(−1 | wrong line) among its votes: the two coins
  the engine learns (what a state calibrated on that set would hold).

The last table puts what honeypots would teach the engine about a checker beside its
accuracy on the testbed's real lines: the gap is how far honeypots mislead.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from _machines import (
    Case,
    built_in_checkers,
    checker_votes,
    honeypot_cases,
    mbpp_cases,
    testbed_cases,
)

from crlhf.sandbox import Executor
from crlhf.tables import render_table


def scores(cases: Sequence[Case], votes: Sequence[dict[int, int]]) -> dict[str, float]:
    lines = voted = right = wrong_lines = caught = 0
    counts = {"good_plus": 0, "good": 0, "bad_minus": 0, "bad": 0}
    for case, vote in zip(cases, votes, strict=True):
        for line, correct in case.truth.items():
            lines += 1
            wrong_lines += not correct
            label = vote.get(line)
            if label is None:
                continue
            voted += 1
            right += (label == 1) == correct
            if correct:
                counts["good"] += 1
                counts["good_plus"] += label == 1
            else:
                counts["bad"] += 1
                counts["bad_minus"] += label == -1
                caught += label == -1
    sens = counts["good_plus"] / counts["good"] if counts["good"] else float("nan")
    spec = counts["bad_minus"] / counts["bad"] if counts["bad"] else float("nan")
    return {
        "samples": len(cases),
        "lines": lines,
        "wrong": wrong_lines,
        "coverage": voted / lines if lines else float("nan"),
        "accuracy": right / voted if voted else float("nan"),
        "recall": caught / wrong_lines if wrong_lines else float("nan"),
        "sens": sens,
        "spec": spec,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 testbed, 20 MBPP problems")
    parser.add_argument("--testbed", type=int, default=300)
    parser.add_argument("--mbpp", type=int, default=100, help="MBPP problems per split")
    args = parser.parse_args(argv)
    n_testbed, n_mbpp = (30, 20) if args.quick else (args.testbed, args.mbpp)
    executor = Executor(workers=4)
    started = time.perf_counter()
    sets = {
        "testbed": testbed_cases(n_testbed),
        "mbpp": mbpp_cases(n_mbpp, executor),
        "honeypots": honeypot_cases(n_mbpp, executor),
    }
    checkers = built_in_checkers(executor)
    results: dict[tuple[str, str], dict[str, float]] = {}
    rows = []
    for set_name, cases in sets.items():
        for name, checker in checkers.items():
            votes = checker_votes(name, checker, cases, f"{set_name}-{len(cases)}")
            s = results[(name, set_name)] = scores(cases, votes)
            rows.append(
                [
                    name,
                    set_name,
                    int(s["samples"]),
                    int(s["lines"]),
                    int(s["wrong"]),
                    f"{s['coverage']:.1%}",
                    f"{s['accuracy']:.1%}",
                    f"{s['recall']:.1%}",
                    f"{s['sens']:.3f}",
                    f"{s['spec']:.3f}",
                ]
            )
    headers = ["checker", "set", "samples", "lines", "wrong", "coverage", "accuracy"]
    print(render_table([*headers, "recall", "sens", "spec"], rows))
    print()
    gap_rows = []
    for name in checkers:
        honey = results[(name, "honeypots")]
        real = results[(name, "testbed")]
        gap_rows.append(
            [
                name,
                f"{honey['accuracy']:.3f}",
                f"{real['accuracy']:.3f}",
                f"{honey['accuracy'] - real['accuracy']:+.3f}",
                f"{honey['sens']:.3f} / {honey['spec']:.3f}",
                f"{real['sens']:.3f} / {real['spec']:.3f}",
            ]
        )
    headers = ["checker", "honeypot accuracy", "testbed accuracy", "gap"]
    print(render_table([*headers, "honeypot sens / spec", "testbed sens / spec"], gap_rows))
    print(f"\n{time.perf_counter() - started:.0f} s (checker votes cached in /tmp)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
