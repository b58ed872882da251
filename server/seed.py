"""First start: the bundled starter set and the first admin.

A database with no annotator is a first start. The starter set (``seed_data/``) lets a
newcomer annotate at once; the admin token comes from ``CRLHF_ADMIN_TOKEN`` when set
(scripts, tests) and is otherwise random. Both happen in one transaction, so a crash
mid-seed leaves an empty database that the next start seeds again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from crlhf_server import annotators, imports
from crlhf_server.clock import now_iso
from crlhf_server.db import Store

from crlhf.engine.config import EngineConfig
from crlhf.errors import InvalidInput
from crlhf.schemas import ImportResult, ProblemIn, Role, SampleIn

logger = logging.getLogger(__name__)

SEED_DIR = Path(__file__).parent / "seed_data"
ADMIN_NAME = "admin"

T = TypeVar("T", ProblemIn, SampleIn)


@dataclass(frozen=True)
class FirstStart:
    admin_token: str
    problems: ImportResult | None
    samples: ImportResult | None


def read_jsonl(path: Path, model: type[T]) -> list[T]:
    items: list[T] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate_json(line))
        except ValueError as exc:
            raise InvalidInput(f"{path}:{number}: {exc}", field=str(path)) from exc
    return items


def first_start(
    store: Store,
    engine: EngineConfig,
    *,
    seed: bool,
    admin_token: str | None,
    seed_dir: Path = SEED_DIR,
) -> FirstStart | None:
    """Seed and create the admin if the database has no annotator; else return None."""
    with store.write() as conn:
        if conn.execute("SELECT 1 FROM annotators LIMIT 1").fetchone() is not None:
            return None
        now = now_iso()
        problems = samples = None
        problems_file, samples_file = seed_dir / "problems.jsonl", seed_dir / "samples.jsonl"
        if seed and problems_file.exists() and samples_file.exists():
            problems = imports.import_problems(conn, read_jsonl(problems_file, ProblemIn), now)
            samples = imports.import_samples(
                conn, engine, read_jsonl(samples_file, SampleIn), now, starter=True
            )
            logger.info(
                "seeded %d problems and %d samples from %s",
                problems.created,
                samples.created,
                seed_dir,
            )
        elif seed:
            logger.warning("no starter set found in %s; starting with an empty catalogue", seed_dir)
        created = annotators.create(
            conn, engine, ADMIN_NAME, Role.ADMIN, now=now, token=admin_token
        )
    return FirstStart(admin_token=created.token, problems=problems, samples=samples)
