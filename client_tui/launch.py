"""The ``crlhf-tui`` entry point: one line naming the ``tui`` extra when Textual is missing.

Kept free of Textual imports so that a server-only install (``make run``) answers
``crlhf-tui`` with the command that installs the client, not a ModuleNotFoundError.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from crlhf.extras import missing_extra, missing_extra_line


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from crlhf_tui.app import main as app_main
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        sys.stderr.write(missing_extra_line("crlhf-tui", extra, exc.name))
        return 2
    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
