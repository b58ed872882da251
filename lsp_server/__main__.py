"""``python -m lsp_server``: the same as the ``crlhf-lsp`` console script."""

import sys

from lsp_server.server import main

sys.exit(main())
