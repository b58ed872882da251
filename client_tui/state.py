"""The annotation state of one sample, free of Textual so it can be unit-tested.

An annotator flags the wrong lines of a program; unflagged judged lines count as correct
(method.md, "Objects"). Marking a line correct explicitly is still useful: it records that
the line was looked at, and the gutter shows it. The cursor only ever rests on judged lines
(whitespace-only lines carry no judgement), so every key press lands on something that can
be voted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from crlhf.errors import InvalidInput
from crlhf.schemas import MAX_COMMENT_CHARS, Label, Submission, Task


@dataclass(frozen=True)
class _Snapshot:
    """What an undo restores: the marks, the comments and where the cursor was."""

    marks: dict[int, Label]
    comments: dict[int, str]
    cursor: int


class AnnotationState:
    """Marks, comments, cursor, visual-mode range and undo history for one task.

    Visual mode works like Vim's line-wise visual mode: ``start_visual`` drops an anchor at
    the cursor, moving the cursor extends the range, and the next mark applies to every
    judged line of the range and leaves visual mode.

    >>> from datetime import datetime, UTC
    >>> from crlhf.schemas import ProblemView, split_code
    >>> task = Task(sample_id="s1", problem=ProblemView(id="p", title="t", description="d"),
    ...             lines=split_code("a = 1\\n\\nb = 2\\n"), served_at=datetime.now(UTC))
    >>> state = AnnotationState(task)
    >>> state.move(1)  # skips the blank line 2
    >>> state.cursor
    3
    >>> state.mark(Label.WRONG)
    [3]
    >>> sorted(state.wrong_lines)
    [3]
    """

    def __init__(self, task: Task) -> None:
        self.task = task
        self.judged: list[int] = task.judged_numbers
        if not self.judged:
            # The server never serves such a sample (SampleIn rejects it); guard anyway so
            # the cursor invariant below cannot be broken by a malformed task.
            raise InvalidInput(f"sample {task.sample_id} has no judged line", field="lines")
        self.cursor: int = self.judged[0]
        self.anchor: int | None = None
        self.marks: dict[int, Label] = {}
        self.comments: dict[int, str] = {}
        self._undo: list[_Snapshot] = []

    # ------------------------------------------------------------------ queries

    @property
    def visual(self) -> bool:
        return self.anchor is not None

    @property
    def selection(self) -> list[int]:
        """The judged lines the next mark applies to: the visual range, else the cursor."""
        if self.anchor is None:
            return [self.cursor]
        low, high = sorted((self.anchor, self.cursor))
        return [n for n in self.judged if low <= n <= high]

    @property
    def wrong_lines(self) -> frozenset[int]:
        return frozenset(n for n, label in self.marks.items() if label is Label.WRONG)

    @property
    def has_marks(self) -> bool:
        """Whether the annotator marked anything; submitting without marks asks first."""
        return bool(self.marks)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def label_of(self, number: int) -> Label | None:
        """The explicit mark of a line, or None when the annotator has not marked it."""
        return self.marks.get(number)

    # ---------------------------------------------------------------- movement

    def move(self, steps: int) -> None:
        """Move the cursor by ``steps`` judged lines, stopping at the first and last."""
        index = self.judged.index(self.cursor) + steps
        self.cursor = self.judged[max(0, min(len(self.judged) - 1, index))]

    def move_to_first(self) -> None:
        self.cursor = self.judged[0]

    def move_to_last(self) -> None:
        self.cursor = self.judged[-1]

    def page(self, direction: int, page_lines: int) -> None:
        """Move about one screen of physical lines (blank ones count: they take a row)."""
        target = self.cursor + direction * max(1, page_lines)
        if direction > 0:
            candidates = [n for n in self.judged if n <= target]
            self.cursor = candidates[-1] if candidates else self.judged[0]
        else:
            candidates = [n for n in self.judged if n >= target]
            self.cursor = candidates[0] if candidates else self.judged[-1]

    def select(self, number: int) -> None:
        """Put the cursor on line ``number`` (a mouse click); a blank line selects the
        nearest judged line, the following one on a tie."""
        self.cursor = min(self.judged, key=lambda n: (abs(n - number), n < number))

    # ------------------------------------------------------------ visual mode

    def start_visual(self) -> None:
        self.anchor = self.cursor

    def cancel_visual(self) -> None:
        self.anchor = None

    # ---------------------------------------------------------------- editing

    def _push_undo(self) -> None:
        self._undo.append(_Snapshot(dict(self.marks), dict(self.comments), self.cursor))

    def _set(self, number: int, label: Label) -> None:
        self.marks[number] = label
        if label is Label.CORRECT:
            # A comment explains why a line is wrong; it must not travel with a +1 vote.
            self.comments.pop(number, None)

    def mark(self, label: Label) -> list[int]:
        """Mark the selection with ``label``; returns the lines marked. Leaves visual mode."""
        lines = self.selection
        self._push_undo()
        for number in lines:
            self._set(number, label)
        self.anchor = None
        return lines

    def toggle(self) -> list[int]:
        """Space: wrong becomes correct, anything else becomes wrong.

        On a range the whole range flips together: to correct if every line in it is wrong,
        else to wrong, so one press never leaves a range half flagged.
        """
        lines = self.selection
        all_wrong = all(self.marks.get(n) is Label.WRONG for n in lines)
        return self.mark(Label.CORRECT if all_wrong else Label.WRONG)

    def set_comment(self, number: int, text: str) -> None:
        """Attach a short comment to a wrong line; empty text removes the comment."""
        if self.marks.get(number) is not Label.WRONG:
            raise InvalidInput(f"line {number} is not marked wrong", field="comment")
        text = text.strip()
        if len(text) > MAX_COMMENT_CHARS:
            raise InvalidInput(
                f"a comment holds at most {MAX_COMMENT_CHARS} characters", field="comment"
            )
        self._push_undo()
        if text:
            self.comments[number] = text
        else:
            self.comments.pop(number, None)

    def undo(self) -> bool:
        """Restore the marks and comments before the last edit; False when there is none."""
        if not self._undo:
            return False
        snapshot = self._undo.pop()
        self.marks = snapshot.marks
        self.comments = snapshot.comments
        self.cursor = snapshot.cursor
        self.anchor = None
        return True

    def reopened(self) -> AnnotationState:
        """A fresh state for the same task with this one's marks and comments (revising a
        submission); the cursor on the first wrong line, no undo history."""
        state = AnnotationState(self.task)
        state.marks = dict(self.marks)
        state.comments = dict(self.comments)
        if self.wrong_lines:
            state.cursor = min(self.wrong_lines)
        return state

    # ------------------------------------------------------------- submission

    def to_submission(self, submission_id: UUID, duration_ms: int | None = None) -> Submission:
        """The full submission: every judged line labelled, unmarked lines as correct."""
        return Submission.from_marks(
            submission_id,
            self.task,
            self.wrong_lines,
            comments=dict(self.comments),
            duration_ms=duration_ms,
        )
