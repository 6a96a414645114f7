"""User files of terms and cluster laws (``plugins = [...]`` under ``[simulation]``).

A plugin registers what it defines with :func:`pdemet.terms.register` or :func:`pdemet.flux.laws.register`;
importing it is the explicit step that makes those names selectable in the scenario.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pdemet.errors import fail


def load(path: Path, where: str = "plugin") -> None:
    """Import a user's Python file once; an error inside it is reported in one line naming ``where``."""
    module_name = f"pdemet_plugin_{abs(hash(str(path)))}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a user's file: report it in one line
        fail(where, f"importing {path} failed: {type(e).__name__}: {e}")
    sys.modules[module_name] = module
