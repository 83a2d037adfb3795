"""``run.config``: hyperparameters, with attribute and dict access.

Every change is recorded as a CONFIG record, so the run log alone rebuilds the config.
Changing a key's value needs ``allow_val_change=True``, as in W&B: silently changing
a hyperparameter halfway through a run is almost always a bug.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from trackwell.errors import ConfigError, DataDroppedWarning, warn_user
from trackwell.normalize import DROP, convert

MAX_CONFIG_BYTES = 10_000_000

Emit = Callable[[dict[str, Any], list[str]], None]


def config_from_input(source: Any) -> dict[str, Any]:
    """Accept a dict, an argparse Namespace, absl-style flags, or a YAML file path."""
    if source is None:
        return {}
    if isinstance(source, (str, os.PathLike)):
        return load_yaml_config(Path(source))
    if isinstance(source, Mapping):
        return dict(source)
    if hasattr(source, "flag_values_dict"):  # absl.flags.FLAGS
        return dict(source.flag_values_dict())
    if hasattr(source, "__dict__") and not isinstance(source, type):  # argparse.Namespace & co.
        return {k: v for k, v in vars(source).items() if not k.startswith("_")}
    raise ConfigError(
        f"config must be a dict, an argparse.Namespace or a YAML file path, not {type(source).__name__}"
    )


def load_yaml_config(path: Path) -> dict[str, Any]:
    """Read a config YAML: plain ``key: value``, or W&B's ``key: {value: ..., desc: ...}``."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    out = {}
    for key, value in doc.items():
        if key in ("wandb_version", "trackwell_version", "_wandb", "_trackwell"):
            continue
        if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
            value = value["value"]
        out[str(key)] = value
    return out


class Config:
    """Dict-like, attribute-accessible hyperparameters of a run."""

    def __init__(self, emit: Emit | None = None, items: Mapping[str, Any] | None = None) -> None:
        # ``items``: a resumed run's config, already in its log (so not emitted again)
        object.__setattr__(self, "_items", dict(items or {}))
        object.__setattr__(self, "_emit", emit)

    # -- writing -------------------------------------------------------------
    def update(self, d: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:
        """Merge keys from a dict / Namespace / YAML path (and keyword arguments)."""
        data = config_from_input(d)
        data.update(kwargs)
        self._set(data, allow_val_change)

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        """Set only the keys that are not set yet (W&B's ``config.setdefaults``)."""
        self._set({k: v for k, v in dict(d).items() if k not in self._items}, False)

    def _set(self, data: Mapping[str, Any], allow_val_change: bool) -> None:
        changed: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"config keys must be strings, got {key!r} ({type(key).__name__})")
            value = convert(value, key, where="config")
            if value is DROP:
                continue
            if key in self._items and self._items[key] != value and not allow_val_change:
                old = self._items[key]
                if not (_is_nan(old) and _is_nan(value)):
                    raise ConfigError(
                        f"Attempted to change value of key {key!r} from {old!r} to {value!r}. "
                        "If you really want to do this, pass allow_val_change=True to config.update()"
                    )
            changed[key] = value
        if not changed:
            return
        self._items.update(changed)
        self._check_size()
        if self._emit is not None:
            self._emit(changed, [])

    def _check_size(self) -> None:
        approx = len(repr(self._items))
        if approx > MAX_CONFIG_BYTES:
            warn_user(
                f"run config is about {approx / 1e6:.0f} MB, over the 10 MB W&B recommends; "
                "large configs slow down run tables. Log big data as files or artifacts.",
                DataDroppedWarning,
            )

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value}, False)

    def __setattr__(self, key: str, value: Any) -> None:
        self._set({key: value}, False)

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        if self._emit is not None:
            self._emit({}, [key])

    __delattr__ = __delitem__

    # -- reading ------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> Any:
        return self._items.keys()

    def values(self) -> Any:
        return self._items.values()

    def items(self) -> Any:
        return self._items.items()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return bool(self._items == other._items)
        return isinstance(other, Mapping) and bool(self._items == dict(other))

    def __repr__(self) -> str:
        return f"Config({self._items!r})"

    def __getstate__(self) -> dict[str, Any]:
        return dict(self._items)

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_items", dict(state))
        object.__setattr__(self, "_emit", None)


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v
