"""The code view highlights a task in its problem's language (``Task.problem.language``)."""

from __future__ import annotations

from crlhf_tui.widgets.code_view import highlight


def _styled(language: str) -> set[str]:
    """The words of one JavaScript line that get a style in ``language``."""
    line = "function add(x, y) { return x + y; }"
    (text,) = highlight([line], language)
    return {line[span.start : span.end] for span in text.spans}


def test_javascript_is_highlighted_as_javascript() -> None:
    assert "function" in _styled("javascript")
    assert "function" not in _styled("python")  # a plain name to the Python lexer


def test_an_unknown_language_is_plain_text_not_an_error() -> None:
    assert highlight(["x = 1", "y = 2"], "no-such-language")[1].plain == "y = 2"
