"""The ``crlhf`` command.

One entry point whose subcommands live in the packages that own them. A subcommand's
module is imported only when it runs, so ``crlhf admin`` never imports the server and
nothing imports torch until something trains or generates.

Each subcommand module exposes ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from crlhf import __version__
from crlhf.errors import CrlhfError
from crlhf.extras import missing_extra, missing_extra_line


class SubcommandModule(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Subcommand:
    module: str
    summary: str


SUBCOMMANDS: dict[str, Subcommand] = {
    "serve": Subcommand("crlhf_server.cli", "run the annotation server (FastAPI + SQLite)"),
    "admin": Subcommand("crlhf.admin", "manage a server: annotators, data, rewards, export"),
    "train-round": Subcommand("crlhf.training.cli", "run one PPO training round on (x, y, s)"),
    "export-model": Subcommand(
        "crlhf.training.export_cli", "an adapter version as a merged checkpoint or peft adapter"
    ),
    "generate": Subcommand("crlhf.generation.cli", "sample completions from a model to annotate"),
    "bench": Subcommand("crlhf.evaluation.cli", "pass@k on HumanEval/MBPP in the sandbox; plots"),
    "models": Subcommand(
        "crlhf.generation.models_cli", "fetch a real pretrained checkpoint (SmolLM2) into the cache"
    ),
    "worker": Subcommand(
        "crlhf.training.worker_cli", "claim requested training rounds from a server and run them"
    ),
    "machines": Subcommand(
        "crlhf.machines.cli", "machine annotators: the tests and static checkers vote on lines"
    ),
    "demo": Subcommand(
        "crlhf.testbed.demo_cli", "the whole loop on the testbed: server, crowd, worker, rounds"
    ),
}


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {sub.summary}" for name, sub in SUBCOMMANDS.items())
    return (
        f"usage: crlhf <command> [options]\n\ncrlhf {__version__}: crowd-sourced line-level "
        f"feedback on generated code, aggregated into rewards.\n\ncommands:\n{rows}\n\n"
        "Run 'crlhf <command> --help' for a command's options."
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] in {"-h", "--help"}:
        sys.stdout.write(_usage() + "\n")
        return 0
    if arguments[0] == "--version":
        sys.stdout.write(f"crlhf {__version__}\n")
        return 0
    name, rest = arguments[0], arguments[1:]
    if name not in SUBCOMMANDS:
        sys.stderr.write(f"crlhf: unknown command {name!r}\n\n{_usage()}\n")
        return 2
    sub = SUBCOMMANDS[name]
    try:
        module = cast(SubcommandModule, importlib.import_module(sub.module))
    except ImportError as exc:
        return _missing_extra(name, exc)
    parser = argparse.ArgumentParser(prog=f"crlhf {name}", description=sub.summary)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    module.configure(parser)
    args = parser.parse_args(rest)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return module.run(args)
    except CrlhfError as exc:
        sys.stderr.write(f"crlhf {name}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except ImportError as exc:  # a command imports its heavy extra only when it runs
        return _missing_extra(name, exc)


def _missing_extra(name: str, exc: ImportError) -> int:
    """One line naming the extra and the command, or re-raise an ImportError that is a bug."""
    extra = missing_extra(exc)
    if extra is None:
        raise exc
    sys.stderr.write(missing_extra_line(f"crlhf {name}", extra, exc.name))
    return 2


if __name__ == "__main__":
    sys.exit(main())
