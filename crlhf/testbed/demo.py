"""``crlhf demo``: Algorithm 1 end to end through the real server, crowd API and worker.

The steps, each with a progress bar:

1. a base model pretrained from scratch on the testbed corpus (kept in ``workdir/base``
   and reused by later runs with the same settings);
2. ``crlhf serve`` on ``workdir/crlhf.db`` and a free port, without the newcomer starter
   set (only testbed samples are routed) and with the per-sample cap set to the crowd's
   overlap;
3. the testbed problems, honeypots (corpus bodies with their line truth as gold) and the
   simulated annotators (:mod:`crlhf.testbed.annotators`), each with its own token;
4. round-0 samples of the base model on the training problems, pushed to the server, and
   the base model's held-out benchmark, posted as the baseline (round None);
5. ``crlhf worker`` as a child process; then per round: the crowd annotates everything
   pending, a round is requested, the worker trains, samples the next training set with
   the new adapter and benchmarks it, and the demo follows the round's progress;
6. a table of held-out pass@1 and reward per round, and a PNG of pass@1 per round.

Every number in the table comes back through the API (the round's metrics and benchmark
results), as an admin would read it. The settings live in :class:`DemoConfig`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import asdict
from pathlib import Path

from crlhf.errors import InvalidInput, TrainingFailed
from crlhf.schemas import RoundStatus, TrainingRound, TrainingRoundIn
from crlhf.testbed.annotators import annotate_all, line_truth_lookup
from crlhf.testbed.demo_config import HELDOUT_SUITE, TRAIN_SUITE, DemoConfig
from crlhf.testbed.demo_report import RoundRecord, plot_pass1, render_rounds
from crlhf.testbed.demo_setup import (
    SERVER_START_TIMEOUT_S,
    Demo,
    Say,
    clear_run,
    prepare_base,
    round_zero,
    set_threads,
    setup_server,
    start_worker,
    suite_problems,
)
from crlhf.testbed.processes import start_server

POLL_S = 0.5


async def annotate(demo: Demo, number: int) -> tuple[int, float | None]:
    """The crowd works until no task is left; returns (submissions, true line share of the
    ordinary samples judged), the share being what a perfect crowd's reward would be."""
    before = {a.name: set(a.log.truth) for a in demo.crowd}
    started = time.perf_counter()
    done = await annotate_all(demo.url, demo.crowd, line_truth_lookup())
    shares: dict[str, float] = {}
    for annotator in demo.crowd:
        for sample_id, truth in annotator.log.truth.items():
            if sample_id not in before[annotator.name] and not sample_id.startswith("honeypot:"):
                shares[sample_id] = sum(truth) / len(truth)
    paused = [a.name for a in demo.crowd if a.log.paused]
    demo.say(
        f"round {number}: the crowd submitted {done} judgements on {len(shares)} samples in "
        f"{time.perf_counter() - started:.0f} s"
        + (f" (paused by the server's quality policy: {', '.join(paused)})" if paused else "")
    )
    return done, (sum(shares.values()) / len(shares) if shares else None)


def _worker_gone(demo: Demo) -> None:
    status = None if demo.worker is None else demo.worker.exited()
    if status is not None and demo.worker is not None:
        raise TrainingFailed(
            f"crlhf worker exited with {status} during the round; its log "
            f"({demo.worker.log_path}) ends with:\n{demo.worker.log_tail()}"
        )


async def follow_round(demo: Demo, round_id: int, number: int) -> TrainingRound:
    """Poll the round until it ends, with a bar per stage of the worker's progress."""
    from tqdm import tqdm

    final = {RoundStatus.SUCCEEDED, RoundStatus.FAILED, RoundStatus.CANCELLED}
    stage: str | None = None
    with tqdm(desc=f"round {number}", disable=not demo.progress, leave=False) as bar:
        async with demo.client() as admin:
            while True:
                current = await admin.get_round(round_id)
                if current.status in final:
                    return current
                _worker_gone(demo)
                progress = current.progress
                if progress is not None:
                    if progress.stage != stage:
                        stage = progress.stage
                        bar.reset(total=progress.steps)
                        bar.set_description(f"round {number}: {stage}")
                    elif progress.steps != bar.total:
                        bar.total = progress.steps
                    bar.n = progress.step or 0
                    bar.set_postfix_str(progress.detail or "", refresh=False)
                    bar.refresh()
                await asyncio.sleep(POLL_S)


