"""Cluster flux: exact bookkeeping, polyclonality statistics, clearance, routing, modes, determinism."""

import csv
import math

import numpy as np
import pytest

from pdemet.flux.circulation import Hazards, MeanFieldCirculation, StochasticCirculation
from pdemet.flux.config import Circulation, ClusterFluxConfig, SiteRouting, SizeDistribution
from pdemet.flux.laws import PowerArrest, PowerClearance
from pdemet.flux.ledger import new_ledger
from pdemet.flux.shedding import Shed, take_clusters
from pdemet.output.seeding import export_csv
from pdemet.simulation import Simulation

from conftest import run_cli


def flux_scenario(mode="stochastic", growth=True, mixing="intermixed", size=None, t_end=2.0, seed=5, K=4,
                  draws="per_cluster"):
    tissue = {"box": [3.0, 3.0, 1.5], "cells": [6, 6, 3]}
    primary = dict(tissue, role="primary", diffusion=0.01,
                   initial={"shape": "ball", "center": [1.5, 1.5, 0.75], "radius": 1.0, "density": 5.0e5,
                            "mixing": mixing})
    lung = dict(tissue, role="site", first_pass=True, arrest_probability=0.01, arrest_size_exponent=1.5)
    liver = dict(tissue, role="site", blood_flow_fraction=0.25, arrest_probability=0.02, vascular_contrast=2.0)
    for organ in (primary, lung, liver):
        organ["terms"] = ["diffusion", "logistic"] if growth else ["diffusion"]
        if growth:
            organ["growth_rate"] = 0.2
    flux = {"mode": mode, "shedding_rate": 0.02, "shedding_weight": "uniform",
            "survival": {"single": 0.01, "exponent": 2.0}, **({"draws": draws} if draws != "per_cluster" else {})}
    if size:
        flux["sizes"] = {"kind": "fixed", "size": size, "max_size": max(size, 2)}
    return {
        "simulation": {"t_end": t_end, "dt": 0.25, "output_every": 1.0, "seed": seed},
        "clones": {"names": ["red", "green", "blue", "yellow"][:K]},
        "organs": {"primary": primary, "lung": lung, "liver": liver},
        "cluster_flux": flux,
    }


def initial_cells(sim):
    return sum(sim.total_cells(o) for o in sim.organs)


@pytest.mark.parametrize("mode, draws", [("stochastic", "per_step"), ("stochastic", "per_cluster"),
                                         ("mean_field", "per_step")])
def test_every_cell_is_accounted_for(mode, draws):
    data = flux_scenario(mode=mode, growth=False, t_end=3.0, draws=draws)
    data["cluster_flux"]["circulation"] = {"dissociation_rate": 3000.0}  # singles formed in the blood too
    sim = Simulation.from_dict(data)
    before = initial_cells(sim)
    sim.run()
    after = sim.coupling.body_cells()
    c = sim.coupling.ledger["cells"]
    print(f"{mode}: body cells {before:.10g} -> {after:.10g}; ledger {c}")
    assert c["shed"] > 1000 and sim.coupling.ledger["clusters"]["formed_by_dissociation"] > 100
    assert abs(after - before) / before < 1e-9
    assert c["shed"] == pytest.approx(c["circulating"] + c["cleared_in_circulation"] + c["killed_in_circulation"]
                                      + c["arrested"], rel=1e-12)
    assert c["arrested"] == pytest.approx(c["failed_to_colonize"] + c["seeded"], rel=1e-12)
    seeded_in_fields = sum(sim.total_cells(o) for o in ("lung", "liver"))
    assert seeded_in_fields == pytest.approx(c["seeded"], rel=1e-9)


def _poly_fraction_of_arrests(sim):
    counts = sim.coupling.events.columns()["clones"]
    return float(np.mean((counts > 0).sum(axis=1) >= 2)), len(counts)


