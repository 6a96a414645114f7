"""Local refinement: conforming meshes graded to the target size, exact field transfer, cells kept exactly
through every re-adaptation, and the same mesh rebuilt from a checkpoint."""

import numpy as np
import pytest

from pdemet.adaptive import OrganRefinement, lumped_masses
from pdemet.meshes.adapt import Refinement, Targets, cell_sizes
from pdemet.meshes.geometry import boundary_faces, tet_quality, tet_volumes
from pdemet.scenario.model import AdaptConfig
from pdemet.simulation import Simulation

from conftest import ROOT


def _base():
    from pdemet.backend import MPI
    from pdemet.meshes.msh import read_quietly

    m = read_quietly(str(ROOT / "meshes" / "lung.msh"), MPI.COMM_SELF).mesh
    return m.geometry.x[:, :3].copy(), m.geometry.dofmaps[0].astype(np.int64).copy()


def _faces(tets):
    f = np.sort(tets[:, [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]].reshape(-1, 3), axis=1)
    return np.unique(f, axis=0, return_counts=True)


def test_refinement_is_conforming_graded_and_local():
    X, C = _base()
    rng = np.random.default_rng(0)
    centers = X[C[rng.choice(len(C), 5, replace=False)]].mean(axis=1)
    targets = Targets(centers, np.full(5, 0.03))
    r = Refinement(X, C)
    assert r.refine(targets, size=0.012)
    x, t, base, ids = r.mesh()
    _, count = _faces(t)
    assert count.max() == 2  # every face is shared by at most two cells
    area = lambda pts, tt: sum(0.5 * np.linalg.norm(np.cross(pts[f[:, 1]] - pts[f[:, 0]], pts[f[:, 2]] - pts[f[:, 0]]),
                                                     axis=1).sum() for f in [boundary_faces(tt)])  # noqa: E731
    # no hanging face: the faces of one cell are exactly the organ surface, same area; volume unchanged
    assert area(x, t) == pytest.approx(area(X, C), rel=1e-12)
    assert np.abs(tet_volumes(x, t)).sum() == pytest.approx(np.abs(tet_volumes(X, C)).sum(), rel=1e-12)
    assert np.array_equal(x[: len(X)], X) and np.array_equal(ids[: len(X)], np.arange(len(X)))
    h = cell_sizes(x, t)
    inside = targets.distance(x[t].mean(axis=1)) == 0
    per_target = (len(x) - len(X)) / 5
    q = np.abs(tet_quality(x, t))
    print(f"5 targets: {len(X)} -> {len(x)} vertices ({per_target:.0f} per target); h in the fine zones median "
          f"{np.median(h[inside]) * 1000:.1f} µm, max {h[inside].max() * 1000:.1f} µm; quality min {q.min():.3f}")
    assert h[inside].max() <= 1.4 * 0.012 * 1.01 and per_target < 2500 and q.min() > 0.03
    far = targets.distance(x[t].mean(axis=1)) > 1.5
    assert np.all(h[far] > 0.2)  # refined only near the targets


def test_transfer_is_the_p1_field_and_cells_are_kept():
    X, C = _base()
    cfg = AdaptConfig(enabled=True, size=0.012, padding=0.02)
    ref = OrganRefinement(cfg, X, C)
    a = np.array([0.3, -0.2, 0.5])
    values = np.stack([1.0 + X @ a, 2.0 + 0.0 * X[:, 0]])  # linear fields: P1 reproduces them exactly
    old = ref.mesh_state()
    assert ref.refine(Targets(X[C[:3]].mean(axis=1), np.full(3, 0.03)))
    new = ref.transfer(old, values)
    exact = 1.0 + ref.points @ a
    m_old, m_new = lumped_masses(old["points"], old["tets"]), lumped_masses(ref.points, ref.tets)
    changed = ~np.isclose(m_new, np.pad(m_old, (0, len(m_new) - len(m_old)))[: len(m_new)], rtol=1e-12)
    print(f"max deviation from the P1 field where masses did not change: "
          f"{np.abs(new[0] - exact)[~changed].max():.1e}; cells {values @ m_old} -> {new @ m_new}")
    assert np.allclose(new[0][~changed], exact[~changed], rtol=0, atol=1e-12)
    assert np.allclose(new @ m_new, values @ m_old, rtol=1e-12, atol=0)
    again = OrganRefinement(cfg, X, C)
    again.set_state(ref.state())  # a checkpoint rebuilds the same mesh
    assert np.array_equal(again.points, ref.points) and np.array_equal(again.tets, ref.tets)