async def training_round(demo: Demo, number: int) -> RoundRecord:
    started = time.perf_counter()
    submissions, true_share = await annotate(demo, number)
    async with demo.client() as admin:
        requested = await admin.create_round(TrainingRoundIn(note=f"crlhf demo, round {number}"))
    finished = await follow_round(demo, requested.id, number)
    if finished.status is not RoundStatus.SUCCEEDED:
        raise TrainingFailed(
            f"round {number} (server round {finished.id}) {finished.status.value}: "
            f"{finished.message or 'no reason given'} (worker log: {demo.workdir / 'worker.log'})"
        )
    results = [b for b in finished.benchmarks or [] if b.suite == HELDOUT_SUITE]
    pass1 = results[-1].pass_at_k.get(1) if results else None
    metrics = finished.metrics
    record = RoundRecord(
        round=number,
        round_id=finished.id,
        adapter_version=finished.adapter_version,
        pass1=pass1,
        submissions=submissions,
        true_share=true_share,
        reward_mean=_number(metrics.get("score_mean")),
        kl_ref=_number(metrics.get("kl_ref")),
        seconds=time.perf_counter() - started,
    )
    shown = "not measured" if pass1 is None else f"{100 * pass1:.1f}%"
    demo.say(
        f"round {number}: {finished.adapter_version} trained (crowd reward "
        f"{record.reward_mean if record.reward_mean is not None else float('nan'):.3f}); "
        f"held-out pass@1 {shown}"
    )
    return record


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def run_demo(
    config: DemoConfig,
    workdir: Path,
    *,
    base_model: Path | None = None,
    reset: bool = False,
    progress: bool = True,
    say: Say,
) -> list[RoundRecord]:
    """The whole demo; the children are stopped on the way out, error or Ctrl-C alike."""
    workdir.mkdir(parents=True, exist_ok=True)
    if reset:
        clear_run(workdir)
    elif (workdir / "crlhf.db").exists():
        raise InvalidInput(
            f"{workdir} holds an earlier run's database; pass --reset to start over "
            "(the base model is kept) or choose another --workdir",
            field="workdir",
        )
    train = suite_problems(TRAIN_SUITE, config.train_problems)
    heldout = suite_problems(HELDOUT_SUITE, config.heldout_problems)
    set_threads(config)
    base = base_model or prepare_base(config, workdir, progress=progress, say=say)
    demo = Demo(config, workdir, say, progress, token=secrets.token_urlsafe(32))
    token_file = workdir / "admin_token"
    token_file.write_text(demo.token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    try:
        demo.server, demo.url = start_server(
            workdir / "crlhf.db",
            workdir / "server.log",
            admin_token=demo.token,
            settings={"seed": "false", "max_annotators_per_sample": str(config.overlap)},
            timeout=SERVER_START_TIMEOUT_S,
        )
        say(f"server: {demo.url} on {workdir / 'crlhf.db'}")
        asyncio.run(setup_server(demo, train))
        demo.records.append(round_zero(demo, base, train, heldout))
        demo.worker = start_worker(demo, base)
        for number in range(1, config.rounds + 1):
            demo.records.append(asyncio.run(training_round(demo, number)))
    except KeyboardInterrupt:
        say("interrupted: stopping the worker (it marks a running round failed) and the server")
        raise
    finally:
        demo.stop()
        _save(demo)
    _finish(demo, base)
    return demo.records


def _save(demo: Demo) -> None:
    """``demo.json``: the records and what each annotator did (also after a failure)."""
    crowd = [
        {
            "name": a.name,
            "annotator_id": a.annotator_id,
            "reliability": a.reliability,
            "submissions": a.log.submissions,
            "votes": a.log.votes,
            "right_votes": a.log.right_votes,
            "paused": a.log.paused,
        }
        for a in demo.crowd
    ]
    body = {
        "config": asdict(demo.config),
        "rounds": [asdict(r) for r in demo.records],
        "crowd": crowd,
    }
    (demo.workdir / "demo.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    with (demo.workdir / "crowd_votes.jsonl").open("w", encoding="utf-8") as handle:
        for annotator in demo.crowd:
            for sample_id, labels in annotator.log.sent.items():
                row = {"annotator_id": annotator.annotator_id, "sample_id": sample_id}
                row["labels"] = {str(line): int(label) for line, label in labels.items()}
                handle.write(json.dumps(row) + "\n")


def _finish(demo: Demo, base: Path) -> None:
    plot = plot_pass1(demo.records, HELDOUT_SUITE, demo.workdir / "demo_pass1.png")
    demo.say("\n" + render_rounds(demo.records))
    workdir = demo.workdir
    demo.say(
        "\n".join(
            [
                f"base model   {base}",
                f"database     {workdir / 'crlhf.db'} (admin token in {workdir / 'admin_token'})",
                f"adapters     {demo.adapters}",
                f"plot         {plot}",
                f"records      {workdir / 'demo.json'}",
                f"logs         {workdir / 'server.log'}, {workdir / 'worker.log'}",
            ]
        )
    )
