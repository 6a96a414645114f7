"""Adaptive resolution during a run (the :class:`~pdemet.simulation.Simulation` methods for it).

Every organ with ``[organs.NAME.adapt]`` on is refined around its tumor and the founders waiting there
(:mod:`pdemet.adaptive`, on rank 0) when the run starts and every ``every`` days; when its mesh changed, its
fields move to the new mesh exactly and its organ, node data and solver are rebuilt on it. The time goes to
``timers["adapt"]``, split into the ``adapt.*`` timers (:data:`pdemet.simulation.TIMERS`).
"""

from __future__ import annotations

import contextlib
import time as _time

import numpy as np

from pdemet.adaptive import OrganRefinement
from pdemet.meshes.adapt import Targets
from pdemet.organ import Organ, mesh_from_arrays
from pdemet.resources import give_back_freed_memory


class AdaptiveResolution:
    """Mixed into Simulation: ``refinements`` (rank 0's OrganRefinement per adaptive organ, None on other
    ranks), ``adapt_next`` (days), :meth:`adapt`."""

    def _start_refinement(self, name: str) -> None:
        """Refine around the initial tumor until its edge is resolved (the initial condition is set anew on
        every finer mesh, so it is sharp, not interpolated)."""
        cfg = self.scenario.organs[name].adapt
        with self._timed("adapt"), self._timed("adapt.refine"):
            self.refinements[name] = OrganRefinement(cfg, *self.base_meshes[name]) if self.comm.rank == 0 else None
        with self._timed("adapt"):
            self._remesh(name, None)
        for _ in range(cfg.max_levels + 1):
            if not self.adapt(name, initial=True):
                break
        self.adapt_next[name] = cfg.every

    def adapt(self, name: str, initial: bool = False) -> bool:
        """Refine organ ``name`` around its tumor and the founders waiting there, then place them; True if
        its mesh changed. Collective. Its time is ``timers["adapt"]``, split into the ``adapt.*`` timers."""
        with self._timed("adapt"):
            changed, values = self._refine(name, initial)
            if changed:
                self._remesh(name, values, initial)
                give_back_freed_memory()
            if getattr(self, "coupling", None) is not None:
                with self._timed("adapt.seed"):
                    self.coupling.place_pending(name)
        return changed

    def _refine(self, name: str, initial: bool):
        """(mesh changed, the fields on the new mesh (K, N) on rank 0 or None). Collective; the refinement and
        the transfer run on rank 0."""
        organ, ref = self.organs[name], self.refinements[name]
        extra = getattr(self, "coupling", None) and self.coupling.pending_targets(name)
        changed, values = False, None
        with self._timed("adapt.refine"):  # rank 0 (the other ranks wait at the broadcast)
            g, nodes = self.gatherer(name), self.nodes(name)
            u = [g.gather(c) for c in organ.clones]
            if self.solvers.get(name) is not None:
                self.solvers[name].release_caches()  # the refinement's temporaries take their place
            if ref is not None:
                targets = ref.tumor_targets(sum(u), nodes, organ.capacity)
                if extra is not None:
                    targets = Targets(np.concatenate([targets.points, extra.points]),
                                      np.concatenate([targets.radius, extra.radius + ref.cfg.fine_zone]))
                old = {**ref.mesh_state(), "masses": nodes.weights}
                changed = ref.refine(targets)
            changed = self.comm.bcast(changed, root=0)
        if changed and ref is not None and not initial:
            with self._timed("adapt.transfer"):
                values = ref.transfer(old, np.array(u))
        return changed, values

    def _remesh(self, name: str, values, initial: bool = True) -> None:
        """Rebuild organ ``name`` on its refinement's current mesh; its fields are ``values`` (K, N) from
        rank 0, or the initial condition. Solver, node data and gatherer follow the new mesh; those of the old
        mesh are let go first, so that two meshes of the organ are never held at once."""
        ref = self.refinements[name]
        stats = self._release(name)
        with self._timed("adapt.mesh"):
            mesh = mesh_from_arrays(self.comm, *((ref.points, ref.tets) if ref is not None else (None, None)))
        with self._timed("adapt.organ"):
            organ = Organ(self.scenario.organs[name], self.clone_names, self.comm, mesh=mesh)
            self.organs[name] = organ
        with self._timed("adapt.nodes"):
            g = self.gatherer(name)
            self.nodes(name)
        with self._timed("adapt.transfer"):
            if values is None and initial:
                organ.set_initial()
            else:
                values = self.comm.bcast(values, root=0)
                for clone, v in zip(organ.clones, values):
                    g.set_from_nodes(clone, v)
        if stats is not None:
            with self._timed("adapt.solver"):
                self.solvers[name] = self._solver(name)
                for key, value in stats.items():
                    self.solvers[name].stats[key] = self.solvers[name].stats.get(key, 0) + value

    def _release(self, name: str) -> dict | None:
        """Let go of organ ``name``'s mesh, fields, solver and node data (their places in the dicts are kept,
        so is the order of the organs); returns its solver's counters (None if it has no solver yet)."""
        self._gatherers.pop(name, None)
        self._nodes.pop(name, None)
        solver = self.solvers.get(name)
        if solver is not None:
            self.solvers[name] = None
        self.organs[name] = None
        return dict(solver.stats) if solver is not None else None

    @contextlib.contextmanager
    def _timed(self, key: str):
        """Adds the wall time of the block to ``timers[key]``."""
        t0 = _time.perf_counter()
        try:
            yield
        finally:
            self.timers[key] = self.timers.get(key, 0.0) + _time.perf_counter() - t0

