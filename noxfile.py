"""nox sessions for trackwell: the everyday developer tasks over the whole repository.

``nox`` runs lint and tests; ``nox -s benchmarks -- --quick`` runs the benchmark suite
(arguments after ``--`` go to benchmarks/run.py, or to pytest for ``tests``); ``nox -s docs``
checks the generated parts of the docs (``nox -s docs -- write`` regenerates them).

The roles (docs/development.md): nox is for a developer's tasks, each session one
environment with everything in it (.nox/NAME, reused between runs); tox.ini is for
testing each distribution with only its own dependencies. Both install from the one
table of distributions and environments in pyproject.toml (scripts/distributions.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
import distributions  # noqa: E402  (the one table of distributions and environments)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the repository, mypy on every distribution's sources, the static checks of tests/arch."""
    env = distributions.lint()
    session.install(*env.pip_args())
    session.run("ruff", "check", ".")
    session.run("mypy")
    session.run("pytest", *(f"tests/{d}" for d in env.tests), *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite in one environment: every test environment's installs but those needing torch.

    The framework integrations' tests (Lightning, transformers, Keras, torch) skip, saying
    why; ``bash scripts/test.sh`` runs them too where a local CPU build of torch is.
    """
    for env in distributions.envs().values():
        if not env.torch:
            session.install(*env.pip_args())
    session.run("pytest", *session.posargs)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """The performance benchmarks, figures beside targets (see benchmarks/README.md)."""
    session.install(*distributions.envs()["core"].pip_args())
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The docs' generated parts are current: the hook reference in docs/plugins.md.

    ``nox -s docs -- write`` rewrites them instead of checking.
    """
    session.install("-e", "core")
    check = [] if session.posargs[:1] == ["write"] else ["--check"]
    session.run("python", "-m", "trackwell.plugins.reference", *check, "docs/plugins.md")