@pytest.mark.parametrize("draws", ["per_step", "per_cluster"])
def test_polyclonal_fraction_of_clusters_matches_exact_probability(draws):
    """Intermixed primary, K = 4 equal clones, clusters of n = 3: P(≥ 2 clones) = 1 − K·K^(−n) = 0.9375."""
    sim = Simulation.from_dict(flux_scenario(size=3, growth=False, t_end=2.0, draws=draws))
    sim.run()
    frac, n = _poly_fraction_of_arrests(sim)
    exact = 1 - 4 * 4.0 ** -3
    se = math.sqrt(exact * (1 - exact) / n)
    print(f"polyclonal fraction of {n} arrested clusters: {frac:.4f} (exact {exact:.4f} ± {se:.4f})")
    assert n > 500
    assert abs(frac - exact) < 4 * se
    seg = Simulation.from_dict(flux_scenario(size=3, growth=False, t_end=2.0, mixing="sectors", draws=draws))
    seg.run()
    frac_seg, n_seg = _poly_fraction_of_arrests(seg)
    print(f"segregated primary: {frac_seg:.4f} of {n_seg}")
    assert frac_seg < exact - 10 * se


def _take_from_a_line(h, comps, where_x, density=0.5, length=10.0):
    """Clusters of one clone taken from a primary of nodes on a line, spacing h (mm), ``density`` cells per mm:
    the nodes' x, the cells left at each node, the Shed and the ledger."""
    from scipy.spatial import cKDTree

    x = np.arange(0.0, length + h / 2, h)
    points = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    m = np.full(len(x), h)                          # each node's share of the line
    cells = np.full((1, len(x)), density * h)
    where = np.array([int(round(w / h)) for w in where_x])
    comps = np.array(comps, dtype=np.int64)
    ledger = new_ledger(["lung"], 50)
    shed, _ = take_clusters(comps.copy(), np.zeros(len(comps)), where, cells, m, ledger, cKDTree(points))
    left = cells + shed.removal.T * m
    return x, left, shed, ledger


def test_a_cluster_keeps_its_size_and_takes_the_nearest_cells_on_any_mesh():
    """A cluster of 38 cells leaving a sparse rim (0.5 cells per mm, so 0.05 or 0.025 cells per node) keeps
    its 38 cells: they are the nearest ones, the 76 mm of line around its point, on both meshes. (Taken from
    its one node, as before, it left with none.)"""
    for h in (0.1, 0.05):
        x, left, shed, ledger = _take_from_a_line(h, [[38]], [50.0], length=100.0)
        assert shed.comps.tolist() == [[38]] and ledger["cells"]["shed"] == 38
        assert np.sum(0.5 * h - left) == pytest.approx(38.0, rel=1e-12)
        assert left.min() >= 0
        emptied = x[left[0] < 1e-12]
        assert emptied.min() == pytest.approx(12.0, abs=2 * h) and emptied.max() == pytest.approx(88.0, abs=2 * h)
        assert np.all(left[0][np.abs(x - 50) > 38 + h] == 0.5 * h)


def test_a_node_holding_its_clusters_cells_gives_them_alone_and_the_primary_caps_in_order():
    x, left, shed, _ = _take_from_a_line(0.5, [[3], [4]], [2.0, 2.0], density=20.0)  # node 4 holds 10 cells
    changed = np.flatnonzero(left[0] != 10.0)
    assert changed.tolist() == [4] and left[0, 4] == pytest.approx(3.0)
    # the whole primary holds 210 cells: clusters asking for 150, 150 and 5 keep 150, 60 and 0 (dropped)
    x, left, shed, ledger = _take_from_a_line(0.5, [[150], [150], [5]], [1.0, 9.0, 5.0], density=20.0)
    assert shed.comps.tolist() == [[150], [60]] and ledger["clusters"]["shed"] == 2
    assert np.allclose(left, 0.0) and shed.times.shape == (2,)


