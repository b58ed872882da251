"""The demo's pieces that need no server: settings, reset, the final table and plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from crlhf.errors import InvalidInput
from crlhf.testbed.demo_config import DemoConfig
from crlhf.testbed.demo_report import RoundRecord, plot_pass1, render_rounds
from crlhf.testbed.demo_setup import clear_run


def test_crowd_presets_follow_the_crowd_specs() -> None:
    competent = DemoConfig().crowd_spec()
    assert competent.reliabilities == (0.9,) * 10 and competent.overlap == 3
    mixed = DemoConfig(crowd="mixed").crowd_spec()
    assert sorted(mixed.reliabilities) == [0.5] * 5 + [0.9] * 5
    quick = DemoConfig.quick(crowd="mixed").crowd_spec()
    assert quick.overlap == 2 and sorted(quick.reliabilities) == [0.5, 0.5, 0.9, 0.9]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match="crowd"):
        DemoConfig(crowd="experts")
    with pytest.raises(InvalidInput, match="rounds"):
        DemoConfig.quick(rounds=0)


def test_reset_clears_a_run_and_keeps_the_base_model(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")
    (tmp_path / "adapters" / "v0001").mkdir(parents=True)
    for name in ("crlhf.db", "crlhf.db-wal", "demo.json", "demo_pass1.png", "notes.txt"):
        (tmp_path / name).write_text("x")
    clear_run(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == ["base", "base/config.json", "notes.txt"]


def test_table_and_plot_show_every_round(tmp_path: Path) -> None:
    records = [
        RoundRecord(0, None, None, 0.5, seconds=30.0),
        RoundRecord(1, 1, "v0001", 0.5625, 1200, 0.81, 0.78, 0.05, 95.0),
    ]
    table = render_rounds(records).splitlines()
    assert table[0].split()[:2] == ["round", "adapter"]
    assert table[2].split()[:3] == ["0", "base", "50.0%"]
    assert table[3].split()[:7] == ["1", "v0001", "56.2%", "1200", "0.810", "0.780", "0.050"]
    png = plot_pass1(records, "testbed-heldout", tmp_path / "plot.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
