"""A tail-vein injection: a bolus of clusters put into the blood at one time, as in the in vivo assay of
Cheung et al. (PNAS 2016), where the same tumor cells were injected as dispersed single cells or as
aggregates and lung metastases were counted three weeks later.

Injected clusters enter the venous return like shed ones (so they meet the lung first), circulate, arrest
and seed by the same laws; the ledger counts them as ``injected`` (not ``shed``). The primary may be empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pdemet.flux.shedding import Shed


@dataclass
class Injection:
    """``cells`` tumor cells as ``cells // size`` clusters of ``size`` at ``time``; each cluster's clones are
    Multinomial(size, ``fractions``) (an intermixed suspension; equal fractions by default)."""

    time: float = 0.0                  # days
    cells: int = 0                     # cells injected in all (the remainder of cells / size is not injected)
    size: int = 1                      # cells per cluster: 1 = dispersed cells; an aggregate size is an assumption
    fractions: tuple[float, ...] = ()  # clone proportions of the suspension (empty: equal)

    @property
    def clusters(self) -> int:
        return self.cells // self.size

    def due(self, t: float, dt: float) -> bool:
        """The injection happens in the step [t, t + dt)."""
        return t <= self.time < t + dt

    def add(self, shed: Shed, n_clones: int, rng, ledger: dict, per_cluster=None) -> Shed:
        """``shed`` with the injected clusters appended (stochastic engine), counted in the ledger; their
        clones from ``rng``, or with ``per_cluster`` draws from its stream of injected clusters."""
        if per_cluster is None:
            p = np.asarray(self.fractions, float) if self.fractions else np.full(n_clones, 1.0 / n_clones)
            comps, fates = rng.multinomial(self.size, p / p.sum(), size=self.clusters).astype(np.int64), None
        else:
            comps, fates = per_cluster.inject(self, n_clones)
            fates = shed.fates.concat(fates)
        ledger["cells"]["injected"] += float(comps.sum())
        ledger["clusters"]["injected"] += float(len(comps))
        return Shed(shed.removal, np.concatenate([shed.comps, comps]),
                    np.concatenate([shed.times, np.full(len(comps), self.time)]), fates=fates)

    def to_dict(self) -> dict:
        return {"time": self.time, "cells": self.cells, "size": self.size, "fractions": list(self.fractions)}