def test_clearance_alone_gives_the_half_life_per_size():
    cfg = ClusterFluxConfig(enabled=True, sizes=SizeDistribution(max_size=10),
                            circulation=Circulation(clearance=PowerClearance(half_life_single=0.02,
                                                                              half_life_exponent=0.7)))
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 10):
        blood = StochasticCirculation(cfg, [], 1, rng)
        m = 20000
        comps = np.full((m, 1), n)
        half_life = 0.02 * n ** -0.7
        blood.step(0.0, half_life, Shed.clusters(comps, np.zeros(m)), new_ledger([]))
        left = len(blood.comps) / m
        assert abs(left - 0.5) < 4 * math.sqrt(0.25 / m), (n, left)
        mf = MeanFieldCirculation(cfg, [], 1)
        mf.Y[n - 1] = 1.0
        mf.step(0.0, half_life, Shed(np.zeros((0, 1)), cells=np.zeros(1)), new_ledger([]))
        assert mf.Y.sum() == pytest.approx(0.5, rel=1e-10)


def _per_cluster_blood(cfg, sites, rng):
    """A PerClusterCirculation and a function making Shed clusters with their own uniforms."""
    from pdemet.flux.per_cluster import COLS, SHED, Fates, PerClusterCirculation, cluster_key

    blood, made = PerClusterCirculation(cfg, sites, 1, run=7), [0]

    def clusters(comps, times):
        shed = Shed.clusters(comps, times)
        shed.fates = Fates(rng.random((len(comps), COLS)), cluster_key(SHED, made[0] + np.arange(len(comps))), 7)
        made[0] += len(comps)
        return shed
    return blood, clusters


def test_per_cluster_fates_give_the_half_life_and_the_dissociation_of_the_hazards():
    """Fates drawn once at entry, exactly: the survivors after one half-life, and the singles left by a
    dissociation hazard δ with clearance λ (P(dissociate before cleared) = δ/(δ + λ₂))."""
    lam1, lam2, delta = math.log(2) / 0.02, math.log(2) / (0.02 * 2 ** -0.7), 50.0
    cfg = ClusterFluxConfig(enabled=True, sizes=SizeDistribution(max_size=10),
                            circulation=Circulation(clearance=PowerClearance(half_life_single=0.02,
                                                                              half_life_exponent=0.7),
                                                    dissociation_rate=delta))
    rng, m = np.random.default_rng(0), 20000
    blood, clusters = _per_cluster_blood(cfg, [], rng)
    ledger = new_ledger([])
    blood.step(0.0, 50.0, clusters(np.full((m, 1), 2), np.zeros(m)), ledger)  # until every cluster is gone
    p = delta / (delta + lam2)
    frac = ledger["clusters"]["dissociated"] / m
    print(f"dissociated {frac:.4f} (exact {p:.4f})")
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / m)
    assert ledger["clusters"]["formed_by_dissociation"] == 2 * ledger["clusters"]["dissociated"]
    assert len(blood.comps) == 0 and ledger["cells"]["cleared_in_circulation"] == 2 * m
    single, clusters = _per_cluster_blood(cfg, [], rng)
    single.step(0.0, math.log(2) / lam1, clusters(np.ones((m, 1), dtype=np.int64), np.zeros(m)), new_ledger([]))
    left = len(single.comps) / m
    assert abs(left - 0.5) < 4 * math.sqrt(0.25 / m), left


@pytest.mark.parametrize("engine", ["per_step", "per_cluster"])
def test_routing_fractions_are_reproduced_by_arrests(engine):
    n_max = 4
    routing = {"lung": SiteRouting(first_pass=True, arrest=PowerArrest(arrest_probability=0.02, arrest_size_exponent=2.0)),
               "liver": SiteRouting(blood_flow_fraction=0.25, arrest=PowerArrest(arrest_probability=0.05)),
               "brain": SiteRouting(blood_flow_fraction=0.12, arrest=PowerArrest(arrest_probability=0.05))}
    circ = Circulation(circulation_time=1e-4, clearance=PowerClearance(half_life_single=0.01))
    cfg = ClusterFluxConfig(enabled=True, sizes=SizeDistribution(max_size=n_max), circulation=circ,
                            routing=routing)
    rng = np.random.default_rng(1)
    if engine == "per_step":
        blood, clusters = StochasticCirculation(cfg, list(routing), 1, rng), Shed.clusters
    else:
        blood, clusters = _per_cluster_blood(cfg, list(routing), rng)
    for n in (1, 4):
        m = 40000
        site = blood.step(0.0, 10.0, clusters(np.full((m, 1), n), np.zeros(m)), new_ledger(list(routing))).site
        # independent of pdemet's Hazards: the per-pass laws written out
        a_l = 1 - (1 - 0.02) ** (n ** 2)
        a_s = 1 - (1 - 0.05) ** n
        lam = np.array([a_l, (1 - a_l) * 0.25 * a_s, (1 - a_l) * 0.12 * a_s]) / 1e-4
        clear = math.log(2) / (0.01 * n ** -0.7)
        expected = lam / (lam.sum() + clear)
        observed = np.bincount(site, minlength=3) / m
        print(f"n={n}: arrests by organ {observed} expected {expected}")
        assert np.all(np.abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / m) + 1e-12)


