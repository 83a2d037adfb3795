"""``trackwell.init()`` and the process-wide bookkeeping of live runs.

Keeps the module-level shortcuts (``trackwell.run``, ``trackwell.log``, ...) pointing
at the current run, and makes sure every run gets a final state: ``finish()`` runs at
interpreter exit, and an unhandled exception marks runs ``failed`` (``killed`` for
Ctrl-C) before the traceback is printed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from trackwell import active, rundir
from trackwell._pipeline.runlog import new_stream_id
from trackwell.config import config_from_input, load_yaml_config
from trackwell.errors import UsageError, warn_user
from trackwell.run import Run
from trackwell.settings import Settings
from trackwell.wiring import open_log

if TYPE_CHECKING:
    from trackwell._pipeline.sender import Sender
    from trackwell._pipeline.writer import Writer
    from trackwell.console import ConsoleCapture

_active: list[Run] = []
_capturing: set[Run] = set()  # the active run whose console capture is on (one at a time)
_current: Run | None = None
_hooks_installed = False
_online_warned = False
_exit_code = 0  # set by sys.exit(code), used when atexit finishes the runs
_setup: Setup | None = None  # trackwell.setup(): its settings are every later init()'s defaults

REINIT_CHOICES = ("default", "return_previous", "finish_previous", "create_new")
RESUME_CHOICES = ("allow", "must", "never", "auto")

_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "daring", "eager", "fancy", "gentle",
    "golden", "hazy", "icy", "jolly", "keen", "lively", "lucky", "misty", "noble", "quiet",
    "rapid", "royal", "rustic", "silent", "silver", "smooth", "snowy", "solar", "sunny", "swift",
    "tidy", "vivid", "warm", "wild", "wise", "young",
)  # fmt: skip
_NOUNS = (
    "aurora", "breeze", "brook", "canyon", "cloud", "comet", "dawn", "delta", "dune", "ember",
    "field", "forest", "frost", "galaxy", "glade", "harbor", "haze", "lake", "leaf", "meadow",
    "moon", "night", "ocean", "peak", "pine", "planet", "rain", "river", "shadow", "sky",
    "snow", "sound", "star", "sun", "thunder", "tree", "valley", "wave", "wind",
)  # fmt: skip


def init(
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    id: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    config: Any = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    mode: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    resume: bool | str | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    reinit: bool | str | None = None,
    save_code: bool | None = None,
    settings: Settings | dict[str, Any] | None = None,
    anonymous: str | None = None,
    allow_val_change: bool | None = None,
    sync_tensorboard: bool | None = None,
    **unsupported: Any,
) -> Run:
    """Start a run and return it (W&B's ``wandb.init``, same arguments).

    The run directory is created and proven writable before this returns, so a full
    disk or a bad ``dir`` fails here, not later on a background thread.
    """
    global _current
    if unsupported:
        warn_user(
            f"trackwell.init(): ignoring unsupported argument(s) {', '.join(sorted(unsupported))}",
        )
    s = Settings.resolve(
        {
            "project": project, "entity": entity, "name": name, "run_id": id,
            "run_group": group, "job_type": job_type, "tags": tags, "notes": notes,
            "mode": mode, "root_dir": os.fspath(dir) if dir is not None else None,
            "resume": _resume_setting(resume), "save_code": save_code, "anonymous": anonymous,
            "sync_tensorboard": sync_tensorboard,
        },
        settings,
        base=_setup.settings if _setup is not None else None,
    )  # fmt: skip
    # W&B's Settings(reinit=..., fork_from=..., resume_from=...): init()'s own arguments win
    reinit = s.init_arguments.get("reinit") if reinit is None else reinit
    fork_from = fork_from or s.init_arguments.get("fork_from")
    resume_from = resume_from or s.init_arguments.get("resume_from")
    sweep_params = _sweep_trial(s)
    reinit_mode = _reinit_mode(reinit)
    if _current is not None and not _current._ended:
        if reinit_mode in ("default", "return_previous"):
            if reinit_mode == "default":
                warn_user(
                    f"trackwell.init() was called while run {_current.id} is active; returning "
                    "that run. Call run.finish() first, or pass reinit='finish_previous' "
                    "(or 'create_new' for several runs at once).",
                )
            return _current
        if reinit_mode == "finish_previous":
            _current.finish()
    if s.mode == "online" and not s.base_url:
        _warn_no_server()
        s.mode = "offline"
    if s.mode == "online" and not s.entity and "trackwell.account" in sys.modules:
        s.entity = sys.modules["trackwell.account"].learned_entity(s.base_url, s.api_key)  # login()'s
    if (fork_from or resume_from) and s.mode != "online":
        what = "fork_from=" if fork_from else "resume_from="
        raise UsageError(
            f"{what} forks or rewinds a run on a trackwell server, and this run is {s.mode}: "
            "configure a server with `trackwell login --host URL` (or TRACKWELL_BASE_URL) "
            "and use mode='online'"
        )
    initial = _initial_config(s, config, config_exclude_keys, config_include_keys)
    run = _create_run(s, fork_from, resume_from)
    if run.entity is None and s.mode != "online":
        run.entity = default_entity(s)  # online, the server names it (the saved login already did)
    run.config.update(initial, allow_val_change=True)
    if sweep_params is not None:  # the sweep's values win over init(config=...), as in W&B
        run.config.update(sweep_params, allow_val_change=True)
    if not run.disabled:
        from trackwell.plugins import get_plugin_manager

        plugins = get_plugin_manager(s)
        if s.sync_tensorboard and not plugins.hook.handles_setting(name="sync_tensorboard"):
            warn_user(
                "trackwell.init(sync_tensorboard=True) needs the trackwell-tensorboard plugin "
                "(pip install -e plugins/tensorboard, from the trackwell repository); "
                "TensorBoard events are not logged to this run"
            )
        capture = s.console != "off" and not _capturing.intersection(_active)
        if capture:
            _capturing.add(run)  # one capture at a time: the first active run's
        run._start(
            plugins,
            sender=_start_sender if s.mode == "online" else None,
            console=_console_capture if capture else None,
        )
        plugins.hook.report_run_start(run=run)  # the banner (default_plugins/terminal.py)
    _active.append(run)
    run._call_at_finish(_forget)
    if reinit_mode != "create_new" or _current is None or _current._ended:
        _current = run
        _bind_module(run)
    _install_process_hooks()
    return run


def default_entity(s: Settings) -> str:
    """The entity of a run nobody named one for: W&B's ``username`` setting, else the OS user.

    Offline (and disabled) runs only: an online run's entity is the server's, which the
    saved login records and the sender learns. The run log keeps no guessed entity, so
    ``trackwell sync`` still uploads to the key owner's entity.
    """
    import getpass

    if s.username:
        return s.username
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no LOGNAME (containers)
        return "trackwell"


def _sweep_trial(s: Settings) -> dict[str, Any] | None:
    """Inside a sweep agent's trial: the run id, project and mode the agent chose, and the
    suggested parameters (``TRACKWELL_SWEEP_PARAM_PATH``, set by ``trackwell.sweeps.runner``)."""
    path = os.environ.get("TRACKWELL_SWEEP_PARAM_PATH")
    if not path or not os.environ.get("TRACKWELL_SWEEP_ID"):
        return None
    import json

    for field, env in (("run_id", "RUN_ID"), ("project", "PROJECT"), ("entity", "ENTITY")):
        value = os.environ.get("TRACKWELL_" + env)
        if value:
            setattr(s, field, value)
    s.mode = "online"
    s.sweep_id = os.environ["TRACKWELL_SWEEP_ID"]
    with open(path, encoding="utf-8") as f:
        params: dict[str, Any] = json.load(f)
    return params


def _resume_setting(resume: bool | str | None) -> str | None:
    if resume is None or resume is False:
        return None
    if resume is True:
        return "allow"
    if resume not in RESUME_CHOICES:
        raise UsageError(f"resume must be one of {', '.join(RESUME_CHOICES)}, True or False (got {resume!r})")
    return str(resume)


def _reinit_mode(reinit: bool | str | None) -> str:
    if reinit is None:
        return "default"
    if reinit is True:
        return "finish_previous"
    if reinit is False:
        return "return_previous"
    if reinit not in REINIT_CHOICES:
        raise UsageError(f"reinit must be one of {', '.join(REINIT_CHOICES)}, True or False (got {reinit!r})")
    return reinit


def _warn_no_server() -> None:
    global _online_warned
    if not _online_warned:
        _online_warned = True
        warn_user(
            "trackwell: online mode needs a trackwell server and none is configured "
            "(run `trackwell login --host URL`, or set TRACKWELL_BASE_URL); this run is "
            "logged offline to ./trackwell/ instead, and `trackwell sync` can upload it later",
        )


def _initial_config(
    s: Settings, config: Any, exclude: Sequence[str] | None, include: Sequence[str] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    defaults = Path(os.getcwd()) / "config-defaults.yaml"
    if defaults.is_file():
        data.update(load_yaml_config(defaults))
    for path in s.config_paths:
        data.update(load_yaml_config(Path(path)))
    data.update(config_from_input(config))
    if include:
        data = {k: v for k, v in data.items() if k in set(include)}
    if exclude:
        data = {k: v for k, v in data.items() if k not in set(exclude)}
    return data


def _generate_name(base: Path) -> str:
    try:
        count = sum(1 for p in base.iterdir() if rundir.parse_run_dir_name(p.name)) if base.is_dir() else 0
    except OSError:
        count = 0
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{count + 1}"


def _create_run(s: Settings, fork_from: str | None = None, resume_from: str | None = None) -> Run:
    start = time.time()
    if s.mode == "disabled":
        run_id = s.run_id or rundir.new_run_id()
        return Run(s, run_id, s.name or "disabled-run", Path(os.devnull), start)
    base = rundir.trackwell_dir(s.root_dir)
    given_id = rundir.check_run_id(s.run_id) if s.run_id else None
    if fork_from or resume_from:
        return _create_from_server(s, base, given_id, start, fork_from, resume_from)
    if given_id is None and s.resume == "must":
        raise UsageError("resume='must' needs a run id: pass id=... or set TRACKWELL_RUN_ID")
    from trackwell.resume import find_resumable, resume_run

    previous = find_resumable(base, given_id, s.resume)
    if previous is not None:
        return resume_run(s, base, previous, start)
    if given_id is not None and s.resume == "never" and rundir.find_run_dir(base, given_id) is not None:
        raise UsageError(f"a run with id {given_id!r} already exists under {base} and resume='never'")
    if given_id is not None and s.resume is not None and s.mode == "online":
        # Not here: the server knows whether the run exists and where it stopped.
        return _create_from_server(s, base, given_id, start)
    if given_id is not None and s.resume == "must":
        raise UsageError(f"resume='must' but there is no local run with id {given_id!r} under {base}")
    run_id = given_id or rundir.new_run_id()
    return _new_run(s, base, run_id, s.name or _generate_name(base), start)


def _new_run(
    s: Settings,
    base: Path,
    run_id: str,
    name: str,
    start: float,
    resumed: bool = False,
    step: int = 0,
    config: dict[str, Any] | None = None,
    summary: Any = None,
) -> Run:
    """A new run directory (``run-...`` online, ``offline-run-...`` offline) and its Run;
    ``step``, ``config`` and ``summary`` are where a run continued from the server goes on."""
    run_dir = rundir.create_run_dir(base, run_id, s.mode != "online", start, s.min_free_disk_mb)
    rundir.point_latest(base, run_dir)
    opener = open_log(rundir.log_path(run_dir, run_id), summary=summary, config=config)
    stream = new_stream_id()  # names this log's records on a server (docs/server-api.md)
    return Run(s, run_id, name, run_dir, start, resumed, step=step, config=config, stream=stream,
               open_log=opener)  # fmt: skip


def _create_from_server(
    s: Settings,
    base: Path,
    run_id: str | None,
    start: float,
    fork_from: str | None = None,
    resume_from: str | None = None,
) -> Run:
    """Resume (its directory is not here), fork or rewind a run as the server says."""
    from trackwell._pipeline.online import continue_from, parse_step_spec, upsert_at_init

    if resume_from:
        rewound, step = parse_step_spec(resume_from, "resume_from")
        if run_id is not None and run_id != rewound:
            raise UsageError(f"resume_from names run {rewound!r} but id={run_id!r}; leave id= out")
        run_id = rewound
        answer = upsert_at_init(s, run_id, resume_from=step)
    elif fork_from:
        run_id = run_id or rundir.new_run_id()
        answer = upsert_at_init(s, run_id, fork_from=parse_step_spec(fork_from, "fork_from"))
    else:
        assert run_id is not None
        answer = upsert_at_init(s, run_id, resume=s.resume)
    if answer is None:  # resume="allow" and the server is away: start here, it syncs later
        return _new_run(s, base, run_id, s.name or _generate_name(base), start)
    info, existed = answer
    resumed = existed and not fork_from
    name = s.name or (info.get("name") if resumed else None) or _generate_name(base)
    step, config, summary = continue_from(info)
    return _new_run(s, base, run_id, str(name), start, resumed, step=step, config=config, summary=summary)


def _start_sender(run: Run, writer: Writer) -> Sender:
    from trackwell._pipeline.online import start_sender  # online runs only: HTTP code loads here

    return start_sender(run, writer)


def _console_capture(write: Callable[[str], None]) -> ConsoleCapture:
    from trackwell.console import ConsoleCapture

    return ConsoleCapture(write)


def _forget(run: Run) -> None:
    global _current
    if run in _active:
        _active.remove(run)
    _capturing.discard(run)
    if _current is run:
        _current = _active[-1] if _active else None
        if _current is None:
            _unbind_module()
        else:
            _bind_module(_current)


# -- module-level shortcuts ----------------------------------------------------


_BOUND = (
    "log", "define_metric", "alert", "save", "watch", "unwatch",
    "log_artifact", "use_artifact", "link_artifact", "log_model", "use_model", "link_model",
)  # fmt: skip


def _bind_module(run: Run) -> None:
    import trackwell

    active.set(run)  # for the layers below the session (artifacts, sweeps): see trackwell.active
    trackwell.run = run
    trackwell.config = run.config
    trackwell.summary = run.summary
    for attr in _BOUND:
        setattr(trackwell, attr, getattr(run, attr))


def _unbind_module() -> None:
    import trackwell

    active.set(None)
    trackwell.run = None
    trackwell.config = PreInit("config")
    trackwell.summary = PreInit("summary")
    for attr in _BOUND:
        setattr(trackwell, attr, preinit_callable(attr))


class PreInit:
    """Stands in for ``trackwell.config``/``summary`` before ``init()``: any use says so."""

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise UsageError(f"You must call trackwell.init() before using trackwell.{self._what}")

    __getitem__ = __setitem__ = __contains__ = __iter__ = __len__ = _fail
    __setattr__ = _fail

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        self._fail()

    def __repr__(self) -> str:
        return f"<trackwell.{self._what}: call trackwell.init() first>"


def preinit_callable(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise UsageError(f"You must call trackwell.init() before trackwell.{name}()")

    call.__name__ = name
    call.__qualname__ = name
    return call


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if there is one (``trackwell.finish()``)."""
    if _current is not None:
        _current.finish(exit_code=exit_code, quiet=quiet)


class Setup:
    """What ``trackwell.setup()`` returns (W&B's ``wandb.setup()``): the process's settings.

    W&B starts its service process here; trackwell has none to start, so this only keeps
    ``settings`` as the defaults of every later ``init()`` (below its own ``settings=``).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"<trackwell.Setup {self.settings!r}>"


def setup(settings: Settings | dict[str, Any] | None = None) -> Setup:
    """Prepare the process for runs (``wandb.setup``); harmless to call more than once.

    A later call's ``settings`` add to (and override) an earlier call's, as in W&B.
    """
    global _setup
    given = settings if isinstance(settings, Settings) else Settings(**dict(settings or {}))
    if _setup is None:
        _setup = Setup(given)
    elif settings:
        merged = Settings(**{**_setup.settings._explicit, **given._explicit})
        merged.init_arguments = {**_setup.settings.init_arguments, **given.init_arguments}
        _setup.settings = merged
    return _setup


def teardown(exit_code: int | None = None) -> None:
    """Finish every active run and forget ``setup()``'s settings (``wandb.teardown``).

    W&B stops its service process here; with no run active this does nothing.
    """
    global _setup
    for run in list(_active):
        run.finish(exit_code=exit_code)
    _setup = None


#: W&B's feature names for ``wandb.require`` (0.12 to today): each is how trackwell works
#: already (no service process to opt in or out of), so requiring one changes nothing
KNOWN_FEATURES = frozenset(
    ("require", "service", "wandb-service", "core", "nexus", "legacy-service", "report-editing")
)


def require(
    requirement: str | Sequence[str] | None = None, experiment: str | Sequence[str] | None = None
) -> None:
    """Accept the W&B features a script asks for (``wandb.require``); an unknown one is an error.

    Names may carry W&B's version suffixes (``"service@beta"``, ``"report-editing:v0"``).
    """
    features = requirement or experiment
    if not features:
        return
    for feature in [features] if isinstance(features, str) else list(features):
        name = feature.split("@", 1)[0].split(":", 1)[0]
        if name not in KNOWN_FEATURES:
            known = ", ".join(sorted(KNOWN_FEATURES))
            raise UsageError(f"trackwell.require(): unsupported requirement {feature!r} (known: {known})")


# -- process hooks -----------------------------------------------------------------


def _install_process_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_finish_all_at_exit)
    original_exit = sys.exit

    def exit(status: str | int | None = None) -> NoReturn:
        # SystemExit never reaches the excepthook: remember the code for atexit.
        global _exit_code
        _exit_code = 0 if status is None else status if isinstance(status, int) else 1
        original_exit(status)

    sys.exit = exit
    previous = sys.excepthook

    def excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
        for run in list(_active):
            if issubclass(exc_type, KeyboardInterrupt):
                run.mark_killed()
                code = 255
            else:
                code = 1
            with contextlib.suppress(Exception):  # the user's traceback matters more than ours
                run.finish(exit_code=code)
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook


def _finish_all_at_exit() -> None:
    for run in list(_active):
        try:
            run.finish(exit_code=_exit_code)
        except Exception as exc:  # never turn a clean exit into a traceback
            print(f"trackwell: could not finish run {run.id} at exit: {exc}", file=sys.__stderr__)
