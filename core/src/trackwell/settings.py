"""Run settings and where each one comes from.

A setting resolves, first match wins: an ``init()`` argument (or ``settings=``) >
``TRACKWELL_<NAME>`` > ``WANDB_<NAME>`` (so existing W&B setups keep working) > the
workspace settings file ``./trackwell/settings`` > the user settings file
(``$TRACKWELL_CONFIG_DIR/settings``, default ``~/.config/trackwell/settings``) > default.

The API key is the exception, because the workspace file comes with whatever
repository was cloned: a key the user saved is bound to the server it was saved for
(``trackwell.credentials``) and goes to no other, and a workspace file that points
runs at a server the user never logged in to is reported and gets none of their keys.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trackwell.credentials import SavedKeys, read_parser, saved_keys, server_origin
from trackwell.errors import UsageError, warn_user

MODES = ("online", "offline", "disabled")
_MODE_ALIASES = {"dryrun": "offline", "run": "online", "shared": "online"}

#: field -> (environment suffix, type, default). The suffix is shared by TRACKWELL_ and WANDB_.
FIELDS: dict[str, tuple[str, type, Any]] = {
    "mode": ("MODE", str, "offline"),
    "project": ("PROJECT", str, None),
    "entity": ("ENTITY", str, None),
    "name": ("NAME", str, None),
    "run_id": ("RUN_ID", str, None),
    "run_group": ("RUN_GROUP", str, None),
    "job_type": ("JOB_TYPE", str, None),
    "tags": ("TAGS", tuple, ()),
    "notes": ("NOTES", str, None),
    "root_dir": ("DIR", str, None),
    "resume": ("RESUME", str, None),
    "save_code": ("SAVE_CODE", bool, False),
    "anonymous": ("ANONYMOUS", str, None),
    "console": ("CONSOLE", str, "auto"),
    "silent": ("SILENT", bool, False),
    "quiet": ("QUIET", bool, False),
    "disable_git": ("DISABLE_GIT", bool, False),
    "disable_code": ("DISABLE_CODE", bool, False),
    "config_paths": ("CONFIG_PATHS", tuple, ()),
    "host": ("HOST", str, None),
    "username": ("USERNAME", str, None),  # the entity of an offline run that names none
    "base_url": ("BASE_URL", str, None),
    "api_key": ("API_KEY", str, None),
    "sweep_id": ("SWEEP_ID", str, None),
    "flush_interval": ("FLUSH_INTERVAL", float, 0.2),
    "stats_sampling_interval": ("X_STATS_SAMPLING_INTERVAL", float, 15.0),
    "disable_stats": ("X_DISABLE_STATS", bool, False),
    "min_free_disk_mb": ("MIN_FREE_DISK_MB", float, 10.0),
    "finish_timeout": ("FINISH_TIMEOUT", float, 30.0),
    "upload_timeout": ("UPLOAD_TIMEOUT", float, 60.0),
    "init_timeout": ("INIT_TIMEOUT", float, 10.0),
    "disable_plugins": ("DISABLE_PLUGINS", tuple, ()),
    "sync_tensorboard": ("SYNC_TENSORBOARD", bool, False),
    # W&B's shared mode: one run written by several processes (mode="shared")
    "x_shared": ("X_SHARED", bool, False),
    "x_primary": ("X_PRIMARY", bool, True),
    "x_label": ("X_LABEL", str, None),
}

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def _coerce(name: str, kind: type, raw: Any) -> Any:
    """Turn a raw value (often a string from env or a file) into the field's type."""
    if raw is None:
        return None
    if kind is bool:
        if isinstance(raw, str):
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise UsageError(f"setting {name!r}: expected true/false, got {raw!r}")
        return bool(raw)
    if kind is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise UsageError(f"setting {name!r}: expected a number, got {raw!r}") from None
    if kind is tuple:
        if isinstance(raw, str):
            return tuple(p.strip() for p in raw.split(",") if p.strip())
        return tuple(str(t) for t in raw)
    return str(raw)