@pytest.mark.parametrize("draws", ["per_step", "per_cluster"])
def test_mean_field_matches_the_average_of_stochastic_runs(draws):
    seeded = []
    for seed in range(8):
        sim = Simulation.from_dict(flux_scenario(growth=False, t_end=1.0, seed=seed, draws=draws))
        sim.run()
        seeded.append(sim.coupling.ledger["cells"]["seeded"])
    mf = Simulation.from_dict(flux_scenario(mode="mean_field", growth=False, t_end=1.0))
    mf.run()
    mean, se = np.mean(seeded), np.std(seeded, ddof=1) / math.sqrt(len(seeded))
    expected = mf.coupling.ledger["cells"]["seeded"]
    print(f"seeded cells: stochastic {mean:.1f} ± {se:.1f} (8 seeds), mean field {expected:.1f}")
    assert abs(mean - expected) < 4 * se + 1e-3 * expected


def _points(sim):
    c = sim.coupling.events.columns()
    return {tuple(p) for p in np.round(np.stack([c["x"], c["y"], c["z"]], axis=1), 12)}, c


def test_per_cluster_draws_seed_the_same_clusters_whatever_the_time_steps():
    """Halving dt (as a rejected step or a finer mesh does) keeps every seeding event with per_cluster
    draws, up to the O(dt) change of the shedding clock Λ; per_step draws make another mouse."""
    runs = {}
    for draws in ("per_step", "per_cluster"):
        for dt in (0.25, 0.125):
            data = flux_scenario(t_end=3.0, draws=draws)
            data["simulation"]["dt"] = dt
            sim = Simulation.from_dict(data)
            sim.run()
            runs[draws, dt] = _points(sim)
    (a, ca), (b, cb) = runs["per_cluster", 0.25], runs["per_cluster", 0.125]
    print(f"per_cluster: {len(a)} and {len(b)} arrests, {len(a & b)} at the same points; per_step: "
          f"{len(runs['per_step', 0.25][0] & runs['per_step', 0.125][0])} at the same points")
    assert len(a) > 10000 and len(a & b) >= 0.98 * max(len(a), len(b))
    assert len(runs["per_step", 0.25][0] & runs["per_step", 0.125][0]) < 0.01 * len(a)
    # the same clusters: at a shared point, the same size, clones and fate (a few differ where the primary's
    # state, which changes with dt, picks another node and with it the clones); times
    # within a step
    ia = {p: i for i, p in enumerate(zip(*(np.round(ca[k], 12) for k in "xyz")))}
    ib = {p: i for i, p in enumerate(zip(*(np.round(cb[k], 12) for k in "xyz")))}
    shared = sorted(set(ia) & set(ib))
    ra, rb = np.array([ia[p] for p in shared]), np.array([ib[p] for p in shared])
    for key in ("size", "survived", "organ", "clones"):
        same = (ca[key][ra] == cb[key][rb]).reshape(len(ra), -1).all(axis=1)
        assert same.mean() > 0.99, (key, same.mean())
    assert np.max(np.abs(ca["time"][ra] - cb["time"][rb])) < 0.25


