"""The ``crlhf-lsp`` entry point, kept free of pygls imports (see :func:`crlhf.extras.launch`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from crlhf.extras import launch


def main(argv: Sequence[str] | None = None) -> int:
    return launch("crlhf-lsp", "crlhf_lsp.server", argv)


if __name__ == "__main__":
    sys.exit(main())
