"""The repository's distributions and test environments, read from the one table that lists them.

The table is ``[tool.trackwell]`` in the root pyproject.toml. noxfile.py imports this
module; scripts/_venv.sh runs it to learn what to install (``python scripts/distributions.py
venv``); tests/arch/test_tooling.py checks tox.ini and the tool settings against it. Only
the standard library, so that it runs in a bare interpreter before anything is installed.

    python scripts/distributions.py venv        # one line per env, for scripts/_venv.sh
    python scripts/distributions.py pip ENV     # the pip arguments that install ENV
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pip vendors the same parser (tomllib is tomli, adopted)
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Env:
    """One test environment: a tox env of the same name, and one install step of scripts/_venv.sh."""

    name: str
    description: str
    install: list[str]
    requirements: list[str]
    tests: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    constraints: str | None = None
    torch: bool = False

    def pip_args(self) -> list[str]:
        """What ``pip install`` gets, relative to the repository root."""
        args = ["-c", self.constraints] if self.constraints else []
        args += self.packages
        for path in self.install:
            args += ["-e", path]
        for req in self.requirements:
            args += ["-r", req]
        return args

    def inputs(self) -> list[str]:
        """The files the install reads: a change to any of them means reinstalling."""
        files = [f"{path}/pyproject.toml" for path in self.install] + self.requirements
        return files + ([self.constraints] if self.constraints else [])


def table() -> dict[str, object]:
    """The raw ``[tool.trackwell]`` table."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        data: dict[str, object] = tomllib.load(f)["tool"]["trackwell"]
    return data


def distributions() -> dict[str, str]:
    """Top-level package -> the distribution's directory, for every distribution."""
    dists: dict[str, str] = table()["distributions"]  # type: ignore[assignment]
    return dists


def envs() -> dict[str, Env]:
    """Every test environment, by name, in the table's order."""
    raw: dict[str, dict[str, object]] = table()["envs"]  # type: ignore[assignment]
    return {name: Env(name=name, **spec) for name, spec in raw.items()}  # type: ignore[arg-type]


def lint() -> Env:
    """What the lint environments (tox -e lint, nox -s lint) install."""
    spec: dict[str, object] = table()["lint"]  # type: ignore[assignment]
    return Env(name="lint", **spec)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    if argv[:1] == ["venv"]:
        # name, torch flag, input files, pip arguments: tab-separated (no path holds a space).
        # Environments that install the same things are one step ("online+server+..."): into the
        # one .venv, a second identical install would only rebuild the same editable wheels.
        steps: dict[tuple[str, ...], list[Env]] = {}
        for env in envs().values():
            steps.setdefault(tuple(env.pip_args()), []).append(env)
        for args, same in steps.items():
            first = same[0]
            name = "+".join(env.name for env in same)
            print("\t".join([name, "1" if first.torch else "0", " ".join(first.inputs()), " ".join(args)]))
        return 0
    if len(argv) == 2 and argv[0] == "pip":
        env = lint() if argv[1] == "lint" else envs()[argv[1]]
        print(" ".join(env.pip_args()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
