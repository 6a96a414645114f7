"""A drug given as repeated bolus doses (a pdemet plugin used by docs/tutorial.md).

Each dose raises the kill rate by about k_max within a time w, and the drug is then eliminated
with time constant τ_e; doses add up:

    k(t) = k_max · Σ_d S(t − t_d) · exp(−(t − t_d)/τ_e),   t_d = t₀ + j·τ,  j = 0 .. n − 1,
    S(s) = ½ (1 + tanh(s/w))   (a smooth step of width w instead of "if t ≥ t_d")

and every clone is killed at that rate: fᵢ = −k(t) uᵢ.

Why a smooth closed form: ``rate`` runs on numpy arrays with ``ctx.t`` a float (splitting
solver, the default) and on UFL expressions with ``ctx.t`` a DOLFINx Constant (Newton
solver). ``if t >= t_d`` or ``np.where`` only works in the first case; arithmetic and
``ctx.ops`` (exp, tanh, ...) work in both. Keep w < 2 τ_e so that S·exp stays bounded before a
dose, and w not much shorter than the time step, so the solver sees the rise of each dose.
"""

from pdemet.terms import Param, Reaction, register


@register
class DoseKill(Reaction):
    """Kill rate of a drug given every τ days as a bolus, eliminated exponentially."""

    name = "dose_kill"
    params = {
        "kill_max": Param("1/day", 1.0, "k_max: kill rate right after one dose"),
        "dose_interval": Param("days", 1.0, "τ: time between doses", positive=True),
        "elimination_time": Param("days", 0.5, "τ_e: elimination time constant (half-life τ_e·ln 2)",
                                  positive=True),
        "first_dose": Param("days", 0.0, "t₀: time of the first dose"),
        "n_doses": Param("doses", 7, "n: number of doses (a whole number)"),
        "dose_ramp": Param("days", 0.05, "w: width of the smooth step at each dose", positive=True),
    }

    def rate(self, u, ctx):
        p, ops = ctx.p, ctx.ops
        k = 0.0
        for j in range(int(round(p["n_doses"]))):       # a fixed list of dose times: a plain sum
            s = ctx.t - (p["first_dose"] + j * p["dose_interval"])   # float or UFL expression
            k = k + 0.5 * (1.0 + ops.tanh(s / p["dose_ramp"])) * ops.exp(-s / p["elimination_time"])
        k = p["kill_max"] * k
        return [-k * ui for ui in u]
