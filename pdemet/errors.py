"""Errors a user can fix. Each carries a one-line message; the CLI prints it and exits with ``exit_code``.

Every user-facing failure derives from :class:`UserError`, so ``pdemet`` catches one base class and
never shows a traceback for them.
"""

from __future__ import annotations

from typing import NoReturn


class UserError(Exception):
    """A problem the user can fix, described in one line."""

    exit_code = 2


class ScenarioError(UserError, ValueError):
    """A scenario (or a command-line option) names a bad value: the key path, what was given, what was expected."""


class MeshError(UserError, ValueError):
    """A mesh pdemet cannot use; the message is one line that names the problem."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class RenderError(UserError):
    """Bad input for rendering (missing run directory, no fields, bad step...)."""


class CheckoutError(UserError):
    """A command needs the pdemet source checkout (e.g. ``benchmarks/``), not only the installed package."""


class StepFailure(UserError, RuntimeError):
    """The time step fell below dt_min: the run cannot proceed (exit status 3)."""

    exit_code = 3


def fail(path: str, message: str) -> NoReturn:
    """Raise a ScenarioError for the key ``path`` (empty: the scenario as a whole)."""
    raise ScenarioError(f"{path}: {message}" if path else message)


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of any exception (for one-line reports of foreign errors)."""
    text = str(exc).strip()
    line = text.splitlines()[0].strip() if text else ""
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__