def user_config_dir() -> Path:
    env = os.environ.get("TRACKWELL_CONFIG_DIR") or os.environ.get("WANDB_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "trackwell"


def workspace_settings_path(root_dir: str | os.PathLike[str] | None = None) -> Path:
    return Path(root_dir or os.getcwd()) / "trackwell" / "settings"


def read_settings_parser(path: Path) -> configparser.ConfigParser:
    """Every section of an INI settings file; a missing file is empty, a broken one a UsageError."""
    try:
        return read_parser(path)
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read settings file {path}: {exc}") from None


def read_settings_file(path: Path) -> dict[str, str]:
    """Read the ``[default]`` section of an INI settings file; a missing file is empty."""
    parser = read_settings_parser(path)
    return dict(parser["default"]) if parser.has_section("default") else {}


def write_settings_file(path: Path, updates: Mapping[str, str | None], private: bool = False) -> None:
    """Merge ``updates`` into the ``[default]`` section of an INI settings file (None removes a key)."""
    parser = read_parser(path)
    if not parser.has_section("default"):
        parser.add_section("default")
    for key, value in updates.items():
        if value is None:
            parser.remove_option("default", key)
        else:
            parser["default"][key] = value
    write_settings_parser(path, parser, private)


def write_settings_parser(path: Path, parser: configparser.ConfigParser, private: bool = False) -> None:
    """Write a whole INI settings file.

    ``private`` files (they hold an API key) are readable by their owner only (0600),
    from the moment they exist: written to a 0600 temporary file, then renamed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not private:
        with open(path, "w", encoding="utf-8") as fh:
            parser.write(fh)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by the umask, and ignored for an old file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            parser.write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _env_value(suffix: str, environ: Mapping[str, str]) -> str | None:
    for prefix in ("TRACKWELL_", "WANDB_"):
        value = environ.get(prefix + suffix)
        if value is not None:
            return value
    return None


class Settings:
    """Resolved settings for one run. Construct with keyword overrides, or resolve()."""

    mode: str
    project: str | None
    entity: str | None
    name: str | None
    run_id: str | None
    run_group: str | None
    job_type: str | None
    tags: tuple[str, ...]
    notes: str | None
    root_dir: str | None
    resume: str | None
    save_code: bool
    anonymous: str | None
    console: str
    silent: bool
    quiet: bool
    disable_git: bool
    disable_code: bool
    config_paths: tuple[str, ...]
    host: str | None
    username: str | None
    base_url: str | None
    api_key: str | None
    sweep_id: str | None
    flush_interval: float
    stats_sampling_interval: float
    disable_stats: bool
    min_free_disk_mb: float
    finish_timeout: float
    upload_timeout: float
    init_timeout: float
    disable_plugins: tuple[str, ...]
    sync_tensorboard: bool
    x_shared: bool
    x_primary: bool
    x_label: str | None

    def __init__(self, **overrides: Any) -> None:
        """Keyword overrides: trackwell's field names, W&B's spellings (``id``, ``run_name``,
        ``x_stats_sampling_interval``, legacy ``_disable_stats``), and every other field
        W&B's ``Settings`` has (accepted; those with no effect here are named in one warning)."""
        self._explicit: dict[str, Any] = {}
        #: W&B settings that are ``init()`` arguments here (reinit, fork_from, resume_from)
        self.init_arguments: dict[str, Any] = {}
        ignored: list[str] = []
        for key, value in overrides.items():
            field = _field_name(key)
            if value is None:
                continue
            if field in FIELDS:
                self._explicit[field] = _coerce(field, FIELDS[field][1], value)
            elif field in INIT_ARGUMENTS:
                self.init_arguments[field] = value
            else:
                ignored.append(key)
        _warn_ignored(ignored)
        for field, (_, _, default) in FIELDS.items():
            setattr(self, field, self._explicit.get(field, default))

    @classmethod
    def resolve(
        cls,
        arguments: Mapping[str, Any] | None = None,
        settings: Settings | Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        base: Settings | Mapping[str, Any] | None = None,
    ) -> Settings:
        """Apply the precedence chain and return the settings a run will use.

        ``base`` (``trackwell.setup(settings=...)``) ranks just below ``settings``.
        """
        environ = os.environ if environ is None else environ
        explicit: dict[str, Any] = {}
        init_arguments: dict[str, Any] = {}
        for given in (base, settings):
            if given is not None and not isinstance(given, Settings):
                given = cls(**dict(given))
            if given is not None:
                explicit.update(given._explicit)
                init_arguments.update(given.init_arguments)
        explicit.update(cls(**{k: v for k, v in (arguments or {}).items() if v is not None})._explicit)

        user_parser = read_settings_parser(user_config_dir() / "settings")
        user_file = dict(user_parser["default"]) if user_parser.has_section("default") else {}
        root = explicit.get("root_dir") or _env_value("DIR", environ) or user_file.get("root_dir")
        workspace_path = workspace_settings_path(root)
        workspace = read_settings_file(workspace_path)
        files = {**user_file, **workspace}

        values: dict[str, Any] = {}
        for field, (suffix, kind, _default) in FIELDS.items():
            if field == "api_key":
                continue  # chosen below, once the server is known
            if field in explicit:
                values[field] = explicit[field]
                continue
            raw = _env_value(suffix, environ)
            if raw is None:
                raw = files.get(field)
            if raw is not None:
                values[field] = _coerce(field, kind, raw)
        if "base_url" in explicit:
            chosen_by = "code"
        elif _env_value("BASE_URL", environ) is not None:
            chosen_by = "environment"
        elif workspace.get("base_url") is not None:
            chosen_by = "workspace"
        else:
            chosen_by = "user"
        values["api_key"] = _api_key(
            values.get("base_url"), chosen_by, explicit.get("api_key"), _env_value("API_KEY", environ),
            saved_keys(user_parser), workspace, user_file, workspace_path,
        )  # fmt: skip
        if "mode" not in values and values.get("base_url"):
            values["mode"] = "online"  # a configured server makes online the default
        resolved = cls(**values)
        if resolved.mode == "shared":  # an online run that other processes write too
            resolved.x_shared = True
        resolved.mode = normalize_mode(resolved.mode)
        resolved.init_arguments = init_arguments
        return resolved

    def to_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in FIELDS if field != "api_key"}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"Settings({shown})"


