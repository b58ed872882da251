"""The admin page's server-drawn plots: escaped text, whole-number count axes, intervals."""

from __future__ import annotations

import pytest
from crlhf_server.admin_page.figures import pass_at_k_charts, wilson
from crlhf_server.admin_page.svg import Axes, Series, line_chart, nice_max

from crlhf.schemas import BenchmarkResult


def test_text_in_a_chart_is_escaped() -> None:
    chart = line_chart(
        "<b>title</b>", [Series("<script>x</script>", [(0, 0.5)])], Axes(x_labels=["<i>"])
    )
    assert "<script>" not in chart and "&lt;script&gt;x&lt;/script&gt;" in chart
    assert "<b>" not in chart and "<i>" not in chart
    assert "style=" not in chart  # the page's CSP forbids inline styles


@pytest.mark.parametrize(
    ("value", "bound"), [(0, 4), (3, 4), (5, 8), (9, 12), (13, 20), (510, 800), (1000, 1200)]
)
def test_count_axes_have_whole_number_steps(value: float, bound: float) -> None:
    assert nice_max(value) == bound
    assert (bound / 4).is_integer()


def test_wilson_interval_matches_a_hand_computed_one() -> None:
    low, high = wilson(0.5, 100)  # the textbook case: 0.5 of 100 -> [0.4038, 0.5962]
    assert low == pytest.approx(0.40383, abs=1e-4) and high == pytest.approx(0.59617, abs=1e-4)
    assert wilson(0.0, 10)[0] == pytest.approx(0.0) and wilson(1.0, 10)[1] == pytest.approx(1.0)


def test_pass_at_k_puts_the_baseline_first_and_draws_an_interval_per_point() -> None:
    def result(run: str, round_: int | None, p: float) -> BenchmarkResult:
        return BenchmarkResult.model_validate(
            {
                "id": 1,
                "suite": "mbpp",
                "round": round_,
                "run_id": run,
                "n": 1,
                "pass_at_k": {1: p},
                "n_problems": 50,
                "created_at": "2026-01-01T00:00:00+00:00",
            }
        )

    [(suite, chart)] = pass_at_k_charts([result("b", None, 0.2), result("r2", 2, 0.4)])
    assert suite == "mbpp"
    assert chart.index(">base<") < chart.index(">round 2<")
    assert chart.count("<circle") == 2 and chart.count('stroke-width="1.5"') == 2
