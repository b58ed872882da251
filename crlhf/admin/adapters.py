"""``crlhf admin adapters``: the versions rounds produced and which one is current.

The current adapter is what new samples are drawn from and what the next round continues
from. ``set`` and ``rollback`` choose it among versions succeeded rounds produced (the
server refuses any other name); the next succeeded round becomes current again.
"""

from __future__ import annotations

import argparse

from crlhf.admin.command import command
from crlhf.admin.output import dump, table
from crlhf.client import CrlhfClient
from crlhf.schemas import CurrentAdapter


def describe(current: CurrentAdapter) -> str:
    if current.version is None:
        how = "chosen by an admin" if current.pinned else "no training round has succeeded yet"
        return f"base model ({how})\n"
    since = current.since.isoformat(timespec="seconds") if current.since else "-"
    how = ", chosen by an admin" if current.pinned else ""
    return f"{current.version} (round {current.round_id}, since {since}{how})\n"


def _shown(args: argparse.Namespace, current: CurrentAdapter) -> str:
    return dump(current.model_dump(mode="json")) if args.json else describe(current)


@command("adapters current", "the adapter new samples come from and rounds continue from")
async def current_adapter(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _shown(args, await client.current_adapter())


@command("adapters list", "adapter versions succeeded rounds produced, newest first")
async def list_adapters(client: CrlhfClient, args: argparse.Namespace) -> str:
    return table(
        args,
        await client.list_adapters(),
        ["version", "round", "finished", "current"],
        lambda v: [
            v.version,
            v.round_id,
            v.finished_at.isoformat(timespec="seconds") if v.finished_at else None,
            "*" if v.current else "",
        ],
    )


def _version_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="a version from 'adapters list', or 'base'")


@command("adapters set", "make a produced version (or 'base') current", _version_argument)
async def set_adapter(client: CrlhfClient, args: argparse.Namespace) -> str:
    version = None if args.version == "base" else args.version
    return _shown(args, await client.set_adapter(version))


@command("adapters rollback", "make the version before the current one current")
async def rollback_adapter(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _shown(args, await client.rollback_adapter())
