"""Task documents: a served sample rendered as a file the annotator's editor opens.

A task file starts with a comment block holding the problem (not judged), followed by
the sample's lines verbatim. The sample never changes: when the annotator edits the
file anyway, the document is re-aligned with the text it was rendered from, so marks
follow their lines where a line can still be found, and submission is refused until
the text matches again (a vote on text the annotator changed would be a vote on code
nobody generated).

Everything here is pure and position-encoding free: it works on document line numbers
(0-based, as LSP counts them) and sample line numbers (1-based, as :class:`CodeLine`
numbers them). Column arithmetic stays with pygls's position codec in ``features/``.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crlhf.errors import InvalidInput
from crlhf.marks_store import SubmittedState, TaskMarks
from crlhf.schemas import Label, LineConsensus, Task

HEADER_PREFIX = "# "
HEADER_END = "# --- crlhf: the code to judge starts below; this header is not judged ---"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class DocumentChanged(InvalidInput):
    """A task document whose text no longer matches the sample it was rendered from."""

    code = "document_changed"


def split_lines(text: str) -> list[str]:
    """Lines without their terminators; ``\\r\\n``, ``\\r`` and ``\\n`` all end a line.

    Matches :func:`crlhf.schemas.split_code`, so a file an editor saved with CRLF
    compares equal to the sample it came from.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def task_file_name(sample_id: str) -> str:
    """A file name for a sample id (ids may hold ``/`` and ``:``), ending in ``.py``."""
    return _SAFE_NAME.sub("_", sample_id) + ".py"


def render_header(task: Task) -> list[str]:
    """The leading comment block: sample id, problem title and description."""
    lines = [f"{HEADER_PREFIX}crlhf task {task.sample_id}: {task.problem.title}"]
    for text in task.problem.description.splitlines() or [""]:
        lines.append(f"{HEADER_PREFIX}{text}".rstrip())
    lines.append(HEADER_END)
    return lines


def render(task: Task) -> str:
    """The full text of a task file, ``\\n``-terminated."""
    return "\n".join([*render_header(task), *(line.text for line in task.lines)]) + "\n"


