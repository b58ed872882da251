"""The page's plots: service results in, inline SVG out (drawn by :mod:`.svg`)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from crlhf_server.admin_page.queries import DayActivity
from crlhf_server.admin_page.svg import Axes, Series, bar_chart, line_chart, nice_max
from markupsafe import Markup

from crlhf.schemas import BenchmarkResult, ReliabilitySnapshot

Z_95 = 1.959963984540054


def wilson(p: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """95% Wilson interval of a share ``p`` of ``n`` problems.

    The server stores pass@k as the mean over problems, not per problem, so the interval
    treats it as a binomial share of ``n_problems``: exact for pass@1 with n = 1 sample per
    problem, conservative (wider) when several samples per problem smooth each problem's
    estimate.
    """
    if n <= 0:
        return (0.0, 1.0)
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def activity_chart(days: Sequence[DayActivity]) -> Markup:
    top = nice_max(max([d.votes for d in days] + [d.submissions for d in days] + [1]))
    return line_chart(
        "Votes and submissions per day",
        [
            Series("votes", [(i, d.votes) for i, d in enumerate(days)]),
            Series("submissions", [(i, d.submissions) for i, d in enumerate(days)]),
        ],
        Axes(x_labels=[d.day[5:] for d in days], y_max=top, y_format="{:.0f}"),
    )


def pass_at_k_charts(results: Sequence[BenchmarkResult]) -> list[tuple[str, Markup]]:
    """One chart per suite: pass@k against the round (baseline first), 95% intervals."""
    by_suite: dict[str, dict[int, dict[int, BenchmarkResult]]] = defaultdict(dict)
    for result in results:  # oldest first: a later run of the same round replaces it
        by_suite[result.suite].setdefault(result.round or 0, {})
        for k in result.pass_at_k:
            by_suite[result.suite][result.round or 0][k] = result
    charts = []
    for suite, by_round in sorted(by_suite.items()):
        order = sorted(by_round)
        ks = sorted({k for per_k in by_round.values() for k in per_k})
        series = []
        for k in ks:
            points, spans = [], []
            for x, round_id in enumerate(order):
                found = by_round[round_id].get(k)
                if found is None:
                    continue
                value = found.pass_at_k[k]
                points.append((x, value))
                spans.append(wilson(value, found.n_problems))
            series.append(Series(f"pass@{k}", points, spans))
        labels = ["base" if r == 0 else f"round {r}" for r in order]
        chart = line_chart(
            f"{suite}: pass@k per round (95% interval)",
            series,
            Axes(x_labels=labels, y_format="{:.0%}"),
        )
        charts.append((suite, chart))
    return charts


def reward_histogram(rewards: Sequence[float], bins: int = 10) -> Markup:
    """Rewards lie in [0, 1] (the share of lines judged correct, method.md)."""
    counts = [0] * bins
    for reward in rewards:
        counts[min(int(reward * bins), bins - 1)] += 1
    labels = [f"{i / bins:.1f}" for i in range(bins)]
    return bar_chart(
        "Rewards of the samples the round trained on",
        labels,
        counts,
        Axes(x_labels=labels, y_max=nice_max(max([*counts, 1])), y_format="{:.0f}"),
    )


def reliability_chart(histories: Mapping[str, Sequence[ReliabilitySnapshot]]) -> Markup:
    """Reliability after each update, one line per annotator (x: update number)."""
    longest = max([len(h) for h in histories.values()] + [1])
    series = [
        Series(name, [(i, s.reliability) for i, s in enumerate(history)])
        for name, history in histories.items()
    ]
    return line_chart(
        "Reliability over time (after each update)",
        series,
        Axes(x_labels=[str(i) for i in range(longest)], y_format="{:.2f}"),
    )