def _site_scenario(**flux):
    tissue = {"terms": ["pressure"], "pressure_diffusivity": 1.0, "pressure_exponent": 30.0, "carrying_capacity": 1.0e6}
    return {
        "simulation": {"t_end": 3.0, "dt": 0.25, "output_every": 1.0, "seed": 4},
        "clones": {"names": ["red", "green", "blue"]},
        "organs": {
            "primary": {"role": "primary", "box": [4.0, 4.0, 2.0], "cells": [8, 8, 4], **tissue,
                        "pressure_diffusivity": 0.08, "pressure_exponent": 1.0,
                        "initial": {"shape": "ball", "center": [2.0, 2.0, 1.0], "radius": 1.0, "density": 5e5},
                        "adapt": {"size": 0.25}},
            "lung": {"role": "site", "box": [2.0, 2.0, 2.0], "cells": [4, 4, 4], **tissue, "first_pass": True,
                     "arrest_probability": 0.01, "adapt": {"size": 0.02, "every": 0.5}},
        },
        "cluster_flux": {"shedding_rate": 2e-4, "shedding_weight": "uniform", "sizes": {"exponent": 2.0},
                         "survival": {"single": 0.05, "exponent": 1.0}, **flux},
    }


def test_cells_are_exact_through_every_readaptation():
    """No growth: every cell shed is in a field, the blood or the ledger, to round-off, at every step."""
    sim = Simulation.from_dict(_site_scenario())
    lung = sim.organs["lung"]
    assert lung.V.dofmap.index_map.size_global == 125  # nothing to refine before the first seeding
    before = sim.coupling.body_cells()
    meshes, worst = set(), 0.0
    while sim.t < sim.cfg.t_end - 1e-9:
        sim.advance(sim.cfg.t_end)
        meshes.add(sim.organs["lung"].V.dofmap.index_map.size_global)
        worst = max(worst, abs(sim.coupling.body_cells() - before) / before)
    led = sim.coupling.ledger["cells"]
    u = sim.organs["lung"].densities()
    print(f"lung meshes {sorted(meshes)}; seeded {led['seeded']:.0f} cells, pending {led['pending']:.0f}; "
          f"body cells drift {worst:.1e}; lung min {u.min():.1e}, max U/κ {u.sum(0).max() / 1e6:.3f}")
    assert len(meshes) >= 3 and led["seeded"] > 20
    assert worst < 1e-10
    assert u.min() >= 0 and sim.clipped_cells < 1e-9 * led["seeded"] and u.sum(0).max() <= 1e6 * (1 + 1e-9)


def _quick(**flux):
    import tomllib

    with open(ROOT / "pdemet" / "scenarios" / "quick.toml", "rb") as f:
        data = tomllib.load(f)
    for organ in data["organs"].values():  # paths stay valid when the scenario is written elsewhere
        organ.pop("mesh", None)
    data["cluster_flux"].update(flux)
    return data


def test_adapted_sites_give_the_same_census_on_one_and_two_ranks(tmp_path, write_toml):
    """Refinement, transport and founder placement run on rank 0 from rank-independent arrays."""
    import csv

    from conftest import run_cli

    data = _quick()
    data["simulation"]["t_end"] = 4.0
    path = write_toml(data)
    outs = []
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        r = run_cli("run", path, "--out", out, "--quiet", mpi=n if n > 1 else 0)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(out)
    from pdemet.output.seeding import same_log

    assert same_log(outs[0] / "seeding.h5", outs[1] / "seeding.h5", rtol=1e-12)
    a, b = (list(csv.reader((o / "census.csv").read_text().splitlines())) for o in outs)
    assert len(a) == len(b) > 3
    for ra, rb in zip(a[1:], b[1:]):
        assert ra[:3] == rb[:3] and np.allclose(np.array(ra[3:], float), np.array(rb[3:], float),
                                                rtol=1e-8, atol=1e-9, equal_nan=True), (ra, rb)


def test_single_cells_found_monoclonal_foci(tmp_path):
    """Seeded one cell at a time, a site's foci are monoclonal unless two seeds grow into one another
    (Cheung et al. 2016's control); the census sees them (0 foci on the fixed meshes before adaptivity)."""
    data = _quick(sizes={"kind": "fixed", "size": 1, "max_size": 2}, survival={"single": 0.01, "exponent": 1.0},
                  shedding_rate=1.0e-4)
    data["simulation"].update(t_end=14.0, output_every=14.0)  # a cell seeded by day 4 grows past 10 cells
    sim = Simulation.from_dict(data, base_dir=ROOT / "pdemet" / "scenarios")
    sim.run(out=tmp_path / "run", overwrite=True)
    sites = [n for n, o in sim.scenario.organs.items() if o.role == "site"]
    foci = [f for s in sites for f in sim.foci(s)]
    seeded = sim.coupling.ledger["clusters"]["seeded"]
    poly = sum(f["polyclonal"] for f in foci) / max(len(foci), 1)
    print(f"single cells seeded {seeded:.0f}, foci {len(foci)}, polyclonal fraction {poly:.3f}")
    assert len(foci) >= 5
    assert poly <= 0.15
    assert all(f["founding_events"] >= 1 for f in foci)