@dataclass
class TaskDocument:
    """One task as the annotator sees and marks it.

    ``marks`` is keyed by sample line number, so it survives any edit; ``_doc_to_sample``
    says which document line shows which sample line right now (re-computed on every
    change by :meth:`update_text`).
    """

    task: Task
    uri: str
    marks: dict[int, Label] = field(default_factory=dict)
    consensus: dict[int, LineConsensus] = field(default_factory=dict)
    submission: SubmittedState | None = None
    """The annotator's current submission of this sample (sent or queued), if any."""
    restored: bool = False
    """Marks and submission were read from the marks store (done once per document)."""
    changed: bool = False
    started_at: float = field(default_factory=time.monotonic)
    """When the annotator got the task: a submission reports the time spent on it."""
    _original: list[str] = field(default_factory=list)
    _header_len: int = 0
    _doc_to_sample: dict[int, int] = field(default_factory=dict)
    _sample_to_doc: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        header = render_header(self.task)
        self._header_len = len(header)
        self._original = [*header, *(line.text for line in self.task.lines)]
        self._align(self._original)

    # ------------------------------------------------------------------ alignment

    @property
    def text(self) -> str:
        """The text the document was rendered with."""
        return "\n".join(self._original) + "\n"

    def update_text(self, text: str) -> None:
        """Re-align after the editor changed the document; marks keep their sample lines."""
        self._align(split_lines(text))

    def _align(self, current: Sequence[str]) -> None:
        """Map current document lines to original lines.

        Equal runs map one to one; a replaced run of the same length maps line by line
        (a line edited in place keeps its mark); inserted lines map to nothing, and
        deleted sample lines have no document line (their marks stay, unseen).
        """
        mapping: dict[int, int] = {}
        matcher = difflib.SequenceMatcher(a=self._original, b=list(current), autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):
                for offset in range(b1 - b0):
                    original = a0 + offset
                    if original >= self._header_len:
                        mapping[b0 + offset] = original - self._header_len + 1
        self._doc_to_sample = mapping
        self._sample_to_doc = {sample: doc for doc, sample in mapping.items()}
        self.changed = list(current) != self._original

    def sample_line(self, doc_line: int) -> int | None:
        """The sample line number shown at a document line (None: header or new text)."""
        return self._doc_to_sample.get(doc_line)

    def doc_line(self, sample_line: int) -> int | None:
        """The document line showing a sample line now (None: deleted by an edit)."""
        return self._sample_to_doc.get(sample_line)

    def judged_in(self, start: int, end: int) -> list[int]:
        """Judged sample lines shown on document lines ``start..end`` (inclusive)."""
        judged = set(self.task.judged_numbers)
        found = (self.sample_line(d) for d in range(min(start, end), max(start, end) + 1))
        return sorted({n for n in found if n is not None and n in judged})

    # ---------------------------------------------------------------------- marks

    def mark(self, lines: Iterable[int], label: Label | None) -> list[int]:
        """Set (or clear, with ``None``) the mark of judged sample lines; return those changed."""
        judged = set(self.task.judged_numbers)
        changed: list[int] = []
        for number in lines:
            if number not in judged:
                raise InvalidInput(f"line {number} of the sample is not judged", field="lines")
            before = self.marks.get(number)
            if label is None:
                self.marks.pop(number, None)
            else:
                self.marks[number] = label
            if before != self.marks.get(number):
                changed.append(number)
        return changed

    @property
    def submitted(self) -> bool:
        """The server acknowledged a submission of this sample."""
        return self.submission is not None and not self.submission.queued

    @property
    def queued(self) -> bool:
        """A submission waits in the offline queue (the server was unreachable)."""
        return self.submission is not None and self.submission.queued

    def votes(self) -> dict[int, Label]:
        """What a submission sends: marked wrong lines -1, every other judged line +1."""
        wrong = self.wrong
        return {n: Label.WRONG if n in wrong else Label.CORRECT for n in self.task.judged_numbers}

    def record_submission(self, submission: SubmittedState) -> None:
        """Make the submission the current one; the marks become its votes, line by line."""
        self.submission = submission
        self.marks = dict(submission.votes)

    def stored(self) -> TaskMarks:
        return TaskMarks(marks=dict(self.marks), submitted=self.submission)

    def status_text(self) -> str:
        """``submitted, revision 2, 2026-12-07 01:40 UTC`` (or queued, or not submitted)."""
        if self.submission is None:
            marked = len(self.marks)
            return f"not submitted, {marked} of {len(self.task.judged_numbers)} lines marked"
        at = self.submission.at.strftime("%Y-%m-%d %H:%M UTC")
        if self.submission.queued:
            return f"submitted {at}, waiting in the offline queue"
        return f"submitted, revision {self.submission.revision}, {at}"

    @property
    def wrong(self) -> frozenset[int]:
        return frozenset(n for n, label in self.marks.items() if label is Label.WRONG)

    def check_unchanged(self) -> None:
        """Raise :class:`DocumentChanged` unless the text still matches the sample."""
        if self.changed:
            raise DocumentChanged(
                f"the task file of sample {self.task.sample_id} was edited; undo the edits "
                "to submit: votes must be on the code as generated"
            )

    def summary(self) -> dict[str, object]:
        """A JSON-friendly view returned by commands (editors and tests read it)."""
        return {
            "uri": self.uri,
            "sampleId": self.task.sample_id,
            "wrong": sorted(self.wrong),
            "correct": sorted(n for n, lb in self.marks.items() if lb is Label.CORRECT),
            "changed": self.changed,
            "submitted": self.submitted,
            "queued": self.queued,
            "revision": self.submission.revision if self.submission else None,
            "submittedAt": self.submission.at.isoformat() if self.submission else None,
            "status": self.status_text(),
        }
