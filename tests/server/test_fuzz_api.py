"""Schemathesis against a real ``crlhf serve``: no 5xx and no answer outside the spec.

The fuzzer reads the server's own OpenAPI document and sends generated requests to every
operation, first as an annotator, then as an admin (the annotator first, since the admin's
run may disable them). A run fails on any server error, any status code the spec does not
declare, and any body or content type that does not match it. Examples are bounded and the
seed fixed so a run takes about a minute and a failure reproduces; generated webhooks are
pointed at a local receiver (tests/server/fuzz_hooks.py), so nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, LiveServer

SEED = 19
MAX_EXAMPLES = 10
"""Per operation and phase: 45 operations, two roles, about a minute in all on two cores."""
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _receiver() -> Iterator[str]:
    """A local webhook receiver answering 204 to every delivery."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _fuzz(server: LiveServer, token: str, receiver: str, out: Path) -> dict[str, Any]:
    """One schemathesis run; returns its JSON report."""
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.server.fuzz_hooks",
        "CRLHF_FUZZ_RECEIVER": receiver,
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json"),
        *("--header", f"Authorization: Bearer {token}"),
        *("--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1"),
        *("--phases", "coverage,fuzzing", "--checks", CHECKS, "--no-color"),
        *("--generation-database", "none", "--request-timeout", "30"),
        *("--report", "json", "--report-json-path", str(out)),
    ]
    # Run in the test's temp dir: schemathesis keeps reproduction files in its cwd.
    run = subprocess.run(
        command, cwd=out.parent, env=env, check=False, capture_output=True, text=True
    )
    assert out.exists(), f"schemathesis wrote no report:\n{run.stdout[-3000:]}\n{run.stderr}"
    report: dict[str, Any] = json.loads(out.read_text())
    report["output"] = run.stdout[-6000:]
    return report


@pytest.mark.e2e
@pytest.mark.timeout(420)
def test_fuzzing_finds_no_server_error_and_no_answer_outside_the_spec(
    live_server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    with _receiver() as receiver_url:
        server = live_server_factory(
            env={"CRLHF_WEBHOOK_BACKOFF_S": "0.05", "CRLHF_WEBHOOK_MAX_ATTEMPTS": "2"}
        )
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        created = httpx.post(
            f"{server.url}/v1/admin/annotators", json={"name": "fuzz"}, headers=admin
        )
        assert created.status_code == 201, created.text
        tokens = {"annotator": created.json()["token"], "admin": server.admin_token}
        reports = {
            role: _fuzz(server, token, receiver_url, tmp_path / f"{role}.json")
            for role, token in tokens.items()
        }
        hooks = httpx.get(f"{server.url}/v1/admin/webhooks", headers=admin).json()

    for role, report in reports.items():
        failures = sum(int(f.get("count", 1)) for f in report["failures"])
        cases = report["test_cases"]["generated"]
        sys.stdout.write(f"fuzz {role}: {cases} cases, {failures} failures\n")
    for report in reports.values():
        assert report["test_cases"]["generated"] >= 300, report["output"]
        assert report["failures"] == [], report["output"]
        assert report["errors"] == [], report["output"]
    log = server.log_path.read_text(errors="replace")
    assert "unhandled error" not in log and "Traceback" not in log, log[-4000:]
    assert {hook["url"] for hook in hooks} <= {receiver_url}  # nothing left the machine
