"""The Hugging Face export: same rows as the JSONL, clear error without the extra."""

from __future__ import annotations

import sys

import pytest

from crlhf.errors import MissingDependency
from crlhf.hf_export import save_hf_dataset
from crlhf.schemas import ExportPosterior, ExportRow, GenerationMeta


def row(sample_id: str, reward: float) -> ExportRow:
    return ExportRow(
        sample_id=sample_id,
        problem_id="p-1",
        problem_title="Add",
        prompt="Add two numbers.",
        code="def add(a, b):\n    return a + b\n",
        reward=reward,
        correct_lines=2,
        judged_lines=2,
        n_votes=4,
        n_annotators=2,
        meta=GenerationMeta(model="tiny", round=1, response_token_ids=[5, 6]),
        line_posteriors=[ExportPosterior(line=n, posterior=reward) for n in (1, 2)],
    )


def test_saved_dataset_loads_back_with_the_same_rows(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [row("s-1", 1.0), row("s-2", 0.5)]
    assert save_hf_dataset(rows, tmp_path / "hf") == 2
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert loaded.to_list() == [r.model_dump(mode="json") for r in rows]


def test_missing_datasets_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(MissingDependency, match=r"pip install 'crlhf\[hf\]'"):
        save_hf_dataset([row("s-1", 1.0)], tmp_path / "hf")
