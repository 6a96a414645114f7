"""Scenarios: TOML files validated into typed objects with units (mm, days, cells/mm³).

``model``  the dataclasses (defaults written once)     ``parse``  TOML → Scenario, and back (resolved)
``files``  reading/writing TOML, finding named files   ``keys``   dotted key paths (set_key, flatten)
(tables and parameters: :mod:`pdemet.validation`)
"""

from pdemet.errors import ScenarioError, fail  # noqa: F401
from pdemet.scenario.files import PACKAGE_DIR, REPO_DIR, dump_toml, load_toml, resolve_path  # noqa: F401
from pdemet.scenario.keys import flatten, set_key  # noqa: F401
from pdemet.scenario.model import (PALETTE, InitialConfig, OrganConfig, Scenario,  # noqa: F401
                                   SimulationConfig)
from pdemet.scenario.parse import (SITE_KEYS, parse_scenario, resolved, scenario_from_toml,  # noqa: F401
                                   scenario_hash)
from pdemet.validation import Param, Table  # noqa: F401
