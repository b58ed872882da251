"""The command registry of ``crlhf admin``: each command's arguments and handler, together.

A command module declares a command with :func:`command`, giving the function that adds
its arguments beside the handler that runs it, so reading one command means reading one
place. A name with a space (``rounds create``) is an action of a group (``rounds``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crlhf.client import CrlhfClient
from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidInput

Handler = Callable[[CrlhfClient, argparse.Namespace], Awaitable[str]]
LocalHandler = Callable[[argparse.Namespace], str]
Arguments = Callable[[argparse.ArgumentParser], None]

GROUPS: dict[str, str] = {
    "rounds": "training rounds",
    "adapters": "adapter versions",
    "problems": "problems",
    "samples": "samples",
}
"""Commands with actions (``crlhf admin rounds list``) and their help."""


@dataclass(frozen=True)
class AdminCommand:
    name: str
    help: str
    handler: Handler | None
    arguments: Arguments | None
    local: LocalHandler | None = None
    """A command that works on a database file, not over HTTP (no --server or --token)."""


COMMANDS: dict[str, AdminCommand] = {}


def command(
    name: str, help: str, arguments: Arguments | None = None
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as ``crlhf admin NAME``, with ``arguments`` adding its options."""

    def register(handler: Handler) -> Handler:
        group, _, _ = name.partition(" ")
        if " " in name and group not in GROUPS:
            raise ValueError(f"admin command {name!r}: unknown group {group!r}")
        COMMANDS[name] = AdminCommand(name, help, handler, arguments)
        return handler

    return register


def local_command(
    name: str, help: str, arguments: Arguments | None = None
) -> Callable[[LocalHandler], LocalHandler]:
    """Register ``handler`` as ``crlhf admin NAME`` working on local files, not a server.

    For recovery only (``reset-token``): everything else goes over HTTP so it works the
    same against a remote server.
    """

    def register(handler: LocalHandler) -> LocalHandler:
        COMMANDS[name] = AdminCommand(name, help, None, arguments, local=handler)
        return handler

    return register


def _common() -> argparse.ArgumentParser:
    """Options every action accepts, after the action name as the server prints them."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    common.add_argument(
        "--token", help=f"admin token (default: ${ENV_ADMIN_TOKEN}, ${ENV_TOKEN} or config file)"
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    common.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    return common


def configure(parser: argparse.ArgumentParser) -> None:
    common = _common()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for cmd in COMMANDS.values():
        group, _, action = cmd.name.rpartition(" ")
        if group and group not in groups:
            text = GROUPS[group]
            sub = actions.add_parser(group, help=text, description=text)
            groups[group] = sub.add_subparsers(
                dest=f"{group}_action", required=True, metavar="ACTION"
            )
        where = groups[group] if group else actions
        parents = [] if cmd.local is not None else [common]
        leaf = where.add_parser(action, parents=parents, help=cmd.help, description=cmd.help)
        leaf.set_defaults(admin_command=cmd.name)
        if cmd.arguments is not None:
            cmd.arguments(leaf)


async def _run(args: argparse.Namespace, handler: Handler) -> str:
    config = ClientConfig.load(args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN))
    async with CrlhfClient.from_config(config, timeout=args.timeout) as client:
        return await handler(client, args)


def run(args: argparse.Namespace) -> int:
    cmd = COMMANDS[args.admin_command]
    if cmd.local is not None:
        sys.stdout.write(cmd.local(args))
        return 0
    assert cmd.handler is not None
    if not args.verbose:  # one line per HTTP request is noise in a command's output
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.timeout <= 0:
        raise InvalidInput("--timeout must be positive", field="timeout")
    sys.stdout.write(asyncio.run(_run(args, cmd.handler)))
    return 0
