"""The pure annotation state: cursor over judged lines, marks, visual ranges, undo."""

from __future__ import annotations

from uuid import UUID

import pytest
from crlhf_tui.state import AnnotationState

from crlhf.errors import InvalidInput
from crlhf.schemas import MAX_COMMENT_CHARS, Label, Task, split_code
from tests.client_tui.fakes import SERVED_AT, make_task

# Judged lines of fakes.CODE: 1-4, 6-10, 13-17 (5, 11, 12 are blank).
JUDGED = [1, 2, 3, 4, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17]


@pytest.fixture
def state() -> AnnotationState:
    return AnnotationState(make_task())


def test_cursor_starts_on_first_judged_line_and_skips_blank_lines(state):
    assert state.judged == JUDGED
    visited = [state.cursor]
    for _ in range(len(JUDGED) + 3):  # past the end: stays on the last line
        state.move(1)
        visited.append(state.cursor)
    assert visited[: len(JUDGED)] == JUDGED
    assert visited[-1] == 17
    state.move(-100)
    assert state.cursor == 1


def test_first_last_and_pages(state):
    state.move_to_last()
    assert state.cursor == 17
    state.move_to_first()
    assert state.cursor == 1
    state.page(1, 4)  # 1 + 4 = 5 is blank: lands on the last judged line before it
    assert state.cursor == 4
    state.page(1, 8)  # 4 + 8 = 12 is blank
    assert state.cursor == 10
    state.page(-1, 8)  # 10 - 8 = 2
    assert state.cursor == 2
    state.page(-1, 50)
    assert state.cursor == 1
    state.page(1, 50)
    assert state.cursor == 17


def test_click_on_blank_line_selects_nearest_judged_line(state):
    state.select(8)
    assert state.cursor == 8
    state.select(5)  # between 4 and 6: tie goes to the following line
    assert state.cursor == 6
    state.select(11)  # 10 is one away, 13 two
    assert state.cursor == 10
    state.select(99)
    assert state.cursor == 17


def test_marks_and_submission_label_every_judged_line(state):
    state.move(2)
    assert state.mark(Label.WRONG) == [3]
    state.move(1)
    assert state.mark(Label.CORRECT) == [4]
    submission = state.to_submission(UUID(int=1), duration_ms=1200)
    labels = {item.line: item.label for item in submission.labels}
    assert sorted(labels) == JUDGED
    assert labels[3] is Label.WRONG
    assert all(label is Label.CORRECT for line, label in labels.items() if line != 3)
    assert submission.sample_id == "s-demo-1"
    assert submission.duration_ms == 1200


def test_toggle_flips_between_wrong_and_correct(state):
    assert state.toggle() == [1]
    assert state.label_of(1) is Label.WRONG
    state.toggle()
    assert state.label_of(1) is Label.CORRECT
    state.toggle()
    assert state.label_of(1) is Label.WRONG


def test_visual_mode_marks_judged_lines_of_the_range_only(state):
    state.move(3)  # line 4
    state.start_visual()
    state.move(2)  # line 7; the range 4..7 holds blank line 5
    assert state.visual
    assert state.selection == [4, 6, 7]
    assert state.mark(Label.WRONG) == [4, 6, 7]
    assert not state.visual
    assert state.wrong_lines == {4, 6, 7}


def test_visual_range_upwards_and_toggle_of_a_mixed_range(state):
    state.move_to_last()
    state.mark(Label.WRONG)  # 17 wrong
    state.start_visual()
    state.move(-2)  # range 15..17, only 17 wrong: toggling makes all wrong
    assert state.toggle() == [15, 16, 17]
    assert state.wrong_lines == {15, 16, 17}
    assert state.cursor == 15
    state.start_visual()
    state.move(2)
    state.toggle()  # all wrong now: the whole range flips to correct
    assert state.wrong_lines == frozenset()


def test_cancel_visual_marks_only_the_cursor(state):
    state.start_visual()
    state.move(3)
    state.cancel_visual()
    assert state.mark(Label.WRONG) == [4]


def test_undo_restores_marks_comments_and_cursor(state):
    assert not state.can_undo
    assert state.undo() is False
    state.mark(Label.WRONG)  # line 1
    state.set_comment(1, "wrong signature")
    state.move(5)
    state.start_visual()
    state.move(2)
    state.mark(Label.WRONG)  # 7, 8, 9
    assert state.wrong_lines == {1, 7, 8, 9}
    assert state.undo()
    assert state.wrong_lines == {1}
    assert state.cursor == 9  # where the undone edit happened
    assert state.undo()
    assert state.comments == {}
    assert state.undo()
    assert state.marks == {}
    assert not state.has_marks


def test_comments_only_on_wrong_lines_and_dropped_when_corrected(state):
    with pytest.raises(InvalidInput):
        state.set_comment(1, "not wrong yet")
    state.mark(Label.WRONG)
    state.set_comment(1, "  off by one  ")
    assert state.comments == {1: "off by one"}
    submission = state.to_submission(UUID(int=2))
    by_line = {item.line: item for item in submission.labels}
    assert by_line[1].comment == "off by one"
    assert by_line[2].comment is None
    state.set_comment(1, "")
    assert state.comments == {}
    state.set_comment(1, "again")
    state.mark(Label.CORRECT)
    assert state.comments == {}


def test_comment_too_long_is_refused(state):
    state.mark(Label.WRONG)
    with pytest.raises(InvalidInput):
        state.set_comment(1, "x" * (MAX_COMMENT_CHARS + 1))
    assert state.comments == {}


def test_task_without_judged_line_is_refused():
    task = Task.model_construct(
        sample_id="blank",
        problem=make_task().problem,
        lines=split_code("\n   \n"),
        served_at=SERVED_AT,
    )
    with pytest.raises(InvalidInput):
        AnnotationState(task)
