"""The issue's targets against the measured values, and bench.md: one writer per section."""

from __future__ import annotations

import math

from benchmarks import adaptive_section
from benchmarks.continuum_report import continuum_markdown, continuum_target
from benchmarks.newton import newton_ran
from benchmarks.time_error import report_lines as time_error_lines
from benchmarks.pressure import pressure_target, report_lines as pressure_lines


def targets(res: dict) -> list[dict]:
    """Each target, its measured value (text) and whether it is met."""
    t = []
    sv = res["solvers"]
    meas = [c for c in sv if newton_ran(c)]
    worst = min(c["speedup_equal_accuracy"] for c in sv)
    worst_meas = min(c["speedup_equal_accuracy"] for c in meas) if meas else math.nan
    worst_step = min(c["speedup_per_step"] for c in sv)
    t.append({"target": "≥ 20× faster than Newton at equal accuracy", "measured":
              f"{worst:.0f}× (smallest over all cases; {worst_meas:.0f}× over the cases where Newton ran; "
              f"per step ≥ {worst_step:.0f}×)", "met": bool(worst >= 20)})
    big = [c for c in sv if c["dofs_per_clone"] >= 1e5] or [max(sv, key=lambda c: c["dofs_per_clone"])]
    bw = max(c["step_over_K_matmult"] for c in big)
    t.append({"target": "step ≤ 15 × (K × MatMult) (cases ≥ 1e5 dofs)", "measured": f"{bw:.1f}", "met": bool(bw <= 15)})
    pp, pf = res["pypde"], res.get("pypde_fast", {})
    if "speedup_vs_pypde" in pp:
        fast = (f"; {pf['speedup_vs_pypde']:.2f}× at D = {pf['diffusion']:g} mm²/day"
                if "speedup_vs_pypde" in pf else "")
        t.append({"target": "≥ 3× faster than py-pde at equal error (same grid: time error only)",
                  "measured": f"{pp['speedup_vs_pypde']:.2f}× at D = {pp['diffusion']:g} mm²/day (default){fast}",
                  "met": bool(pp["speedup_vs_pypde"] >= 3)})
    else:
        t.append({"target": "≥ 3× faster than py-pde at equal error (same grid: time error only)",
                  "measured": pp.get("skipped", "n/a"), "met": False})
    if "continuum" in res:
        t.append(continuum_target(res["continuum"]))
    par = res["parallel"]
    t.append({"target": "2 ranks ≥ 1.6× faster than 1, same answer", "measured":
              f"{par['speedup']:.2f}×, max rel diff {par['max_rel_diff']:.1e}",
              "met": bool(par["speedup"] >= 1.6 and par["max_rel_diff"] < 1e-10)})
    g = res["growth"]
    t.append({"target": "cost linear in dofs and K (exponent ≤ 1.15)", "measured":
              f"dofs^{g['dofs_exponent']:.2f} per step (dofs^{g['dofs_exponent_largest_two']:.2f} between the two "
              f"largest sizes; per CG iteration dofs^"
              f"{g['dofs_exponent_linear_per_cg_iteration']:.2f}), K^{g['clones_exponent']:.2f}",
              "met": bool(g["dofs_exponent"] <= 1.15 and g["clones_exponent"] <= 1.15)})
    t.append({"target": "memory for 4 clones × 5 organs × 1e6 dofs ≤ 8 GiB", "measured":
              f"{g['memory_4clones_5organs_1e6dofs_gib']:.2f} GiB (extrapolated)",
              "met": bool(g["memory_4clones_5organs_1e6dofs_gib"] <= 8)})
    if "adaptive" in res:
        t += adaptive_section.targets(res["adaptive"])
    if res.get("pressure") is not None:
        t.append(pressure_target(res["pressure"]))
    return t


def markdown(res: dict) -> str:
    """bench.md: machine and targets, the solver tables, py-pde, parallel, cost growth, whole run."""
    lines = [*_header(res), *_solvers(res["solvers"])]
    for key in ("pypde", "pypde_fast"):
        if res.get(key) is not None:
            lines += _pypde(res[key])
    if res.get("time_error") is not None:
        lines += time_error_lines(res["time_error"])
    if res.get("pressure") is not None:
        lines += pressure_lines(res["pressure"])
    if res.get("continuum") is not None:
        lines += continuum_markdown(res["continuum"])
    lines += [*_parallel(res["parallel"]), *_growth(res["growth"]), *_whole_run(res["whole_run"])]
    if "adaptive" in res:
        lines += adaptive_section.markdown(res["adaptive"])
    return "\n".join(lines) + "\n"


