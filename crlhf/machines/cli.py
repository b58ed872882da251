"""``crlhf machines run``: machine annotators' loop (like ``crlhf worker``, or ``--once``).

Each ``--token`` is a machine annotator's (``crlhf admin create-annotator NAME --machine
CHECKER``); the server says which checker it runs. A person's token is refused here, in
one line, before anything runs (the server refuses it on the machine routes too).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from crlhf.client import CrlhfClient
from crlhf.client_config import ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidInput, RateLimited, ServerUnreachable
from crlhf.machines.checkers import CHECKERS
from crlhf.machines.runner import MachineRunner
from crlhf.schemas import AnnotatorKind

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="action", required=True)
    run = commands.add_parser("run", help="judge every sample that lacks this machine's vote")
    run.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    run.add_argument(
        "--token",
        action="append",
        help=f"a machine annotator's token; repeat for several (default: ${ENV_TOKEN})",
    )
    run.add_argument(
        "--checker",
        help=f"comma-separated checkers to run (default: each token's; built in: "
        f"{', '.join(CHECKERS)})",
    )
    run.add_argument("--once", action="store_true", help="one pass over the samples, then exit")
    run.add_argument("--poll", type=float, default=10.0, help="seconds between passes")
    run.add_argument(
        "--timeout", type=float, default=60.0, help="seconds a checker may spend on one sample"
    )


def _wanted(text: str | None) -> set[str] | None:
    if text is None:
        return None
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = sorted(names - set(CHECKERS))
    if unknown or not names:
        raise InvalidInput(
            f"unknown checker {', '.join(unknown) or repr(text)}; built in: {', '.join(CHECKERS)}",
            field="checker",
        )
    return names


async def _runners(args: argparse.Namespace, clients: list[CrlhfClient]) -> list[MachineRunner]:
    wanted = _wanted(args.checker)
    runners: list[MachineRunner] = []
    found: set[str] = set()
    for client in clients:
        me = await client.me()
        if me.kind is not AnnotatorKind.MACHINE or me.checker is None:
            raise InvalidInput(
                f"the token of {me.name!r} belongs to a person; crlhf machines needs a machine "
                "annotator's token (crlhf admin create-annotator NAME --machine CHECKER)",
                field="token",
            )
        if me.checker not in CHECKERS:
            raise InvalidInput(
                f"{me.name!r} runs checker {me.checker!r}, which is not built in "
                f"({', '.join(CHECKERS)})",
                field="token",
            )
        found.add(me.checker)
        if wanted is None or me.checker in wanted:
            runners.append(MachineRunner(client, CHECKERS[me.checker](), args.timeout))
    missing = sorted((wanted or set()) - found)
    if missing:
        raise InvalidInput(
            f"no --token is a machine annotator for checker {', '.join(missing)}", field="checker"
        )
    return runners


async def _main(args: argparse.Namespace) -> int:
    tokens = args.token or [os.environ.get(ENV_TOKEN) or ""]
    configs = [ClientConfig.load(args.server, token or None) for token in tokens]
    clients = [CrlhfClient.from_config(config) for config in configs]
    try:
        runners = await _runners(args, clients)
        while True:
            wait = args.poll
            for runner in runners:
                try:
                    done = await runner.run_pass()
                except (RateLimited, ServerUnreachable) as exc:
                    if args.once:
                        raise
                    # A long-running loop outlives a busy or restarting server.
                    logger.warning("%s: %s; trying again", runner.checker.name, exc)
                    retry = getattr(exc, "retry_after_s", None)
                    wait = max(wait, retry or 0.0)
                    continue
                if done:
                    logger.info("%s: judged %d samples", runner.checker.name, done)
            if args.once:
                return 0
            await asyncio.sleep(wait)
    finally:
        for client in clients:
            await client.aclose()


def run(args: argparse.Namespace) -> int:
    if not args.verbose:  # one line per request would drown the checkers' own lines
        logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_main(args))
