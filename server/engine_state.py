"""Engine values learnt by a full refit and kept for the incremental path (``engine_state``).

The default estimator learns the class prior p0 = P(line correct) (``class_prior_``), about
0.7 on simulated crowds where the papers fix it at 1/2. A refit stores it here, and every
later incremental update and own view reads it back, so the posteriors a submission
produces rest on the same p0 as the refit's; replayed crowds gain about a point of line
accuracy and a tenfold smaller calibration error from it (docs/engine.md). A refit with an
estimator that learns no p0 removes the key, so the configured ``EngineConfig.prior``
applies again, as it did in that refit.
"""

from __future__ import annotations

import logging
import math
import sqlite3

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators.base import Estimator

logger = logging.getLogger(__name__)

#: Key of the class prior learnt by the last full refit.
CLASS_PRIOR = "class_prior"


def fitted_class_prior(estimator: Estimator) -> float | None:
    """The estimator's learnt p0, or None when it has none (or one outside (0, 1))."""
    value = getattr(estimator, "class_prior_", None)
    if value is None:
        return None
    prior = float(value)
    return prior if math.isfinite(prior) and 0.0 < prior < 1.0 else None


def store_class_prior(conn: sqlite3.Connection, prior: float | None, now: str) -> None:
    """Persist the refit's p0, or forget the stored one when the refit learnt none."""
    if prior is None:
        conn.execute("DELETE FROM engine_state WHERE key = ?", (CLASS_PRIOR,))
        return
    conn.execute(
        "INSERT INTO engine_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (CLASS_PRIOR, repr(prior), now),
    )
    logger.info("stored class prior p0 = %.4f", prior)


def stored_class_prior(conn: sqlite3.Connection) -> float | None:
    """The p0 the last refit stored, or None when the configured prior applies."""
    row = conn.execute("SELECT value FROM engine_state WHERE key = ?", (CLASS_PRIOR,)).fetchone()
    return None if row is None else float(row[0])


def effective_engine(conn: sqlite3.Connection, engine: EngineConfig) -> EngineConfig:
    """``engine`` with the stored class prior in place of its configured ``prior``, if any."""
    prior = stored_class_prior(conn)
    return engine if prior is None else engine.model_copy(update={"prior": prior})
