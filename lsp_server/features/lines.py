"""Line geometry in the client's position encoding.

LSP counts lines the same way in every encoding, but columns in the encoding negotiated
at initialize (UTF-16 for VS Code, UTF-8 for Neovim 0.11). Lines are split on ``\\n``,
``\\r\\n`` and ``\\r`` only, as the protocol does; pygls's ``TextDocument.lines`` would
also split on form feeds and U+2028, which LSP clients do not.
"""

from __future__ import annotations

from crlhf_lsp.documents import split_lines
from lsprotocol import types
from pygls.workspace import TextDocument


def line_texts(document: TextDocument) -> list[str]:
    return split_lines(document.source)


def line_range(document: TextDocument, texts: list[str], line: int) -> types.Range:
    """The whole of one line, end column in client units."""
    end = document.position_codec.client_num_units(texts[line]) if line < len(texts) else 0
    return types.Range(
        start=types.Position(line=line, character=0),
        end=types.Position(line=line, character=end),
    )


def selected_lines(selection: types.Range) -> tuple[int, int]:
    """The lines a selection covers; one ending at column 0 does not cover its last line."""
    start, end = selection.start.line, selection.end.line
    if end > start and selection.end.character == 0:
        end -= 1
    return start, end
