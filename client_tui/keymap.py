"""Every key of the annotation screen, in one table.

The main screen's bindings, the help screen and the key map in ``docs/tui.md`` are all
made from this table (a test checks the docs), so a key cannot exist without being
documented, nor be documented without existing.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    keys: str
    """Textual key names, comma-separated (``"down,j"``)."""
    action: str
    description: str
    shown: str
    """How the help screen writes the keys."""
    short: str = ""
    """The footer's label; keys without one are not in the footer (few fit in 80 columns)."""


MAIN_KEYS: tuple[Key, ...] = (
    Key("down,j", "move(1)", "next judged line", "↓ j"),
    Key("up,k", "move(-1)", "previous judged line", "↑ k"),
    Key("g,home", "first", "first line", "g Home"),
    Key("G,end", "last", "last line", "G End"),
    Key("pagedown", "page(1)", "one page down", "PgDn"),
    Key("pageup", "page(-1)", "one page up", "PgUp"),
    Key("right,l", "scroll_code(8)", "scroll long lines right", "→ l"),
    Key("left,h", "scroll_code(-8)", "scroll long lines left", "← h"),
    Key("w", "mark_wrong", "mark wrong", "w", "wrong"),
    Key("c", "mark_correct", "mark correct", "c", "correct"),
    Key("space", "flip", "toggle wrong / correct", "Space"),
    Key("v", "visual", "visual mode: mark a range", "v", "visual"),
    Key("escape", "escape", "leave visual mode or the problem pane", "Esc"),
    Key("u", "undo", "undo the last mark or comment", "u", "undo"),
    Key("m", "comment", "comment on a wrong line", "m"),
    Key("enter", "submit", "submit (in visual mode: end the range)", "Enter", "submit"),
    Key("r", "revise", "revise your last submission (marks come back)", "r"),
    Key("s", "skip", "skip this sample", "s", "skip"),
    Key("tab", "focus_problem", "problem pane: ↑ ↓ PgUp PgDn scroll; Tab: back", "Tab"),
    Key("f", "full_problem", "problem pane full screen (f: back)", "f"),
    Key("R", "retry_now", "retry the server now (queue and tasks)", "R"),
    Key("t", "stats", "your statistics", "t"),
    Key("question_mark,f1", "help", "this help", "? F1", "help"),
    Key("ctrl+p", "app.command_palette", "command palette: themes (light...), quit", "Ctrl+P"),
    Key("q", "quit", "quit (submissions are kept)", "q", "quit"),
)

TASK_ACTIONS = frozenset(
    {
        "move",
        "first",
        "last",
        "page",
        "scroll_code",
        "mark_wrong",
        "mark_correct",
        "flip",
        "visual",
        "undo",
        "comment",
        "submit",
        "skip",
        "focus_problem",
        "full_problem",
    }
)
"""Actions that need a sample on screen: without one they are hidden from the footer and
do nothing (the "nothing to annotate" screen lists only keys that work)."""


def bindings(keys: tuple[Key, ...] = MAIN_KEYS) -> list[Binding]:
    """Textual bindings for ``keys``; only those with a ``short`` label show in the footer."""
    return [Binding(k.keys, k.action, k.short or k.description, show=bool(k.short)) for k in keys]
