"""``crlhf serve`` is wired into the ``crlhf`` command with the documented options."""

from __future__ import annotations

import argparse
from pathlib import Path

from crlhf_server import cli


def test_serve_options_and_defaults() -> None:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    args = parser.parse_args([])
    assert (args.db, args.host, args.port) == (None, "127.0.0.1", 8000)
    args = parser.parse_args(["--db", "x.db", "--host", "0.0.0.0", "--port", "9"])
    assert (args.db, args.host, args.port) == (Path("x.db"), "0.0.0.0", 9)
