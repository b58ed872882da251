"""Reliability estimators: crowd votes (+ honeypot gold) → annotator reliabilities, line posteriors.

Every estimator follows one contract (:class:`~crlhf.engine.estimators.base.Estimator`):
configuration in constructor fields, ``fit(votes)`` returns self, results in ``reliability_``
and ``posterior_``. :data:`ESTIMATORS` names them for settings files and benchmarks;
:func:`make_estimator` builds one by name with checked options.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from crlhf.engine.estimators.base import Estimator, TwoCoinEstimator
from crlhf.engine.estimators.beta import BetaReliability, BetaTwoCoin
from crlhf.engine.estimators.em import EMOneCoin, EMTwoCoin
from crlhf.engine.estimators.em_auto import EMAuto
from crlhf.engine.estimators.majority import MajorityVote
from crlhf.engine.estimators.paper import PaperOnline
from crlhf.engine.estimators.sparse_logreg import SparseLogReg
from crlhf.errors import InvalidInput

ESTIMATORS: dict[str, type[Estimator]] = {
    "majority": MajorityVote,
    "paper": PaperOnline,
    "sparse-logreg": SparseLogReg,
    "beta": BetaReliability,
    "beta-two-coin": BetaTwoCoin,
    "em-one-coin": EMOneCoin,
    "em-two-coin": EMTwoCoin,
    "em-auto": EMAuto,
}


def make_estimator(name: str, **config: Any) -> Estimator:
    """Build the estimator registered as ``name`` with constructor options ``config``.

    Raises :class:`~crlhf.errors.InvalidInput` for an unknown name or option, and the
    estimator's own typed error for an option value it rejects.
    """
    try:
        cls = ESTIMATORS[name]
    except KeyError:
        known = ", ".join(sorted(ESTIMATORS))
        raise InvalidInput(
            f"unknown estimator {name!r}; known: {known}", field="estimator"
        ) from None
    options: set[str] = (
        {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    )
    unknown = sorted(set(config) - options)
    if unknown:
        raise InvalidInput(
            f"estimator {name!r} has no option(s) {', '.join(unknown)}; "
            f"options: {', '.join(sorted(options)) or 'none'}",
            field="estimator_options",
        )
    return cls(**config)


__all__ = [
    "ESTIMATORS",
    "BetaReliability",
    "BetaTwoCoin",
    "EMAuto",
    "EMOneCoin",
    "EMTwoCoin",
    "Estimator",
    "MajorityVote",
    "PaperOnline",
    "SparseLogReg",
    "TwoCoinEstimator",
    "make_estimator",
]
