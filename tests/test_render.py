"""Rendering layer: works from run files alone (no DOLFINx), colors clones correctly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

pv = pytest.importorskip("pyvista")
pv.OFF_SCREEN = True

from pdemet import viz as plots, viz as render  # noqa: E402
from pdemet.output.files import write_csv, write_json  # noqa: E402
from pdemet.output.vtkhdf import VTKHDFWriter  # noqa: E402

CLONES = ["red", "blue"]
HEX = ["#e41a1c", "#377eb8"]
RGB = np.array([[0xE4, 0x1A, 0x1C], [0x37, 0x7E, 0xB8]], float)
KAPPA = 1.0e6
TIMES = [0.0, 5.0, 10.0]
REPO = Path(__file__).resolve().parents[1]

SCENARIO = f"""
name = "synthetic"
[clones]
names = {CLONES!r}
colors = {HEX!r}
[organs.fat_pad]
role = "primary"
carrying_capacity = {KAPPA}
[organs.lung]
role = "site"
carrying_capacity = {KAPPA}
""".replace("'", '"')


def _box(n=(25, 25, 9), spacing=0.5, origin=(-6.0, -6.0, -2.0)):
    g = pv.ImageData(dimensions=n, spacing=(spacing,) * 3, origin=origin).triangulate()
    tets = g.cells.reshape(-1, 5)[:, 1:]
    return np.asarray(g.points, float), tets


def make_run(root: Path, census: bool = True) -> Path:
    """Synthetic run: 'sectors' tumor in the primary (red x<0, blue x>0), one 70/30 focus in the lung."""
    run = root / "run"
    (run / "fields").mkdir(parents=True)
    (run / "scenario.toml").write_text(SCENARIO)
    ts_rows = []
    # primary: 12 x 12 x 4 mm box, ball of radius growing to 4 mm at the centre
    pts, tets = _box()
    w = VTKHDFWriter(run / "fields" / "fat_pad.vtkhdf", CLONES + ["total"])
    x, r = pts[:, 0], np.linalg.norm(pts, axis=1)
    for t in TIMES:
        rad = 1.5 + 0.25 * t
        dens = KAPPA * np.clip((rad - r) / 0.5, 0, 1)
        a = dens * np.where(x < 0, 1.0, np.where(x == 0, 0.5, 0.0))
        b = dens - a
        w.write_step(t, {"red": a, "blue": b, "total": a + b}, pts, tets)
        vol = 4 / 3 * np.pi * rad**3 * KAPPA
        ts_rows += [(t, "fat_pad", "red", vol / 2), (t, "fat_pad", "blue", vol / 2)]
    # site: 8 x 8 x 4 mm box, one polyclonal focus at (1, 1, 0) from t = 5 on
    pts, tets = _box((17, 17, 9), 0.5, (-4.0, -4.0, -2.0))
    w = VTKHDFWriter(run / "fields" / "lung.vtkhdf", CLONES + ["total"])
    r1 = np.linalg.norm(pts - [1.0, 1.0, 0.0], axis=1)
    r2 = np.linalg.norm(pts - [-2.5, -2.5, 0.0], axis=1)
    for t in TIMES:
        d1 = KAPPA * np.clip((0.15 * t - r1) / 0.5, 0, 1)  # focus 1: polyclonal 70/30
        d2 = KAPPA * np.clip((0.08 * t - r2) / 0.5, 0, 1)  # focus 2: red only
        w.write_step(t, {"red": 0.7 * d1 + d2, "blue": 0.3 * d1, "total": d1 + d2}, pts, tets)
        v1, v2 = 4 / 3 * np.pi * (0.15 * t) ** 3 * KAPPA, 4 / 3 * np.pi * (0.08 * t) ** 3 * KAPPA
        ts_rows += [(t, "lung", "red", 0.7 * v1 + v2), (t, "lung", "blue", 0.3 * v1)]
    write_csv(run / "timeseries.csv", ["time", "organ", "clone", "cells"], ts_rows)
    header = ["time", "organ", "focus_id", "cells", "volume_mm3", "centroid_x", "centroid_y", "centroid_z",
              "n_clones", "shannon", "simpson", "polyclonal"] + CLONES
    rows = []
    if census:
        for t in TIMES[1:]:
            v1, v2 = 4 / 3 * np.pi * (0.15 * t) ** 3, 4 / 3 * np.pi * (0.08 * t) ** 3
            rows.append((t, "lung", 1, v1 * KAPPA, v1, 1.0, 1.0, 0.0, 2, 0.611, 0.42, 1, 0.7, 0.3))
            rows.append((t, "lung", 2, v2 * KAPPA, v2, -2.5, -2.5, 0.0, 1, 0.0, 0.0, 0, 1.0, 0.0))
    write_csv(run / "census.csv", header, rows)
    write_json(run / "summary.json", {"polyclonal_fraction": {"lung": 0.5}})
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("render"))


def _nonblank(path):
    img = iio.imread(path)
    assert img.ndim == 3 and img[..., :3].std() > 5, f"{path} looks blank"
    return img


# ----------------------------------------------------------------------------- colors


def test_mix_colors_exact():
    cols = RGB / 255
    d = np.array([[3.0, 0.0, 1.0, 0.0, -1e-9], [0.0, 2.0, 1.0, 0.0, 5.0]])
    out = render.mix_colors(d, cols)
    np.testing.assert_allclose(out[0], cols[0], atol=1e-12)
    np.testing.assert_allclose(out[1], cols[1], atol=1e-12)
    np.testing.assert_allclose(out[2], cols.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(out[3], render.TISSUE_RGB)  # no cells: tissue
    np.testing.assert_allclose(out[4], cols[1], atol=1e-12)  # negative undershoot ignored
    a = render.alpha_from_density([0.0, 0.025 * KAPPA, KAPPA], KAPPA)
    np.testing.assert_allclose(a, [0.0, 0.5, 1.0])
    assert render.alpha_from_density(1e-4 * KAPPA, KAPPA, faint=1e-5) > 0.2  # log ramp shows micromets


# ----------------------------------------------------------------------------- renders


def test_organ_overview_colors_in_halves(run_dir, tmp_path):
    out = render.render_run(run_dir, tmp_path, size=(800, 600), n_closeups=0, view="xy", plots=False)
    png = tmp_path / "organ_fat_pad_step0002.png"
    assert png in out and (tmp_path / "organ_lung_step0002.png") in out and (tmp_path / "body_step0002.png") in out
    img = _nonblank(png)[..., :3].astype(float)
    assert img.shape == (600, 800, 3)
    # the tumor lies in the middle of the picture (text and legend are in the corners)
    band = img[150:450]
    left, right = band[:, 100:390], band[:, 410:700]

    def near(part, rgb, tol=45.0):
        return int((np.linalg.norm(part - rgb, axis=-1) < tol).sum())

    red, blue = RGB
    assert near(left, red) > 2000 and near(right, blue) > 2000
    assert near(left, blue) < 50 and near(right, red) < 50


def test_closeups_and_plots(run_dir, tmp_path):
    out = render.render_run(run_dir, tmp_path, size=(640, 480), n_closeups=3, plots=True)
    names = {p.name for p in out}
    assert {"closeup_lung_focus1_step0002.png", "closeup_lung_focus2_step0002.png"} <= names
    assert {"timeseries.png", "polyclonal_fraction.png", "foci_histograms.png"} <= names
    for p in out:
        assert p.is_file()
        _nonblank(p)
    img = iio.imread(tmp_path / "closeup_lung_focus1_step0002.png")[..., :3].astype(float)
    mix = 0.7 * RGB[0] + 0.3 * RGB[1]  # the 70/30 focus is drawn in its mixed color
    assert (np.linalg.norm(img - mix, axis=-1) < 40).sum() > 200


def test_movie_and_empty_census(tmp_path):
    run = make_run(tmp_path, census=False)
    out = render.render_run(run, None, size=(320, 240), n_closeups=3, movie=True, fmt="gif")
    names = {p.name for p in out}
    assert "body.gif" in names and "timeseries.png" in names
    assert not any(n.startswith("closeup") or n.startswith("foci") or n.startswith("polyclonal") for n in names)
    assert len(iio.imread(run / "renders" / "body.gif", index=None)) == len(TIMES)
    (run / "census.csv").unlink()
    assert plots.plot_foci_histograms(run) == [] and plots.plot_polyclonal_fraction(run) == []
    mp4 = render.render_movie(run, tmp_path / "body.mp4", size=(320, 240))
    assert mp4.stat().st_size > 1000


def test_errors(tmp_path):
    with pytest.raises(render.RenderError, match="not found"):
        render.render_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(render.RenderError, match="no fields"):
        render.load_run(tmp_path / "empty")
    if not os.environ.get("DISPLAY"):
        with pytest.raises(render.RenderError, match="--html"):
            render.view(tmp_path / "empty")


# ----------------------------------------------------------------------------- HTML


def test_export_html(run_dir, tmp_path):
    pytest.importorskip("trame_vtk")
    html = render.export_html(run_dir, tmp_path / "run.html")
    text = html.read_text(errors="replace")
    assert html.stat().st_size > 10_000 and "<html" in text.lower()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    shot = tmp_path / "shot.png"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
           "--disable-background-networking",
           "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
           f"--screenshot={shot}", "--window-size=800,600", "--virtual-time-budget=10000", html.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    log = res.stdout + res.stderr
    errors = [ln for ln in log.splitlines() if "Uncaught" in ln or "ERROR:CONSOLE" in ln]
    assert not errors, "\n".join(errors)
    assert shot.is_file(), log[-2000:]
    img = iio.imread(shot)[..., :3].astype(float)
    assert img.std() > 5, "HTML screenshot is blank"
    for rgb in RGB:  # WebGL drew the tumor in both clone colors
        assert (np.linalg.norm(img - rgb, axis=-1) < 60).sum() > 100


# ----------------------------------------------------------------------------- no solver


def test_no_solver_import():
    code = ("import sys, pdemet.viz; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'petsc4py', 'mpi4py', 'ufl') "
            "or m == 'pdemet.backend']; print(bad); sys.exit(1 if bad else 0)")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
