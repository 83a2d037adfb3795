"""The ``command:`` of a sweep configuration, with W&B's macros expanded for one trial."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from trackwell.errors import UsageError

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
_ENVVAR = re.compile(r"\$\{envvar:([A-Za-z_][A-Za-z0-9_]*)\}")


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def build(
    command: Sequence[str] | None,
    program: str | None,
    params: Mapping[str, Any],
    args_json_file: str,
) -> list[str]:
    """The argv for one trial; ``params`` is the nested config (``{"optimizer": {"lr": 0.1}}``)."""
    out: list[str] = []
    for part in command or DEFAULT_COMMAND:
        if part == "${env}":
            if os.name != "nt":
                out.append("/usr/bin/env")
        elif part == "${interpreter}":
            out.append(sys.executable)
        elif part == "${program}":
            if not program:
                raise UsageError("the sweep's command uses ${program} but the configuration has no program:")
            out.append(program)
        elif part == "${args}":
            out.extend(f"--{k}={_text(v)}" for k, v in params.items())
        elif part == "${args_no_hyphens}":
            out.extend(f"{k}={_text(v)}" for k, v in params.items())
        elif part == "${args_no_boolean_flags}":
            for k, v in params.items():
                if v is True:
                    out.append(f"--{k}")
                elif v is not False:
                    out.append(f"--{k}={_text(v)}")
        elif part == "${args_json}":
            out.append(json.dumps(dict(params)))
        elif part == "${args_json_file}":
            out.append(args_json_file)
        else:
            out.append(_ENVVAR.sub(lambda m: os.environ.get(m.group(1), ""), part))
    return out
