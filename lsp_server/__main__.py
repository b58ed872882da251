"""``python -m crlhf_lsp``: the same as the ``crlhf-lsp`` console script."""

import sys

from crlhf_lsp.launch import main

sys.exit(main())