def test_per_cluster_draws_resume_exactly(tmp_path, monkeypatch):
    """A run interrupted after its checkpoint and resumed writes the uninterrupted run's seeding log."""
    import os
    import signal

    from pdemet.flux.coupling import ClusterFlux
    from pdemet.output.seeding import same_log

    data = flux_scenario(t_end=2.0, draws="per_cluster")
    data["cluster_flux"]["circulation"] = {"dissociation_rate": 3000.0}
    Simulation.from_dict(data).run(out=tmp_path / "ref")
    after_step = ClusterFlux.after_step

    def interrupt_at_one_day(self, t, dt):
        after_step(self, t, dt)
        if t < 1.0 <= t + dt:
            os.kill(os.getpid(), signal.SIGINT)  # the run's interrupt flag ends it with a checkpoint
    monkeypatch.setattr(ClusterFlux, "after_step", interrupt_at_one_day)
    with pytest.raises(KeyboardInterrupt):  # the run ends as "interrupted", its checkpoint at the last step
        Simulation.from_dict(data).run(out=tmp_path / "run", checkpoint_every=0.5)
    monkeypatch.setattr(ClusterFlux, "after_step", after_step)
    Simulation.from_toml(tmp_path / "run" / "scenario.toml").run(out=tmp_path / "run", resume=True)
    assert same_log(tmp_path / "ref" / "seeding.h5", tmp_path / "run" / "seeding.h5")
    assert (tmp_path / "ref" / "census.csv").read_text() == (tmp_path / "run" / "census.csv").read_text()


def test_same_seed_same_tables_on_one_and_two_ranks(tmp_path, write_toml):
    path = write_toml(flux_scenario(t_end=2.0, seed=11))
    outs = []
    for n in (1, 2, 1):
        out = tmp_path / f"out{len(outs)}"
        r = run_cli("run", path, "--out", out, "--quiet", mpi=n if n > 1 else 0)
        assert r.returncode == 0, r.stderr
        outs.append(out)
    for o in outs:
        export_csv(o / "seeding.h5", o / "seeding.csv")
    for name in ("seeding.csv", "census.csv"):
        texts = [(o / name).read_text() for o in outs]
        assert texts[0] == texts[2], f"{name} differs between two serial runs with the same seed"
        a, b = (list(csv.reader(t.splitlines())) for t in texts[:2])
        assert len(a) == len(b) and len(a) > 1
        # the lumped masses are assembled, so the ranks' sums round differently in the last bits: so do the
        # shedding clock's event times (per-cluster draws); every event must be the same
        for ra, rb in zip(a[1:], b[1:]):
            assert ra[1] == rb[1] and np.allclose(np.array([ra[0], *ra[2:]], float), np.array([rb[0], *rb[2:]], float),
                                                  rtol=1e-9, atol=1e-9), (name, ra, rb)


def test_census_finds_separate_foci_with_exact_fractions():
    from pdemet.census import find_foci
    from pdemet.meshes.geometry import mesh_edges

    # a chain of 6 nodes (5 "tets" reusing edges); foci: nodes 0–1 and 3–5
    tets = np.array([[0, 1, 1, 1], [3, 4, 4, 4], [4, 5, 5, 5], [1, 2, 2, 2], [2, 3, 3, 3]])
    u = np.array([[1.0, 1.0, 0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 2.0, 4.0, 1.0]])
    w = np.ones(6)
    pts = np.arange(18, dtype=float).reshape(6, 3)
    foci = find_foci(u, w, pts, mesh_edges(tets), 0.5, 0.05)
    assert [f["cells"] for f in foci] == [10.0, 2.0]
    assert np.allclose(foci[0]["fractions"], [0.3, 0.7]) and foci[0]["polyclonal"] == 1
    assert np.allclose(foci[1]["fractions"], [1.0, 0.0]) and foci[1]["polyclonal"] == 0
    assert foci[1]["shannon"] == 0.0 and foci[0]["simpson"] == pytest.approx(1 - 0.09 - 0.49)


