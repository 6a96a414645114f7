#!/usr/bin/env python
"""Run the pdemet benchmarks: ``scripts/bench.py [--quick] [--out DIR]`` (same as ``pdemet bench``).

Writes DIR/bench.json and DIR/bench.md (default DIR: bench). Run on one rank; the MPI comparison
starts its own ``mpiexec`` subprocesses. See docs/performance.md.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pdemet.bench import main  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench", help="directory for bench.json and bench.md")
    ap.add_argument("--quick", action="store_true", help="small sizes (< 90 s; used by the tests)")
    args = ap.parse_args()
    main(Path(args.out), quick=args.quick)
