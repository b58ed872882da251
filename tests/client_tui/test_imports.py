"""The TUI starts fast because it never imports torch or the server."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

HEAVY = ("torch", "transformers", "peft", "server", "fastapi", "uvicorn", "sqlite_utils")


def test_importing_the_app_pulls_in_no_torch_and_no_server_code():
    code = (
        "import json, sys\n"
        "import client_tui.app\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(json.loads(result.stdout))
    assert "textual" in loaded and "client_tui" in loaded  # the check looks at the right thing
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
