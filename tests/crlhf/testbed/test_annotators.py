"""Simulated annotators against a real ``crlhf serve``: votes, honeypots, pauses."""

from __future__ import annotations

import asyncio

import pytest

from crlhf.client import CrlhfClient
from crlhf.schemas import Label, SampleIn
from crlhf.testbed.annotators import (
    annotate_all,
    create_crowd,
    honeypot_samples,
    line_truth_lookup,
)
from crlhf.testbed.crowd import CrowdSpec
from crlhf.testbed.problems import make_corpus, split_instances
from tests.conftest import ADMIN_TOKEN

TRAIN, _ = split_instances()


def test_honeypot_gold_is_the_line_truth() -> None:
    documents = make_corpus(TRAIN[:10], copies=2, bug_rate=1.0, seed=3)
    samples = honeypot_samples(documents)
    assert len({s.id for s in samples}) == len(samples) == 20
    for sample, document in zip(samples, documents, strict=True):
        truth = document.instance.line_truth(document.body)
        assert sample.gold is not None
        assert [sample.gold[line] == Label.CORRECT for line in sorted(sample.gold)] == truth
    # bug_rate=1 plants a bug in every body: every honeypot has a wrong line to catch.
    assert all(Label.WRONG in s.gold.values() for s in samples if s.gold is not None)


def _ordinary(count: int) -> list[SampleIn]:
    documents = make_corpus(TRAIN[:count], copies=1, bug_rate=0.0, slot_bug_rate=0.3, seed=1)
    return [
        SampleIn(id=f"plain:{i}", problem_id=d.instance.task_id, code=d.body)
        for i, d in enumerate(documents)
    ]


async def _setup(url: str, samples: list[SampleIn]) -> None:
    async with CrlhfClient(url, ADMIN_TOKEN) as admin:
        await admin.import_problems([i.to_bench().to_problem_in() for i in TRAIN[:40]])
        await admin.import_samples(samples)


@pytest.mark.e2e
def test_votes_are_right_at_each_annotators_rate_and_stored_as_sent(
    live_server_factory,
) -> None:
    server = live_server_factory(
        env={
            "CRLHF_SEED": "false",
            "CRLHF_AUTO_PAUSE": "false",
            "CRLHF_MAX_ANNOTATORS_PER_SAMPLE": "3",
        }
    )
    samples = _ordinary(40)
    truth = line_truth_lookup()

    async def scenario() -> tuple[list, dict[str, dict[tuple[int, int], Label]]]:
        await _setup(server.url, samples)
        async with CrlhfClient(server.url, ADMIN_TOKEN) as admin:
            crowd = await create_crowd(admin, CrowdSpec(reliabilities=(1.0, 0.7, 0.3)), seed=5)
            submitted = await annotate_all(server.url, crowd, truth, tasks_per_call=7)
            assert submitted == 3 * len(samples)
            stored = {}
            for sample in samples:
                provenance = await admin.sample_provenance(str(sample.id))
                stored[str(sample.id)] = {
                    (v.annotator_id, v.line): v.label for v in provenance.votes
                }
            return crowd, stored

    crowd, stored = asyncio.run(scenario())
    lines = sum(len(truth(s.problem_id, s.code)) for s in samples)
    for annotator, expected in zip(crowd, (1.0, 0.7, 0.3), strict=True):
        log = annotator.log
        # Every sample once (overlap 3 = everyone), every judged line voted on.
        assert log.submissions == len(samples) and log.votes == lines
        rate = log.right_votes / log.votes
        # About 180 lines: one standard error of the rate is at most 0.035.
        assert abs(rate - expected) < 0.11, (annotator.name, rate)
        for sample_id, labels in log.sent.items():
            true = log.truth[sample_id]
            assert len(labels) == len(true)
            for line, label in labels.items():
                assert stored[sample_id][(annotator.annotator_id, line)] == label
    perfect = crowd[0].log
    for sample_id, labels in perfect.sent.items():
        assert [label == Label.CORRECT for label in labels.values()] == perfect.truth[sample_id]


@pytest.mark.e2e
def test_honeypot_truth_calibrates_and_a_contrarian_is_paused(live_server_factory) -> None:
    server = live_server_factory(
        env={
            "CRLHF_SEED": "false",
            "CRLHF_WARMUP_HONEYPOTS": "4",
            # Honeypots first, and beside their references: the calibration measured here
            # needs every gold line the crowd can give (the defaults hide honeypots better).
            "CRLHF_WARMUP_WINDOW": "4",
            "CRLHF_HONEYPOT_VARIANT_LINES": "0",
            "CRLHF_PAUSE_MIN_GOLD_LINES": "10",
            "CRLHF_PAUSE_MIN_GOLD_WRONG": "2",
            "CRLHF_POLICY_MIN_INTERVAL_S": "0",
        }
    )
    honeypots = honeypot_samples(make_corpus(TRAIN[:8], copies=1, bug_rate=1.0, seed=2))
    samples = [*_ordinary(12), *honeypots]

    async def scenario() -> tuple[list, dict[str, float]]:
        await _setup(server.url, samples)
        async with CrlhfClient(server.url, ADMIN_TOKEN) as admin:
            crowd = await create_crowd(
                admin, CrowdSpec(reliabilities=(1.0, 0.0), overlap=2), seed=0
            )
            await annotate_all(server.url, crowd, line_truth_lookup(), tasks_per_call=2)
            quality = await admin.quality_annotators()
            return crowd, {q.name: q.balanced_accuracy for q in quality}

    crowd, accuracy = asyncio.run(scenario())
    honest, contrarian = crowd
    # The honeypots' gold is the line truth the annotators vote from: the server measures
    # the always-right annotator near 1 and the always-wrong one below a coin's 1/2 (Beta
    # posterior means, shrunk toward the prior: the contrarian is paused after few lines).
    assert accuracy[honest.name] > 0.85
    assert accuracy[contrarian.name] < 0.5
    assert honest.log.paused is None
    assert contrarian.log.paused is not None
    assert contrarian.log.submissions < honest.log.submissions
