"""Crlhf errors as one window message and an LSP error answer, and one log line.

A failing command never kills the server: the annotator reads why it did nothing, once.
The answer's ``data`` carries the error ``code`` and ``shown`` (the message was already
shown), so a plugin neither repeats it nor misses one the server kept quiet about.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from crlhf_lsp.language_server import CrlhfLanguageServer
from crlhf_lsp.messages import token_rejected, user_text
from crlhf_lsp.submitting import EmptySubmission
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from crlhf.errors import AuthenticationFailed, CrlhfError

Handler = Callable[..., Awaitable[Any]]

QUIET = frozenset({EmptySubmission.code})
"""Errors the editor turns into a question (a confirmation), not a message."""


def user_errors(handler: Handler) -> Handler:
    """Turn a crlhf error into one window message plus an LSP error answer.

    The server keeps running; the editor shows why the command did nothing. The answer
    carries ``data.shown`` so a plugin does not show the same message again.
    """

    @functools.wraps(handler)
    async def wrapper(ls: CrlhfLanguageServer, *args: Any) -> Any:
        try:
            return await handler(ls, *args)
        except AuthenticationFailed as exc:
            server_url = ls._remote.config.server if ls._remote else "the server"
            ls.show(token_rejected(server_url, ls.terms), types.MessageType.Error)
            raise _answer(exc, shown=True) from exc
        except CrlhfError as exc:
            shown = exc.code not in QUIET
            if shown:
                ls.show(user_text(exc), types.MessageType.Error)
            raise _answer(exc, shown=shown) from exc

    return wrapper


def _answer(exc: CrlhfError, *, shown: bool) -> JsonRpcException:
    return JsonRpcException(
        message=user_text(exc),
        code=types.LSPErrorCodes.RequestFailed,
        data={"code": exc.code, "shown": shown, "crlhf": True},
    )


class UserErrorsOnce(logging.Filter):
    """Drop pygls's traceback for a crlhf user error: :meth:`show` logged it as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        data = getattr(error, "data", None)
        return not (isinstance(data, dict) and data.get("crlhf"))
