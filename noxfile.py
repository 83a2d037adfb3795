"""nox sessions for trackwell: lint, tests, benchmarks.

``nox`` runs lint and tests; ``nox -s benchmarks -- --quick`` runs the benchmark
suite (arguments after ``--`` go to benchmarks/run.py, or to pytest for ``tests``).
tox.ini holds the per-distribution test environments; these sessions are the
everyday developer tasks over the whole repository.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the repository, mypy on the core (settings in pyproject.toml)."""
    # the test requirements too: mypy checks trackwell.testing, the pytest plugin
    session.install(
        "-e", "core", "-e", "plugins/webhook", "-e", "plugins/tensorboard", "-e", "server-lite",
        "-r", "requirements-lint.txt", "-r", "requirements-test.txt",
    )  # fmt: skip
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Every distribution's tests (tests/), with the pinned test dependencies."""
    session.install("-e", "core", "-r", "requirements-test.txt")
    session.install("-e", "plugins/webhook", "-e", "plugins/tensorboard", "-r", "requirements-plugins.txt")
    session.install("-e", "server-lite", "-r", "requirements-server-test.txt")
    session.run("pytest", *session.posargs)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """The performance benchmarks, figures beside targets (see benchmarks/README.md)."""
    session.install("-e", "core")
    session.run("python", "benchmarks/run.py", *session.posargs)
