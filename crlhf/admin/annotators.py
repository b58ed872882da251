"""``crlhf admin`` commands about people: create, disable, enable, list, reliability history."""

from __future__ import annotations

import argparse
import asyncio

from crlhf.admin.command import command
from crlhf.admin.output import dump, fields, table
from crlhf.client import CrlhfClient
from crlhf.command_hint import tui_command
from crlhf.errors import InvalidInput
from crlhf.machines.checkers import BUILT_IN
from crlhf.schemas import AnnotatorKind, Role
from crlhf.tables import Cell, render_table


def _create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--admin", action="store_true", help="give the admin role")
    who.add_argument(
        "--machine",
        metavar="CHECKER",
        help=f"a machine annotator running CHECKER (built in: {', '.join(BUILT_IN)}); its "
        "token works only with `crlhf machines run`",
    )
    parser.add_argument(
        "--checker-version", help="the checker's version (default: the built-in's version)"
    )


def _id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int)


@command("create-annotator", "create an annotator and print their token once", _create_arguments)
async def create_annotator(client: CrlhfClient, args: argparse.Namespace) -> str:
    if args.machine:
        version = args.checker_version or BUILT_IN.get(args.machine)
        created = await client.create_annotator(
            args.name, checker=args.machine, checker_version=version
        )
    elif args.checker_version:
        raise InvalidInput("--checker-version needs --machine", field="checker_version")
    else:
        created = await client.create_annotator(
            args.name, Role.ADMIN if args.admin else Role.ANNOTATOR
        )
    if args.json:
        return dump(created.model_dump(mode="json"))
    a = created.annotator
    if a.kind is AnnotatorKind.MACHINE:
        return (
            f"Created machine annotator {a.name!r} (id {a.id}, checker {a.checker} "
            f"{a.checker_version or ''}).\nToken (shown only now; store it safely):\n\n"
            f"    {created.token}\n\nTo run it:\n"
            f"    crlhf machines run --server {client.base_url} --token {created.token}\n"
        )
    return (
        f"Created {a.role.value} {a.name!r} (id {a.id}).\n"
        f"Token (shown only now; store it safely):\n\n    {created.token}\n\n"
        "To annotate in a terminal:\n" + tui_command(client.base_url, created.token)
    )


@command("disable-annotator", "disable an annotator (their token stops working)", _id_argument)
async def disable_annotator(client: CrlhfClient, args: argparse.Namespace) -> str:
    return fields(args, await client.set_annotator_active(args.id, active=False))


@command("enable-annotator", "enable a disabled annotator again", _id_argument)
async def enable_annotator(client: CrlhfClient, args: argparse.Namespace) -> str:
    return fields(args, await client.set_annotator_active(args.id, active=True))


@command("list-annotators", "annotators with their reliability, samples and agreement")
async def list_annotators(client: CrlhfClient, args: argparse.Namespace) -> str:
    annotators = await client.list_annotators()
    stats = await asyncio.gather(*(client.annotator_stats(a.id) for a in annotators))
    if args.json:
        return dump(
            [
                {**a.model_dump(mode="json"), "stats": s.model_dump(mode="json")}
                for a, s in zip(annotators, stats, strict=True)
            ]
        )
    if not annotators:
        return "(none)\n"
    headers = [
        "id",
        "name",
        "role",
        "kind",
        "active",
        "reliability",
        "samples",
        "votes",
        "agreement",
    ]
    rows: list[list[Cell]] = [
        [
            a.id,
            a.name,
            a.role.value,
            f"machine:{a.checker}" if a.kind is AnnotatorKind.MACHINE else a.kind.value,
            a.active,
            a.reliability,
            s.samples_done,
            s.votes,
            s.agreement,
        ]
        for a, s in zip(annotators, stats, strict=True)
    ]
    return render_table(headers, rows)


@command("reliability-history", "an annotator's reliability over time", _id_argument)
async def reliability_history(client: CrlhfClient, args: argparse.Namespace) -> str:
    return table(
        args,
        await client.reliability_history(args.id),
        ["when", "reliability", "source", "submission"],
        lambda s: [
            s.created_at.isoformat(timespec="seconds"),
            s.reliability,
            s.source,
            str(s.submission_id) if s.submission_id else None,
        ],
    )
