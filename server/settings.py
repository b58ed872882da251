"""Server settings: one typed object per process, read from ``CRLHF_*`` environment variables.

The app factory takes a :class:`Settings`; routes get it through a dependency, so tests
build their own (a temp database, a fixed admin token) without touching the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_db_path() -> Path:
    """``<data dir>/crlhf.db``: ``$CRLHF_DATA_DIR`` (as for the clients) else the platform's
    user data dir; ``$CRLHF_DB`` or ``--db`` override the whole path."""
    override = os.environ.get("CRLHF_DATA_DIR")
    base = Path(override) if override else Path(platformdirs.user_data_dir("crlhf"))
    return base / "crlhf.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRLHF_", extra="ignore")

    db: Path = Field(default_factory=default_db_path)
    """The SQLite file: the system of record."""
    admin_token: str | None = None
    """Token of the admin created on first start; random (and printed once) when unset."""
    seed: bool = True
    """Import the bundled starter set on the first start of an empty database."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024
    """Requests with a larger body are refused with 413 before they are parsed."""
    warmup_honeypots: Annotated[int, Field(ge=0)] = 5
    """q: at least q of every annotator's first ``warmup_window`` tasks are honeypots (the
    papers used 5 and 19 as the first tasks)."""
    warmup_window: Annotated[int, Field(ge=1)] = 20
    """W: the warm-up honeypots sit at random places among an annotator's first W tasks,
    so the served order does not tell them apart (W = q serves them first, as the papers
    did, at the price of telling every annotator which tasks they are)."""
    warmup_max_skips: Annotated[int, Field(ge=0)] = 3
    """Skips allowed while an annotator is in their first W tasks; more are refused (409),
    so skipping cannot walk through the honeypots."""
    honeypot_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    """After the warm-up, the probability that a task is a honeypot."""
    max_annotators_per_sample: Annotated[int, Field(ge=1)] = 5
    """A non-honeypot sample is served to at most this many annotators."""
    honeypot_max_annotators: Annotated[int, Field(ge=1)] | None = 50
    """Honeypot rotation: each honeypot is shown to at most this many annotators, then
    retired, so its gold does not spread through the crowd (None: no limit)."""
    honeypot_variant_lines: Annotated[int, Field(ge=0)] = 2
    """An annotator is never served two codes of one problem with the same line count
    that differ in at most this many lines when either is a honeypot: a one-line mutant
    beside its reference (or two mutants of one reference) shows the planted line by a
    plain diff (0: no such separation)."""
    estimator: str | None = None
    """Estimator of full refits and exports; None = the engine's default."""
    busy_timeout_ms: Annotated[int, Field(ge=0)] = 5000
    auto_pause: bool = True
    """Apply the quality policy (crlhf.quality.policy) after every ``policy_check_every``-th
    accepted submission of an annotator, honeypot or not (server/hooks.py)."""
    policy_check_every: Annotated[int, Field(ge=1)] = 10
    """How often (in the annotator's submissions) the policy looks at them."""
    policy_min_interval_s: Annotated[float, Field(ge=0.0)] = 1.0
    """At most one policy run per this many seconds, whoever submits (bounds its cost)."""
    pause_min_gold_lines: Annotated[int, Field(ge=1)] = 30
    """No automatic pause before this many gold lines (since the last reinstatement)."""
    pause_min_gold_wrong: Annotated[int, Field(ge=0)] = 5
    """...of which at least this many truly wrong (specificity needs wrong lines)."""
    pause_below: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.6
    """Balanced accuracy on gold lines below which an annotator is paused."""
    rate_limit_per_minute: Annotated[float, Field(gt=0.0)] | None = None
    """Requests per minute each annotator token may make on average (None: no limit);
    beyond it, 429 ``rate_limited`` with ``Retry-After``. Admin tokens are not limited."""
    rate_limit_burst: Annotated[int, Field(ge=1)] = 60
    """Requests a token may make at once before the per-minute rate applies."""
    webhook_max_attempts: Annotated[int, Field(ge=1)] = 6
    """Delivery attempts per webhook event before giving up (each is logged)."""
    webhook_backoff_s: Annotated[float, Field(ge=0.0)] = 2.0
    """Wait before the first retry; doubled after each failed attempt."""
    webhook_timeout_s: Annotated[float, Field(gt=0.0)] = 10.0
    webhook_shutdown_grace_s: Annotated[float, Field(ge=0.0)] = 5.0
    """At shutdown, how long due deliveries may still run; the rest wait in the outbox."""
    target_confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    """A sample is confident (webhook ``sample.confident``) when every judged line's
    posterior is at least this or at most 1 minus this."""
    task_lease_s: Annotated[float, Field(gt=0.0)] | None = 1800.0
    """A task served and not judged (nor skipped) this long gives its slot under
    ``max_annotators_per_sample`` back (None: never); a late judgement is still accepted
    (server/leases.py)."""
    admin_session_ttl_s: Annotated[float, Field(gt=0.0)] = 8 * 3600.0
    """How long an admin page login lasts (see server/admin_page/sessions.py)."""
    machine_confident_humans: Annotated[int, Field(ge=0)] = 1
    """People a sample is served to when its machine annotators' votes alone make every
    judged line confident (``target_confidence``); see task_routing.human_target."""
    machine_disagreement_humans: Annotated[int, Field(ge=0)] = 1
    """Extra people (beyond ``max_annotators_per_sample``) for a sample on one of whose
    lines machine annotators vote both ways."""
    settled_min_annotators: Annotated[int, Field(ge=0)] | None = None
    """Once this many people were served a sample whose expected line accuracy (mean of
    max(P, 1 − P) over its judged lines) is at least ``settled_accuracy``, it is served
    to nobody more (None: every sample goes to ``max_annotators_per_sample``); see
    server/task_routing.py and docs/server.md, *Task routing*."""
    settled_accuracy: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.97
    """The settled stop's bar. Above the 0.95 accuracy target because the engine's
    posteriors run about 2 points over-confident on simulated crowds
    (benchmarks/routing.py)."""
    machine_honeypots: bool = False
    """Whether machine annotators are served honeypots. Off: honeypots are mutants that
    fail the tests, which the ``tests`` checker catches by construction, so honeypot gold
    would flatter it (docs/quality.md, "Honest calibration"); machines' reliabilities are
    then learnt by the refit from agreement with the crowd."""

    @model_validator(mode="after")
    def _window_holds_the_warmup(self) -> Settings:
        if self.warmup_window < self.warmup_honeypots:
            raise ValueError(
                f"warmup_window ({self.warmup_window}) must be at least warmup_honeypots "
                f"({self.warmup_honeypots})"
            )
        return self
