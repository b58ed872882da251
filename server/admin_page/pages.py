"""What each view shows, gathered from the service modules (the JSON API's own functions).

One function per view returns the template's variables. Reads run in one snapshot so a view
shows one state of the database; rounds first expire stale leases, as every rounds route does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any

from crlhf_server import adapters, annotators, benchmarks, provenance, quality, rounds, views
from crlhf_server.admin_page import figures, queries
from crlhf_server.auth import Principal
from crlhf_server.consensus import line_consensus
from crlhf_server.deps import Context
from crlhf_server.routers import admin_annotators, admin_catalog

from crlhf.schemas import ReliabilitySnapshot, Role, RoundStatus, TrainingRound

ACTIVITY_DAYS = 14
SUMMARISED_ROUNDS = 20
"""Rounds whose data summary the rounds list computes (each rebuilds the round's data)."""
PLOTTED_ANNOTATORS = 7
CANCELLABLE = frozenset({RoundStatus.REQUESTED, RoundStatus.RUNNING})


def overview(ctx: Context, admin: Principal) -> dict[str, Any]:
    rounds.expire_leases(ctx)
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with ctx.store.snapshot() as conn:
        days = queries.activity(conn, ACTIVITY_DAYS, now)
        accuracy, gold_votes = queries.honeypot_accuracy(conn)
        report = quality.report(conn, ctx.settings)
        listed = rounds.list_rounds(conn, None)
        return {
            "active_today": queries.active_annotators(conn, midnight),
            "active_week": queries.active_annotators(conn, now - timedelta(days=7)),
            "days": days,
            "activity_chart": figures.activity_chart(days),
            "queue": queries.queue(conn, ctx.settings.max_annotators_per_sample),
            "honeypot_accuracy": accuracy,
            "gold_votes": gold_votes,
            "flagged": [r for r in report if r.action != "none" or r.lazy],
            "current": adapters.current_adapter(conn),
            "last_round": listed[0] if listed else None,
            "recent_samples": queries.recent_samples(conn, 10),
        }


def progress_text(found: TrainingRound) -> str:
    """A running round's last report, e.g. ``training 3/10 (kl 0.02)``."""
    p = found.progress
    if p is None:
        return ""
    steps = f" {p.step}/{p.steps}" if p.step is not None and p.steps else ""
    return f"{p.stage}{steps}" + (f" ({p.detail})" if p.detail else "")


def live_rounds(ctx: Context) -> dict[str, Any]:
    """Each round's state and progress, for the page's live refresh (live.js)."""
    rounds.expire_leases(ctx)
    listed = rounds.list_rounds(ctx.store.read(), None)
    return {
        "rounds": {
            str(r.id): {"status": r.status.value, "progress": progress_text(r)} for r in listed
        }
    }


def _summary(ctx: Context, conn: Any, found: TrainingRound) -> dict[str, Any]:
    data = provenance.training_round(conn, ctx.engine, found.id)
    rewards = [s.reward for s in data.samples]
    return {
        "samples": len(rewards),
        "votes": data.n_votes,
        "annotators": len(data.annotators),
        "mean_reward": fmean(rewards) if rewards else None,
        "provenance": data,
        "rewards": rewards,
    }


def rounds_list(ctx: Context, admin: Principal) -> dict[str, Any]:
    rounds.expire_leases(ctx)
    with ctx.store.snapshot() as conn:
        listed = rounds.list_rounds(conn, None)
        results = benchmarks.list_results(conn)
        summaries = {r.id: _summary(ctx, conn, r) for r in listed[:SUMMARISED_ROUNDS]}
    return {
        "rounds": listed,
        "summaries": summaries,
        "charts": figures.pass_at_k_charts(results),
        "cancellable": CANCELLABLE,
    }


def round_detail(ctx: Context, admin: Principal, round_id: int) -> dict[str, Any]:
    rounds.expire_leases(ctx)
    with ctx.store.snapshot() as conn:
        found = rounds.get(conn, round_id)
        results = benchmarks.list_results(conn, round_id=round_id)
        summary = _summary(ctx, conn, found)
    return {
        "round": found,
        "results": results,
        "summary": summary,
        "histogram": figures.reward_histogram(summary["rewards"]),
        "cancellable": found.status in CANCELLABLE,
    }


def _history(ctx: Context, admin: Principal, annotator_id: int) -> list[ReliabilitySnapshot]:
    return admin_annotators.reliability_history(annotator_id, ctx, admin)


def annotators_list(ctx: Context, admin: Principal) -> dict[str, Any]:
    accounts = admin_annotators.list_annotators(ctx, admin)
    with ctx.store.snapshot() as conn:
        report = {r.annotator_id: r for r in quality.report(conn, ctx.settings)}
        agreement = quality.agreement(conn)
        stats = {
            a.id: annotators.stats(conn, ctx.engine, a.id)
            for a in accounts
            if a.role is Role.ANNOTATOR
        }
        actions = quality.actions(conn)
    pairwise = {p.annotator_id: p.agreement for p in agreement.pairwise}
    busiest = sorted(stats.values(), key=lambda s: -s.votes)[:PLOTTED_ANNOTATORS]
    histories = {s.name: _history(ctx, admin, s.annotator_id) for s in busiest if s.votes}
    return {
        "accounts": accounts,
        "report": report,
        "stats": stats,
        "pairwise": pairwise,
        "agreement": agreement,
        "actions": actions[-50:][::-1],
        "names": {a.id: a.name for a in accounts},
        "chart": figures.reliability_chart(histories) if histories else None,
    }


def annotator_detail(ctx: Context, admin: Principal, annotator_id: int) -> dict[str, Any]:
    history = _history(ctx, admin, annotator_id)  # raises AnnotatorNotFound first
    with ctx.store.snapshot() as conn:
        account = annotators.get(conn, annotator_id)
        stats = annotators.stats(conn, ctx.engine, annotator_id)
        verdict = next(
            (r for r in quality.report(conn, ctx.settings) if r.annotator_id == annotator_id),
            None,
        )
        pairwise = {p.annotator_id: p.agreement for p in quality.agreement(conn).pairwise}
        actions = quality.actions(conn, annotator_id)
    return {
        "account": account,
        "stats": stats,
        "verdict": verdict,
        "crowd_agreement": pairwise.get(annotator_id),
        "actions": actions[::-1],
        "history": history,
        "chart": figures.reliability_chart({account.name: history}),
    }


def sample_detail(ctx: Context, admin: Principal, sample_id: str) -> dict[str, Any]:
    found = admin_catalog.get_sample(sample_id, ctx, admin)  # raises SampleNotFound
    with ctx.store.snapshot() as conn:
        consensus = {c.line: c for c in line_consensus(conn, sample_id)}
        votes = queries.line_votes(conn, sample_id)
        now = provenance.sample(conn, ctx.engine, sample_id, datetime.now(UTC).isoformat())
        trained = []
        for r in rounds.list_rounds(conn, None) if not found.is_honeypot else []:
            then = provenance.sample(conn, ctx.engine, sample_id, r.created_at.isoformat())
            if then.reward is not None and then.votes:
                trained.append((r, then.reward))
        gold = queries.gold(conn, sample_id) if found.is_honeypot else {}
        problem = conn.execute(
            "SELECT * FROM problems WHERE id = ?", (found.problem_id,)
        ).fetchone()
    by_line: dict[int, list[queries.LineVote]] = {}
    for vote in votes:
        by_line.setdefault(vote.line, []).append(vote)
    return {
        "sample": found,
        "problem": views.problem(problem) if problem is not None else None,
        "consensus": consensus,
        "by_line": by_line,
        "provenance": now,
        "trained": trained,
        "gold": gold,
    }
