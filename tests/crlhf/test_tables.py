"""Aligned text tables for the admin CLI."""

from __future__ import annotations

from crlhf.tables import render_table


def test_numbers_right_text_left_gaps_as_dashes():
    out = render_table(
        ["id", "name", "p", "ok"], [[1, "ada", 0.8125, True], [12, "bo", None, False]]
    )
    assert out.splitlines() == [
        "id  name      p  ok",
        "--  ----  -----  ---",
        " 1  ada   0.812  yes",
        "12  bo        -  no",
    ]


def test_headers_only_when_no_rows():
    assert render_table(["a", "b"], []).splitlines() == ["a  b", "-  -"]
