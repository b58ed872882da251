"""The task document model: header, line mapping, marks through edits, change detection."""

from __future__ import annotations

import pytest
from crlhf_lsp.documents import DocumentChanged, TaskDocument, render_header, task_file_name

from crlhf.errors import InvalidInput
from crlhf.schemas import Label
from tests.lsp_server.conftest import make_task


def _document() -> TaskDocument:
    return TaskDocument(task=make_task(), uri="file:///tmp/p1_s1.py")


def test_header_is_a_comment_block_and_not_judged() -> None:
    document = _document()
    header = render_header(document.task)
    assert all(line.startswith("#") for line in header)
    assert "Greet someone." in "\n".join(header)
    assert [document.sample_line(i) for i in range(len(header))] == [None] * len(header)
    assert document.sample_line(len(header)) == 1
    assert document.judged_in(0, len(header) - 1) == []


def test_blank_lines_are_not_judged_and_cannot_be_marked() -> None:
    document = _document()
    first = len(render_header(document.task))
    assert document.judged_in(first, first + 4) == [1, 2, 3, 5]
    with pytest.raises(InvalidInput):
        document.mark([4], Label.WRONG)


def test_marks_follow_their_lines_when_lines_are_inserted_above() -> None:
    document = _document()
    first = len(render_header(document.task))
    document.mark([3], Label.WRONG)
    lines = document.text.splitlines()
    lines.insert(first, "import os")
    document.update_text("\n".join(lines) + "\n")
    assert document.changed
    assert document.doc_line(3) == first + 3
    assert document.sample_line(first) is None
    assert document.wrong == frozenset({3})
    with pytest.raises(DocumentChanged):
        document.check_unchanged()


def test_line_edited_in_place_keeps_its_mark_and_undo_clears_changed() -> None:
    document = _document()
    first = len(render_header(document.task))
    document.mark([5], Label.WRONG)
    original = document.text
    lines = original.splitlines()
    lines[first + 4] = "    return message.lower()"
    document.update_text("\n".join(lines) + "\n")
    assert document.changed
    assert document.doc_line(5) == first + 4
    document.update_text(original.replace("\n", "\r\n"))
    assert not document.changed
    document.check_unchanged()


def test_deleted_line_has_no_document_line() -> None:
    document = _document()
    first = len(render_header(document.task))
    document.mark([2], Label.CORRECT)
    lines = document.text.splitlines()
    del lines[first + 1]
    document.update_text("\n".join(lines) + "\n")
    assert document.doc_line(2) is None
    assert document.doc_line(3) == first + 1


def test_clear_mark_and_summary() -> None:
    document = _document()
    assert document.mark([1, 2], Label.WRONG) == [1, 2]
    assert document.mark([2], None) == [2]
    assert document.mark([2], None) == []
    summary = document.summary()
    assert summary["wrong"] == [1]
    assert summary["correct"] == []


def test_task_file_name_is_safe() -> None:
    assert task_file_name("humaneval/0:s/1") == "humaneval_0_s_1.py"
