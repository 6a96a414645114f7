"""The run directory's file names and table headers, defined once.

    scenario.toml          the resolved scenario that was run (every default filled in)
    timeseries.csv         time,organ,clone,cells (∫uᵢ dx) at every output time
    fields/<organ>.vtkhdf  VTKHDF 2.2 unstructured grid, one point array per clone plus "total",
                           one step per output time (ParaView, PyVista)
    seeding.h5             the seeding event log (HDF5 columns; pdemet.output.seeding)
    seeding.csv            its CSV export, on request (``pdemet export RUN_DIR``)
    census.csv             foci per site and output time
    summary.json           status, versions, scenario hash, ledger, foci, timers
    checkpoint.npz         the state to resume from (``--checkpoint-every``)
    .pdemet.lock           locked while a run or resume writes the directory
    renders/               PNGs and plots from ``pdemet render``
"""

from __future__ import annotations

from pathlib import Path

SCENARIO = "scenario.toml"
TIMESERIES = "timeseries.csv"
SEEDING = "seeding.h5"
SEEDING_CSV = "seeding.csv"
CENSUS = "census.csv"
SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.npz"
FIELDS = "fields"
RENDERS = "renders"
LOCK = ".pdemet.lock"  # held while a run writes the directory (pdemet.output.lock)

# everything a run writes at the top of its directory (what --overwrite removes, and nothing else)
OUTPUTS = (SCENARIO, TIMESERIES, SEEDING, SEEDING_CSV, CENSUS, SUMMARY, CHECKPOINT, FIELDS, RENDERS)


def is_run_directory(path: str | Path) -> bool:
    """Whether ``path`` holds a pdemet run: its scenario or summary, or nothing but pdemet's own outputs
    and temporary files (a run killed before it wrote its scenario)."""
    path = Path(path)
    if (path / SCENARIO).is_file() or (path / SUMMARY).is_file():
        return True
    return all(p.name in OUTPUTS or p.name == LOCK or (p.name.startswith(".") and p.name.endswith(".tmp"))
               for p in path.iterdir())


TIMESERIES_HEADER = ("time", "organ", "clone", "cells")
CENSUS_HEADER = ("time", "organ", "focus_id", "cells", "volume_mm3", "support_mm3", "density", "centroid_x", "centroid_y",
                 "centroid_z", "n_clones", "shannon", "simpson", "polyclonal", "focus", "founding_events",
                 "founding_cells", "polyclonal_founders", "patches")  # then one clone-fraction column per clone
TOTAL = "total"  # the point array of Σᵢ uᵢ in the field files


def is_temporary(path: str | Path) -> bool:
    """A copy a writer is still writing aside (hidden: ``.NAME.XXXXXXXX.ext``, renamed into place once complete,
    pdemet.output.files). One that is there while nobody holds the directory's lock was left by a killed writer."""
    name = Path(path).name
    return name.startswith(".") and name != LOCK


def stale_temporaries(run_dir: str | Path) -> list[Path]:
    """The copies a killed writer left in a run directory (call it holding the lock): hidden files named after
    one of the run's own files, and hidden field files. A user's own hidden files are not among them."""
    run_dir = Path(run_dir)
    stems = tuple(f".{Path(name).stem}." for name in OUTPUTS)
    top = [p for p in run_dir.iterdir() if p.is_file() and is_temporary(p) and p.name.startswith(stems)] \
        if run_dir.is_dir() else []
    fields = run_dir / FIELDS
    return top + ([p for p in fields.iterdir() if p.is_file() and is_temporary(p) and p.suffix == ".vtkhdf"]
                  if fields.is_dir() else [])


def field_file(run_dir: str | Path, organ: str) -> Path:
    return Path(run_dir) / FIELDS / f"{organ}.vtkhdf"
