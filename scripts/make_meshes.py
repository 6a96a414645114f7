#!/usr/bin/env python
"""Regenerate the organ meshes: ``python scripts/make_meshes.py [--refinement R] [--out meshes/] [ORGAN ...]``.

Writes ``<out>/<organ>.msh`` for every organ of ``pdemet.meshes.ORGANS`` (or only
the named ones) and prints one line per mesh.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from pdemet.meshes import ORGANS, make_mesh
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pdemet.meshes import ORGANS, make_mesh


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("organs", nargs="*", metavar="ORGAN", help=f"organs to mesh (default: all of {', '.join(ORGANS)})")
    parser.add_argument("--refinement", type=float, default=1.0,
                        help="element size = organ default size / R (default 1)")
    parser.add_argument("--out", type=Path, default=Path("meshes"), help="output folder (default meshes/)")
    parser.add_argument("--seed", type=int, default=0, help="gmsh mesher random seed (default 0)")
    args = parser.parse_args(argv)

    unknown = [o for o in args.organs if o not in ORGANS]
    if unknown:
        parser.error(f"unknown organ(s) {', '.join(unknown)}; known organs: {', '.join(ORGANS)}")
    if not args.refinement > 0:
        parser.error("--refinement must be positive")

    for organ in args.organs or list(ORGANS):
        r = make_mesh(organ, args.out / f"{organ}.msh", refinement=args.refinement, seed=args.seed)
        lo, hi = r["bbox"]
        ext = " x ".join(f"{b - a:.1f}" for a, b in zip(lo, hi))
        print(f"{organ:8s} {r['path']}: {r['n_vertices']} vertices, {r['n_tets']} tets, "
              f"volume {r['volume_mm3']:.1f} mm^3, bbox {ext} mm "
              f"[{', '.join(f'{v:.2f}' for v in lo)}] .. [{', '.join(f'{v:.2f}' for v in hi)}], "
              f"min quality {r['min_quality']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
