"""A small two-organ scenario on boxes for the extension examples (runs in seconds)."""

import copy

SCENARIO = {
    "simulation": {"t_end": 2.0, "dt": 0.25, "output_every": 1.0, "seed": 3},
    "clones": {"names": ["red", "blue"]},
    "organs": {
        "primary": {"role": "primary", "box": [4.0, 4.0, 2.0], "cells": [8, 8, 4],
                    "terms": ["diffusion", "logistic"], "diffusion": 0.01, "growth_rate": 0.25,
                    "initial": {"shape": "ball", "center": [2.0, 2.0, 1.0], "radius": 1.0, "density": 5e5}},
        "lung": {"role": "site", "box": [2.0, 2.0, 2.0], "cells": [4, 4, 4], "terms": ["diffusion"],
                 "diffusion": 0.001, "first_pass": True, "arrest_probability": 0.01},
    },
    "cluster_flux": {"shedding_rate": 0.01, "shedding_weight": "uniform", "sizes": {"exponent": 2.0}},
}


def scenario(**flux) -> dict:
    data = copy.deepcopy(SCENARIO)
    for key, value in flux.items():
        data["cluster_flux"][key] = value
    return data