def test_event_log_keeps_survivors_and_samples_or_counts_failed_arrests(tmp_path):
    """log_failed changes what seeding.h5 holds, never the run: same fields and survivors in every mode."""
    from pdemet.output.seeding import read_seeding

    logs, cells = {}, {}
    for mode in ("all", "sample", "count"):
        data = flux_scenario(t_end=2.0)
        data["cluster_flux"].update(log_failed=mode, log_sample_every=10)
        sim = Simulation.from_dict(data)
        sim.run(out=tmp_path / mode)
        logs[mode] = read_seeding(tmp_path / mode / "seeding.h5")
        cells[mode] = [sim.total_cells(o) for o in sim.organs]
        led = sim.coupling.ledger["clusters"]
    assert cells["all"] == cells["sample"] == cells["count"]
    full = logs["all"]["columns"]
    n_failed = int((full["survived"] == 0).sum())
    assert n_failed > 1000 and len(full["time"]) == led["arrested"] and n_failed == led["failed_to_colonize"]
    for mode in ("sample", "count"):
        c = logs[mode]["columns"]
        s_all, s = full["survived"] == 1, c["survived"] == 1
        assert all(np.array_equal(full[k][s_all], c[k][s]) for k in ("time", "organ", "x", "size", "clones"))
    sampled = logs["sample"]["columns"]
    fail_s = sampled["survived"] == 0
    assert fail_s.sum() == -(-n_failed // 10) and set(sampled["weight"][fail_s]) == {10}
    # weighted, the sample stands for all failed arrests (sizes within a few percent)
    assert sampled["weight"][fail_s].sum() == pytest.approx(n_failed, abs=10)
    mean_all = full["size"][full["survived"] == 0].mean()
    assert np.average(sampled["size"][fail_s], weights=sampled["weight"][fail_s]) == pytest.approx(mean_all, rel=0.1)
    counted = logs["count"]
    assert (counted["columns"]["survived"] == 1).all()
    assert counted["failed_counts"][:, 3].sum() == n_failed
    per_size = np.bincount(counted["failed_counts"][:, 1], weights=counted["failed_counts"][:, 3])
    assert np.array_equal(per_size[1:], np.bincount(full["size"][full["survived"] == 0], minlength=len(per_size))[1:])


def test_export_writes_the_event_log_as_csv(tmp_path):
    from pdemet.output.seeding import read_seeding

    sim = Simulation.from_dict(flux_scenario(t_end=1.0))
    sim.run(out=tmp_path / "run")
    r = run_cli("export", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader((tmp_path / "run" / "seeding.csv").read_text().splitlines()))
    log = read_seeding(tmp_path / "run" / "seeding.h5")
    assert rows[0] == ["time", "organ", "x", "y", "z", "size", "survived", "weight", "red", "green", "blue", "yellow"]
    assert len(rows) - 1 == len(log["columns"]["time"]) > 100
    k = int(np.flatnonzero(log["columns"]["survived"])[0])
    row = rows[1 + k]
    assert float(row[0]) == log["columns"]["time"][k] and row[1] == log["organs"][log["columns"]["organ"][k]]
    assert [int(v) for v in row[8:]] == log["columns"]["clones"][k].tolist()
    r = run_cli("export", tmp_path)
    assert r.returncode == 2 and "no seeding.h5 in" in r.stderr and r.stderr.count("\n") == 1


def _injection_scenario(**injection):
    data = flux_scenario(growth=False, t_end=1.0)
    data["organs"]["primary"]["initial"]["density"] = 0.0  # the tail-vein assay: no primary tumor
    data["cluster_flux"].update(sizes={"max_size": 50}, survival={"single": 0.05, "exponent": 1.0})
    data["cluster_flux"]["injection"] = {"time": 0.3, "cells": 3000, "size": 30, **injection}
    return data


@pytest.mark.parametrize("draws", ["per_step", "per_cluster"])
def test_an_injection_enters_the_blood_once_and_every_cell_is_accounted_for(draws):
    data = _injection_scenario(fractions=[0, 1, 0, 0])
    data["cluster_flux"]["draws"] = draws
    sim = Simulation.from_dict(data)
    sim.run()
    c, k = sim.coupling.ledger["cells"], sim.coupling.ledger["clusters"]
    assert (c["injected"], k["injected"], c["shed"]) == (3000.0, 100.0, 0.0)
    assert c["injected"] == c["circulating"] + c["cleared_in_circulation"] + c["killed_in_circulation"] + c["arrested"]
    assert c["arrested"] == c["seeded"] + c["failed_to_colonize"] and c["seeded"] > 0
    events = sim.coupling.events.columns()
    assert len(events["time"]) == k["arrested"] and np.all(events["time"] >= 0.3)
    assert np.all(events["clones"][:, 1] == 30) and np.all(np.delete(events["clones"], 1, axis=1) == 0)
    green = sim.clone_index("green")
    sites = sum(sim.total_cells(s, green) for s in ("lung", "liver"))
    assert sites == pytest.approx(c["seeded"] - c["pending"], rel=1e-9)  # seeded cells are all green


def test_a_smaller_injection_seeds_the_first_clusters_of_a_larger_one():
    """Per-cluster draws: injected cluster j owns row j of the injected stream, so a dose of n clusters is the
    first n clusters of any larger dose: the same survivors at the same points, with the same sizes, clones and
    times (what lets the tail-vein experiment's finer column inject a fraction of the dose)."""
    survivors = {}
    for cells in (900, 3000):
        sim = Simulation.from_dict(_injection_scenario(cells=cells))
        sim.run()
        c = sim.coupling.events.columns()
        m = c["survived"].astype(bool)
        survivors[cells] = {(int(o), *np.round([x, y, z], 12), int(n), tuple(k), t) for o, x, y, z, n, k, t in
                            zip(c["organ"][m], c["x"][m], c["y"][m], c["z"][m], c["size"][m], c["clones"][m].tolist(),
                                c["time"][m])}
    small, large = survivors[900], survivors[3000]
    print(f"{len(small)} of {len(large)} survivors from 30 of 100 clusters")
    assert 0 < len(small) < len(large) and small <= large


@pytest.mark.parametrize("change, match", [
    ({"injection": {"cells": 10, "size": 60}}, r"injection.size: got 60, larger than sizes.max_size = 50"),
    ({"injection": {"cells": 10, "size": 30}}, r"injection.cells: got 10, fewer than one cluster of size 30"),
    ({"injection": {"cells": 100, "time": 1.0}}, r"injection.time: got 1, not before simulation.t_end"),
    ({"injection": {"cells": 100, "fractions": [1, 0]}}, r"injection.fractions: got 2 values, expected 4"),
    ({"injection": {"size": 2}}, r"injection.cells: missing"),
    ({"mode": "mean_field"}, r"cluster_flux.injection: an injection is a set of clusters: use mode"),
    ({"mode": "mean_field", "draws": "per_cluster", "injection": None},
     r"cluster_flux.draws: per_cluster draws are the random numbers of clusters: use mode"),
    ({"draws": "each", "injection": None}, r"cluster_flux.draws: got 'each'"),
])
def test_a_bad_injection_is_refused_in_one_line(change, match):
    from pdemet.errors import ScenarioError

    data = _injection_scenario()
    data["cluster_flux"].update(change)
    if data["cluster_flux"]["injection"] is None:
        del data["cluster_flux"]["injection"]
    with pytest.raises(ScenarioError, match=match):
        Simulation.from_dict(data)


def test_the_cohesion_size_law_is_the_power_law_at_one_and_singles_at_zero():
    from pdemet.flux.laws import LAWS

    n = np.arange(1.0, 51.0)
    law = LAWS["sizes"]["cohesion"]
    assert np.array_equal(law(exponent=3.0, cohesion=1.0).weights(n), LAWS["sizes"]["power_law"](exponent=3.0).weights(n))
    w = law(exponent=3.0, cohesion=0.0).weights(n)
    assert w[0] == 1.0 and not w[1:].any()
    ratio = law(exponent=2.0, cohesion=0.5).weights(n) / LAWS["sizes"]["power_law"](exponent=2.0).weights(n)
    assert np.allclose(ratio, 0.5 ** (n - 1), rtol=1e-15)  # each of the n - 1 bonds holds with probability c
