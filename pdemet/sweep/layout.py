"""The sweep directory's file names, defined once (each member's own run directory: :mod:`pdemet.output.layout`).

    sweep.toml           a copy of the sweep file (marks the directory as a sweep's, to resume)
    members/<id>/        one run directory per member, plus member.json (its record: status, error, wall time)
    sweep.csv            one row per member: id, point, swept values, seed, status, error, headline results
    sweep_timing.csv     wall time and ranks per member, and whether this invocation ran it
    sweep_summary.csv    per parameter point: n, mean, std and 95 % CI half-width of each headline result
    sweep_<param>.png    headline results against each numeric swept parameter
"""

SWEEP_FILE = "sweep.toml"
MEMBERS = "members"
MEMBER_FILE = "member.json"
TABLE = "sweep.csv"
TIMING = "sweep_timing.csv"
SUMMARY = "sweep_summary.csv"
