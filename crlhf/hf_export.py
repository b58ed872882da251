"""The (x, y, s) data set as a Hugging Face ``datasets`` dataset on disk.

``datasets`` is heavy (pyarrow, pandas) and only admins exporting need it, so it is
imported here, lazily, behind the ``hf`` extra. The dataset's rows are exactly the
export's JSONL rows, so both files describe the same data set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from crlhf.errors import MissingDependency
from crlhf.schemas import ExportRow

logger = logging.getLogger(__name__)


def save_hf_dataset(rows: Sequence[ExportRow], directory: Path) -> int:
    """Write ``rows`` with ``Dataset.from_list(...).save_to_disk(directory)``; return the count.

    Load it back with ``datasets.load_from_disk(directory)``.
    """
    try:
        from datasets import Dataset
        from datasets.utils import (
            are_progress_bars_disabled,
            disable_progress_bars,
            enable_progress_bars,
        )
    except ImportError as exc:
        raise MissingDependency(
            "the Hugging Face export needs the 'datasets' package: pip install 'crlhf[hf]'"
        ) from exc
    records = [row.model_dump(mode="json") for row in rows]
    dataset = Dataset.from_list(records)
    bars_were_off = are_progress_bars_disabled()
    disable_progress_bars()  # a progress bar per shard would bury the command's one line
    try:
        dataset.save_to_disk(str(directory))
    finally:
        if not bars_were_off:
            enable_progress_bars()
    logger.debug("saved %d rows as a Hugging Face dataset in %s", len(records), directory)
    return len(records)
