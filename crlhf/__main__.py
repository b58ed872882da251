"""``python -m crlhf`` is the ``crlhf`` command (tests start real processes this way)."""

import sys

from crlhf.cli import main

sys.exit(main())
