"""``trackwell plugins new NAME``: a new plugin project, copied from the template.

The template is the repository's ``plugins/template/``: a working plugin named
``example`` (distribution ``trackwell-example``, module ``trackwell_example``) that
CI installs and tests. A new project is that copy with the three names replaced.
Wheels of trackwell carry the template as ``trackwell/plugin_template``; a source
checkout (an editable install) reads ``plugins/template/`` directly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from trackwell.errors import UsageError

TEMPLATE_DIST = "trackwell-example"
TEMPLATE_MODULE = "trackwell_example"
TEMPLATE_PLUGIN = "example"

_SKIP_DIRS = {"__pycache__", ".pytest_cache", "build", "dist", "trackwell", ".mypy_cache", ".ruff_cache"}
_NAME = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class Names:
    """A new plugin's names: ``slack-digest`` -> distribution ``trackwell-slack-digest``,
    module ``trackwell_slack_digest``, plugin (entry point) ``slack_digest``."""

    dist: str
    module: str
    plugin: str

    @classmethod
    def from_name(cls, name: str) -> Names:
        slug = name.strip().lower()
        for prefix in ("trackwell-", "trackwell_"):
            if slug.startswith(prefix):
                slug = slug[len(prefix) :]
        if not _NAME.match(slug):
            raise UsageError(
                f"plugin name {name!r} must be lowercase letters, digits, '-' or '_', starting with a letter "
                "(for example: slack-digest)"
            )
        under = slug.replace("-", "_")
        return cls(dist=f"trackwell-{slug.replace('_', '-')}", module=f"trackwell_{under}", plugin=under)


def template_dir() -> Path:
    """Where the template is: inside the installed package, else the source checkout."""
    package = Path(__file__).resolve().parents[1]  # .../trackwell
    for candidate in (package / "plugin_template", package.parents[2] / "plugins" / "template"):
        if (candidate / "pyproject.toml").is_file():
            return candidate.resolve()
    raise UsageError(
        "the plugin template is not installed with this trackwell; copy plugins/template/ "
        "from the trackwell repository instead"
    )


def _render(text: str, names: Names) -> str:
    text = text.replace(TEMPLATE_DIST, names.dist).replace(TEMPLATE_MODULE, names.module)
    # The plugin name where it stands alone: the entry point, and strings in the tests.
    text = re.sub(rf"^{TEMPLATE_PLUGIN} = ", f"{names.plugin} = ", text, flags=re.M)
    for before, after in (('"', '"'), ('"', "/"), ("`", "/"), ("PLUGINS=", "`")):
        text = text.replace(f"{before}{TEMPLATE_PLUGIN}{after}", f"{before}{names.plugin}{after}")
    return text


def create_plugin(name: str, parent: str | os.PathLike[str] = ".") -> tuple[Path, Names]:
    """Create ``<parent>/trackwell-<name>/`` from the template; returns it and its names."""
    names = Names.from_name(name)
    source = template_dir()
    dest = Path(parent) / names.dist
    if dest.exists() and any(dest.iterdir()):
        raise UsageError(f"{dest} already exists and is not empty")
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        rel = Path(folder).relative_to(source)
        out_dir = dest / Path(*(names.module if part == TEMPLATE_MODULE else part for part in rel.parts))
        out_dir.mkdir(parents=True, exist_ok=True)
        for file in sorted(files):
            data = (Path(folder) / file).read_bytes()
            try:
                data = _render(data.decode("utf-8"), names).encode("utf-8")
            except UnicodeDecodeError:
                pass  # a binary file: copied as it is
            (out_dir / file).write_bytes(data)
    return dest, names
