"""Cost and memory growth: step time and peak RSS against dofs (K = 4) and against K, one worker
subprocess per point, their fitted exponents, and the memory of 4 clones × 5 organs × 10⁶ dofs."""

from __future__ import annotations

import numpy as np

from benchmarks.common import power_fit
from benchmarks.worker import run_worker

BOX = [4.0, 4.0, 4.0]
KEYS = ("dofs_per_clone", "K", "step_s", "peak_rss_mib", "per_step")


def growth(cells_list, K_values, K_cells, memory_cells, dt=0.25, steps=5, repeats=2) -> dict:
    """Step time and peak RSS against dofs (K = 4) and K, one subprocess per point; the memory of
    5 organs × K = 4 measured at memory_cells and extrapolated linearly in the total dofs to 5 × 10⁶."""
    base = run_worker({"organ": {"box": BOX, "cells": [1, 1, 1]}, "K": 1, "dt": dt, "steps": 1})
    rows = [_point(n, 4, dt, steps, repeats) for n in cells_list]
    krows = [_point(K_cells, K, dt, steps, repeats) for K in K_values]
    _share_K4_point(rows, krows)
    mrows = [_five_organs(n, dt) for n in memory_cells]
    return {"dt": dt, "baseline_peak_rss_mib": base["peak_rss_mib"], "vs_dofs": rows, "vs_clones": krows,
            "five_organs": mrows, **_fits(rows, krows, mrows, K_values, base["peak_rss_mib"])}


def _point(cells, K, dt, steps, repeats) -> dict:
    """The fastest of ``repeats`` runs (interference from other processes only slows down); the largest RSS."""
    runs = [run_worker({"organ": {"box": BOX, "cells": [cells] * 3}, "K": K, "dt": dt, "steps": steps})
            for _ in range(repeats)]
    best = min(runs, key=lambda r: r["step_s"])
    return {**{k: best[k] for k in KEYS}, "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "all_step_s": [r["step_s"] for r in runs]}


def _share_K4_point(rows, krows) -> None:
    """The K = 4 point of the clone series is also a point of the dofs series: keep the faster of the two
    measurements in both (on a shared VM a slow outlier is interference, never the code)."""
    for r in rows:
        for kr in krows:
            if kr["K"] == 4 and kr["dofs_per_clone"] == r["dofs_per_clone"]:
                best = min(r, kr, key=lambda x: x["step_s"])
                r.update(best), kr.update(best)


def _five_organs(cells, dt) -> dict:
    """Peak RSS of 5 identical organs of cells³ boxes at K = 4."""
    r = run_worker({"organ": {"box": BOX, "cells": [cells] * 3}, "K": 4, "dt": dt, "steps": 2, "organs": 5})
    return {"organs": 5, "dofs_per_clone_per_organ": r["dofs_per_clone"],
            "total_dofs_per_clone": 5 * r["dofs_per_clone"], "K": 4, "peak_rss_mib": r["peak_rss_mib"]}


def _fits(rows, krows, mrows, K_values, base_mib) -> dict:
    """Exponents of step time, its parts and memory above the baseline; the memory extrapolation."""
    dofs = [r["dofs_per_clone"] for r in rows]
    extra = [max(r["peak_rss_mib"] - base_mib, 1e-3) for r in rows]
    kextra = [max(r["peak_rss_mib"] - base_mib, 1e-3) for r in krows]
    slope, icpt = np.polyfit([r["total_dofs_per_clone"] for r in mrows], [r["peak_rss_mib"] for r in mrows], 1)
    return {"dofs_exponent": power_fit(dofs, [r["step_s"] for r in rows])[0],
            # between the two largest sizes: on 2-core EPYC VMs here the largest step's working set (CSR matrix
            # ~21 MB + dense blocks) outgrows the 32 MB L3 and the next one does not, so this shows the cache step
            "dofs_exponent_largest_two": power_fit(dofs[-2:], [r["step_s"] for r in rows[-2:]])[0],
            # the step's CG iterations grow with dt·D/h² (Jacobi-CG: ~ its square root); per iteration:
            "dofs_exponent_linear_per_cg_iteration": power_fit(
                dofs, [r["per_step"]["linear_s"] / max(r["per_step"]["linear_iterations"], 1) for r in rows])[0],
            "dofs_exponent_reaction": power_fit(dofs, [r["per_step"]["reaction_s"] for r in rows])[0],
            "cg_iterations_per_clone_solve": [r["per_step"]["linear_iterations"] / r["K"] for r in rows],
            "clones_exponent": power_fit(K_values, [r["step_s"] for r in krows])[0],
            "memory_dofs_exponent": power_fit(dofs, extra)[0],
            "memory_clones_exponent": power_fit(K_values, kextra)[0],
            "memory_kib_per_dof_K4": float(slope) * 1024,
            "memory_4clones_5organs_1e6dofs_gib": float(icpt + slope * 5e6) / 1024}
