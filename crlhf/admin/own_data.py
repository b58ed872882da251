"""``crlhf admin problems list`` and ``samples archive``: a team's own data on the server."""

from __future__ import annotations

import argparse

from crlhf.admin.command import command
from crlhf.admin.output import fields, table
from crlhf.client import CrlhfClient


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=1000, help="at most N problems")
    parser.add_argument("--offset", type=int, default=0, help="skip the first N")


@command("problems list", "problems on the server, oldest first", _list_arguments)
async def list_problems(client: CrlhfClient, args: argparse.Namespace) -> str:
    problems = await client.list_problems(limit=args.limit, offset=args.offset)
    return table(
        args,
        problems,
        ["id", "title", "language", "tests", "prompt"],
        lambda p: [
            p.id,
            p.title[:40],
            p.language,
            "yes" if p.tests else "no tests",
            "own" if p.prompt else "description",
        ],
    )


def _archive_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sample_id")


@command(
    "samples archive",
    "never serve or export a sample again (its votes stay in history)",
    _archive_arguments,
)
async def archive_sample(client: CrlhfClient, args: argparse.Namespace) -> str:
    archived = await client.archive_sample(args.sample_id)
    if args.json:
        return fields(args, archived)
    return f"archived {archived.id}: it is no longer served or exported\n"