def _header(res: dict) -> list[str]:
    m = res["machine"]
    L = [f"# pdemet bench ({'quick' if res['quick'] else 'full'})", "",
         f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']:.0f} GiB; load average at start "
         f"{m['load_average_at_start'][0]:.2f} (1-minute load by section: "
         + ", ".join(f"{v:.1f}" for v in res["load_average_1min"].values())
         + f"); DOLFINx {m['dolfinx']}, PETSc {m['petsc']}. Total bench wall time {res['bench_wall_s']:.0f} s.", "",
         "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in res["targets"]:
        L.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'no'} |")
    return L


def _solvers(cases: list[dict]) -> list[str]:
    L = ["", f"## IMEX vs monolithic Newton (K = 4, t_end = {cases[0]['t_end']} d, "
         f"target relative l2 time error {cases[0]['target_error']:.0e})", "",
         "| case | dofs/clone | IMEX s/step | Newton s/step | per-step speed-up (dt) | IMEX dt* / time | "
         "Newton dt* / time | speed-up at equal accuracy | step/(K·MatMult) at dt 0.25 | Newton |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        it, nt = c["imex_time_to_solution"], c["newton_time_to_solution"]
        imex_step = next(p for p in c["imex"] if p["dt"] == c["per_step_dt"])["step_s"]
        L.append(f"| {c['case']} | {c['dofs_per_clone']} | {imex_step:.3g} | {c['newton'][0]['step_s']:.3g} | "
                 f"{c['speedup_per_step']:.0f}× ({c['per_step_dt']:g} d) | {it['dt']:.3g} d / {it['time_s']:.3g} s | "
                 f"{nt['dt']:.3g} d / {nt['time_s']:.3g} s | {c['speedup_equal_accuracy']:.0f}× | "
                 f"{c['step_over_K_matmult']:.1f} | {c['newton_note']} |")
    for c in cases:
        if "imex_looser_rtol" in c:
            r = c["imex_looser_rtol"]
            L += ["", f"{c['case']} with CG rtol = {r['rtol']:.0e} instead of the default 1e-12 (dt {r['dt']:g} d): "
                  f"{r['step_s']:.3g} s/step, {r['cg_iterations_per_clone_solve']:.1f} CG iterations per clone solve, "
                  f"error {r['error']:.2e}, step/(K·MatMult) {r['step_over_K_matmult']:.1f}."]
    L += ["", "IMEX error, step time and CG iterations per clone solve by dt:", "",
          "| case | dt | IMEX error | s/step | CG its | linear s/step | reaction s/step | Newton error | Newton s/step |",
          "|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        nmap = {p["dt"]: p for p in c["newton"]}
        for p in c["imex"]:
            n = nmap.get(p["dt"], {})
            ne = f"{n['error']:.2e}" if "error" in n else "–"
            ns = f"{n['step_s']:.3g}" if "step_s" in n and not n.get("extrapolated") else "–"
            L.append(f"| {c['case']} | {p['dt']:g} | {p['error']:.2e} | {p['step_s']:.3g} | "
                     f"{p['cg_iterations_per_clone_solve']:.1f} | {p['linear_s_per_step']:.3g} | "
                     f"{p['reaction_s_per_step']:.3g} | {ne} | {ns} |")
    return L


def _pypde(pp: dict) -> list[str]:
    L = ["", "## py-pde" + (f" (D = {pp['diffusion']:g} mm²/day)" if "diffusion" in pp else ""), ""]
    if "skipped" in pp:
        return L + [f"Skipped: {pp['skipped']}"]
    L += [f"Case {pp['case']} ({pp['dofs_per_clone']} dofs/clone, grid {pp['grid']}), t_end {pp['t_end']:g} d, "
          f"one numba thread; explicit RK4 stability limit {pp['stiffness_dt_explicit_limit']:.3g} d; "
          f"target error {pp['target_error']:.0e}; right-hand-side compilation {pp['rhs_compile_s']:.1f} s "
          f"(not counted); smallest py-pde error reached {pp['smallest_pypde_error']:.1e}.", "",
          "| py-pde solver | rtol / dt | wall s | RHS evaluations | error |", "|---|---|---|---|---|"]
    for r in pp["runs"]:
        L.append(f"| {r['solver']} | {r.get('rtol', r.get('dt')):.3g} | {r['time_s']:.3g} | "
                 f"{r.get('rhs_evaluations', r.get('steps', 0) * 4)} | {r['error']:.2e} |")
    L.append("")
    if "speedup_vs_pypde" in pp:
        L.append(f"Time to the target: pdemet {pp['pdemet_time_to_solution_s']:.3g} s, best py-pde "
                 f"({pp['best_pypde_solver']}) {pp['best_pypde_time_s']:.3g} s: pdemet is "
                 f"{pp['speedup_vs_pypde']:.2f}× faster. Unit costs: one py-pde right-hand side "
                 f"(K fields, with solve_ivp's vector work) {pp['rhs_eval_s'] * 1e3:.3g} ms; K MatMults with "
                 f"pdemet's FE matrix {pp['K_matmult_s'] * 1e3:.3g} ms (a CG iteration's matrix work).")
    return L


def _parallel(par: dict) -> list[str]:
    return ["", "## Parallel", "", f"{par['dofs_per_clone']} dofs/clone, K = {par['K']}: "
            f"{par['step_s_1_rank']:.3g} s/step on 1 rank, {par['step_s_2_ranks']:.3g} s/step on 2: "
            f"speed-up {par['speedup']:.2f}×; largest difference {par['max_abs_diff']:.2e} cells/mm³ "
            f"(relative {par['max_rel_diff']:.1e})."]


def _growth(g: dict) -> list[str]:
    L = ["", "## Cost growth", "", "| dofs/clone | K | s/step | CG its/step | linear s/step | reaction s/step | "
         "peak RSS MiB |", "|---|---|---|---|---|---|---|"]
    for r in g["vs_dofs"] + g["vs_clones"]:
        ps = r["per_step"]
        L.append(f"| {r['dofs_per_clone']} | {r['K']} | {r['step_s']:.3g} | {ps['linear_iterations']:.0f} | "
                 f"{ps['linear_s']:.3g} | {ps['reaction_s']:.3g} | {r['peak_rss_mib']:.0f} |")
    L += ["", f"Step time ∝ dofs^{g['dofs_exponent']:.2f} (dofs^{g['dofs_exponent_largest_two']:.2f} between the two "
          f"largest sizes; CG iterations per clone solve "
          + ", ".join(f"{x:.1f}" for x in g["cg_iterations_per_clone_solve"])
          + f"; linear time per CG iteration ∝ dofs^{g['dofs_exponent_linear_per_cg_iteration']:.2f}, reactions ∝ "
          f"dofs^{g['dofs_exponent_reaction']:.2f}) and ∝ K^{g['clones_exponent']:.2f}; memory above the "
          f"{g['baseline_peak_rss_mib']:.0f} MiB baseline ∝ dofs^{g['memory_dofs_exponent']:.2f}, "
          f"∝ K^{g['memory_clones_exponent']:.2f}. Five organs at K = 4: "
          + ", ".join(f"{r['total_dofs_per_clone']} dofs → {r['peak_rss_mib']:.0f} MiB" for r in g["five_organs"])
          + f"; {g['memory_kib_per_dof_K4']:.2f} KiB per dof: 4 clones × 5 organs × 10⁶ dofs ≈ "
          f"{g['memory_4clones_5organs_1e6dofs_gib']:.2f} GiB."]
    return L


def _whole_run(w: dict) -> list[str]:
    return ["", "## Whole run", "", f"{w['scenario']}: {w['wall_s']:.2f} s wall, {w['steps']['accepted']} steps; "
            + ", ".join(f"{k} {v:.2f} s" for k, v in w["timers_s"].items())
            + f" (solve = linear {w['linear_s']:.2f} s + reaction {w['reaction_s']:.2f} s + checks); "
            f"other {w['other_s']:.2f} s."]