#: (workspace file, server) pairs already reported, so a process says it once
_reported: set[tuple[str, str]] = set()


def _api_key(
    base_url: str | None,
    chosen_by: str,
    explicit_key: str | None,
    env_key: str | None,
    saved: SavedKeys,
    workspace: Mapping[str, str],
    user_file: Mapping[str, str],
    workspace_path: Path,
) -> str | None:
    """The key to send to ``base_url``, given who chose that server.

    A key passed in code is sent wherever the code says. A key in the environment
    goes to any server the user chose (code, environment, user settings file, or one
    they saved a key for), but not to one only a workspace file names: an exported
    ``WANDB_API_KEY`` must not follow a cloned repository elsewhere. A saved key goes
    only to the server it was saved for; a workspace file's own ``api_key`` only to
    the server that same file names, and never in place of the user's key for it.
    """
    if explicit_key is not None:
        return explicit_key
    origin = server_origin(base_url)
    foreign = (
        chosen_by == "workspace"
        and origin is not None
        and origin != server_origin(user_file.get("base_url"))
        and origin not in saved.by_origin
    )
    if foreign and base_url is not None:
        _report_workspace_server(workspace_path, base_url, user_file.get("base_url"))
    if env_key is not None and not foreign:
        return env_key
    key = saved.by_origin.get(origin) if origin else None
    if key is None and origin is not None and server_origin(workspace.get("base_url")) == origin:
        key = workspace.get("api_key")
    if key is None and chosen_by in ("code", "environment"):
        key = saved.unbound
    return key


def _report_workspace_server(path: Path, base_url: str, own: str | None) -> None:
    """Say, once, that a workspace file sends runs to a server the user did not choose."""
    if (str(path), base_url) in _reported:
        return
    _reported.add((str(path), base_url))
    instead = f" instead of {own}" if own else ""
    warn_user(
        f"{path} sets base_url = {base_url}, a server you have not logged in to: runs started "
        f"here stream to it{instead}, and none of your API keys is sent there. If you did not "
        f"put that line there, delete it; to use that server, run `trackwell login --host "
        f"{base_url}` or set TRACKWELL_BASE_URL."
    )


#: W&B spellings accepted as keyword arguments: init()'s and Settings' names for our fields.
_ALIASES = {
    "id": "run_id", "group": "run_group", "dir": "root_dir",
    "run_name": "name", "run_notes": "notes", "run_tags": "tags", "run_job_type": "job_type",
    "x_stats_sampling_interval": "stats_sampling_interval", "x_disable_stats": "disable_stats",
}  # fmt: skip
#: W&B ``Settings`` fields that are ``init()`` arguments here (``Settings.init_arguments``)
INIT_ARGUMENTS = ("reinit", "fork_from", "resume_from")
#: W&B settings already named in a warning by this process (each is named once)
_warned_ignored: set[str] = set()


def _field_name(key: str) -> str:
    """Our field (or init argument) for a setting name, or a W&B field we ignore; else UsageError.

    W&B's legacy ``_name`` spellings mean ``x_name``, as in W&B's own ``Settings``.
    """
    from trackwell.settings_wandb import IGNORED

    if key in FIELDS or key in INIT_ARGUMENTS:
        return key
    name = "x" + key if key.startswith("_") else key
    name = _ALIASES.get(name, name)
    if name in FIELDS or name in INIT_ARGUMENTS or name in IGNORED:
        return name
    import difflib

    known = [*FIELDS, *_ALIASES, *INIT_ARGUMENTS, *IGNORED]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"unknown setting(s): {key}{hint}")


def _warn_ignored(names: list[str]) -> None:
    """Name, once per process, the W&B settings that have no effect here."""
    new = sorted(set(names) - _warned_ignored)
    if not new:
        return
    _warned_ignored.update(new)
    warn_user(f"trackwell: W&B setting(s) {', '.join(new)} have no effect in trackwell; accepted and ignored")


def normalize_mode(mode: str) -> str:
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
    return mode
