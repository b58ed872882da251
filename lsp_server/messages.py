"""What the annotator reads: messages in the editor's own terms.

A message names the setting or command of the editor in use (Neovim's ``setup()``
options and ``:Crlhf`` commands, VS Code's settings and palette commands), never an
internal field name or another tool's flag. The editor says which it is through
``initializationOptions.editor`` (both bundled plugins do); otherwise ``clientInfo.name``
decides, and any other client reads the protocol's command names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crlhf.errors import CrlhfError


@dataclass(frozen=True)
class EditorTerms:
    """How one editor spells crlhf's settings and commands."""

    server_setting: str
    token_setting: str
    next_command: str
    submit_command: str
    revise_command: str
    sync_command: str


NEOVIM = EditorTerms(
    server_setting='require("crlhf").setup({ server = ... })',
    token_setting='require("crlhf").setup({ token = ... }), $CRLHF_TOKEN',
    next_command=":Crlhf next",
    submit_command=":Crlhf submit",
    revise_command=":Crlhf revise",
    sync_command=":Crlhf sync",
)
VSCODE = EditorTerms(
    server_setting='the "crlhf.server" setting',
    token_setting='"crlhf: Sign in" (command palette)',
    next_command='"crlhf: Next task"',
    submit_command='"crlhf: Submit"',
    revise_command='"crlhf: Revise submission"',
    sync_command='"crlhf: Send queued submissions"',
)
GENERIC = EditorTerms(
    server_setting='initializationOptions "server"',
    token_setting='initializationOptions "token", $CRLHF_TOKEN',
    next_command="crlhf.nextTask",
    submit_command="crlhf.submit",
    revise_command="crlhf.revise",
    sync_command="crlhf.sync",
)


def terms_for(editor: str | None, client_name: str | None) -> EditorTerms:
    """The terms of the editor named in the options, else guessed from ``clientInfo``."""
    name = (editor or client_name or "").lower()
    if "neovim" in name or name == "nvim":
        return NEOVIM
    if "code" in name:  # "vscode", "Visual Studio Code", "VSCodium", "Code - OSS"
        return VSCODE
    return GENERIC


_FIELD_PREFIX = re.compile(r"^[A-Za-z_][\w.\[\]]*: ")


def user_text(error: CrlhfError | str) -> str:
    """An error's message without the field name the wire format puts in front of it."""
    text = error.message if isinstance(error, CrlhfError) else error
    while _FIELD_PREFIX.match(text):
        text = _FIELD_PREFIX.sub("", text, count=1)
    return text


def unreachable(server: str, error: CrlhfError | None, terms: EditorTerms) -> str:
    """Why the server cannot be reached, told apart from a server that is merely down.

    A refused connection usually means a wrong host or port (or a server not started);
    a timeout a server that is up but slow or a network in the way.
    """
    if error is None:
        why = f"cannot reach {server}"
    elif "did not answer in time" in error.message:
        why = f"{server} did not answer in time"
    else:
        why = f"nothing accepts connections at {server} (wrong port, or `crlhf serve` not running?)"
    return f"crlhf: {why}; check {terms.server_setting}"


def not_crlhf(server: str, error: CrlhfError, terms: EditorTerms) -> str:
    """Something answered at the URL, but not the crlhf API (another service, a proxy)."""
    return (
        f"crlhf: {server} answered, but not as a crlhf server ({user_text(error)}); "
        f"check {terms.server_setting}"
    )


def token_rejected(server: str, terms: EditorTerms) -> str:
    return f"crlhf: the server at {server} rejected your token; set it with {terms.token_setting}"


def count(n: int, what: str) -> str:
    """``1 line``, ``3 lines``."""
    return f"{n} {what}" if n == 1 else f"{n} {what}s"
