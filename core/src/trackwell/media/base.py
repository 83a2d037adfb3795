"""The interface every logged media type shares (Image, Audio, Table, ...).

A media object lives in two moments. Its constructor runs on the caller's thread and
only snapshots the input cheaply (copies an array, keeps a path, renders a figure),
because the training loop may change that input right after ``log()`` returns. Its
``to_record(ctx)`` runs later, off the caller's thread (the run's writer thread, or
``artifact.add``): it encodes, writes files through ``ctx`` and returns the JSON-able
record stored in the history row in place of the object.

This module imports only the standard library: ``trackwell.normalize`` checks for
``Media`` on the log path, and ``import trackwell`` must stay free of numpy and PIL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

__all__ = [
    "DirContext",
    "Media",
    "MediaContext",
    "MissingDependencyError",
    "media_type",
    "register_converter",
    "register_media_type",
    "require",
    "to_records",
]

HASH_CHARS = 20  # hex digits of sha256 in a file name: 80 bits, plenty within one run
INSTALL_HINT = 'pip install "trackwell[media]"'


class MissingDependencyError(ImportError):
    """A media type needs a library that is not installed."""


def require(module: str, what: str, package: str | None = None) -> Any:
    """Import ``module`` for ``what`` or raise an error that names the extra to install.

    Media classes import numpy/PIL/av only when used, through this, so a missing
    library gives one clear message instead of a bare ImportError from deep inside.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what} needs the {package or module.split('.')[0]!r} package, which is not "
            f"installed; install it with: {INSTALL_HINT}"
        ) from exc


class MediaContext(Protocol):
    """Where a media object's files go: a run's files dir, or an artifact being built."""

    def write_bytes(self, data: bytes, kind: str, suffix: str) -> str:
        """Store ``data`` under a content-hashed name (sha256 prefix) in the
        ``media/<kind>/`` folder of the root; return the path relative to the root,
        posix, e.g. ``'media/images/3fa9c1e2d4b5a6f7e8d9.png'``. Idempotent."""
        ...

    def copy_file(self, src: Path, kind: str, suffix: str) -> str:
        """Same, for an existing file (streamed, hashed while copying)."""
        ...


class Media:
    """Base of everything log() stores as a file or typed record (Image, Audio, Table, ...).

    Subclasses set ``_type`` (W&B's record type name: ``"image-file"``,
    ``"audio-file"``, ``"video-file"``, ``"histogram"``, ``"html-file"``,
    ``"object3D-file"``, ``"plotly-file"``, ``"table-file"``, ``"joined-table"``, ...)
    and implement ``to_record`` and ``from_record``.
    """

    _type: ClassVar[str]

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        """Called OFF the caller's thread (the writer thread, or artifact.add): encode,
        write files through ``ctx``, return a JSON-able record:
        ``{"_type": ..., "path": <relative path>, "sha256": ..., "size": ..., <type fields>}``."""
        raise NotImplementedError

    def _for_log(self) -> Media:
        """What ``log()`` keeps for the writer, called on the caller's thread. Constructors
        already snapshot their input, so by default the object itself; a Table, which the
        caller goes on changing after ``log()``, returns a copy of its row list."""
        return self

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Media:
        """Rebuild from a record; ``read(path)`` returns the bytes of a file named in the record."""
        raise NotImplementedError

    @classmethod
    def list_record(cls, values: list[Any], ctx: MediaContext) -> Any:
        """The record of a list logged under one key whose first item is of this type,
        called off the caller's thread like ``to_record``: by default the list of the
        items' records; a type W&B stores as one record (``Image``: ``images/separated``)
        overrides it."""
        return [to_records(v, ctx) for v in values]


def to_records(value: Any, ctx: MediaContext) -> Any:
    """``value`` with every Media object in it (nested in dicts and lists) replaced by its
    record: what the run's writer stores for a logged value (see ``Media.list_record``)."""
    if isinstance(value, Media):
        return value.to_record(ctx)
    if isinstance(value, dict):
        return {k: to_records(v, ctx) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], Media):  # the first item's type decides the list's record
            return type(value[0]).list_record(list(value), ctx)
        return [to_records(v, ctx) for v in value]
    return value


def _safe_part(text: str, what: str) -> str:
    """A folder under ``media/`` (``images``, ``images/mask``): no absolute paths, no ``..``."""
    parts = text.split("/")
    if not text or "\\" in text or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"media {what} {text!r} must be a relative folder name such as 'images'")
    return text


class DirContext:
    """A ``MediaContext`` writing under one root directory (a run's ``files/`` dir).

    Names are the first ``HASH_CHARS`` hex digits of the content's sha256, so the
    same image logged twice is stored once. Writes go through a temporary file and
    an atomic rename, so a reader (the sender) never sees half a file. ``written``
    lists the relative paths created since the last ``take_written()`` call, for a
    consumer that wants to know about new files without rescanning the folder.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._written: list[str] = []
        self.last_sha256 = ""
        self.last_size = 0

    def _target(self, digest: str, kind: str, suffix: str) -> tuple[str, Path]:
        suffix = suffix if not suffix or suffix.startswith(".") else "." + suffix
        rel = f"media/{_safe_part(kind, 'kind')}/{digest[:HASH_CHARS]}{suffix}"
        return rel, self.root / rel

    def write_bytes(self, data: bytes, kind: str, suffix: str) -> str:
        import hashlib
        import tempfile  # here, not at the top: normalize imports this module on every init

        digest = hashlib.sha256(data).hexdigest()
        rel, path = self._target(digest, kind, suffix)
        self.last_sha256, self.last_size = digest, len(data)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")  # the sender skips *.tmp
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._note(rel)
        return rel

    def copy_file(self, src: Path, kind: str, suffix: str) -> str:
        import hashlib
        import tempfile

        src = Path(src)
        folder = self.root / "media" / _safe_part(kind, "kind")
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")  # the sender skips *.tmp
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, src.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = h.hexdigest()
            rel, path = self._target(digest, kind, suffix)
            self.last_sha256, self.last_size = digest, size
            if path.exists():
                Path(tmp).unlink()
            else:
                os.replace(tmp, path)
                self._note(rel)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return rel

    def _note(self, rel: str) -> None:
        with self._lock:
            self._written.append(rel)

    def take_written(self) -> list[str]:
        """Relative paths of files created since the previous call, oldest first."""
        with self._lock:
            out, self._written = self._written, []
        return out

    def read(self, rel: str) -> bytes:
        """The bytes of a file this context wrote (``from_record``'s ``read``)."""
        return (self.root / rel).read_bytes()


def write_file(ctx: MediaContext, type_name: str, data: bytes, kind: str, suffix: str) -> dict[str, Any]:
    """Write ``data`` through ``ctx`` and return its file record (path, sha256, size)."""
    import hashlib

    rel = ctx.write_bytes(data, kind, suffix)
    return {
        "_type": type_name,
        "path": rel,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def copy_file(ctx: MediaContext, type_name: str, src: Path, kind: str, suffix: str) -> dict[str, Any]:
    """Copy ``src`` through ``ctx`` and return its file record (path, sha256, size)."""
    import hashlib

    rel = ctx.copy_file(src, kind, suffix)
    if isinstance(ctx, DirContext):  # hashed while copying
        return {"_type": type_name, "path": rel, "sha256": ctx.last_sha256, "size": ctx.last_size}
    h = hashlib.sha256()
    size = 0
    with Path(src).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"_type": type_name, "path": rel, "sha256": h.hexdigest(), "size": size}


# ---------------------------------------------------------------------------
# Registry: built-in types, plugin types, converters for foreign objects
# ---------------------------------------------------------------------------

# Every type comes through the ``register_media_types`` hook (the built-in ones from the
# default plugin ``trackwell.default_plugins.media_types``, by import path, imported on
# first lookup). Types defined elsewhere (tables, charts) also call
# register_media_type when their module is imported.
_types: dict[str, type[Media]] = {}
#: _type -> "module:class" of a type registered by import path, imported on first lookup
_lazy: dict[str, str] = {}
#: (module prefix, class name or "" for any) -> converter(obj) -> Media
_converters: dict[tuple[str, str], Callable[[Any], Media]] = {}
_plugins_loaded = False
_registry_lock = threading.RLock()


def register_media_type(cls: type[Media] | str, cls_or_none: type[Media] | None = None) -> None:
    """Make ``cls`` known under its ``_type`` (or the name given first), for
    ``media_type`` and for reading records back. Raises ``TypeError`` for a class that
    is not a ``Media`` subclass with a ``_type``."""
    if isinstance(cls, str):
        name, klass = cls, cls_or_none
    else:
        klass, name = cls, getattr(cls, "_type", "")
    if not (isinstance(klass, type) and issubclass(klass, Media)):
        raise TypeError(f"register_media_type expects a trackwell.media.Media subclass, got {klass!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{klass.__qualname__} has no _type; set _type = '<record type name>'")
    with _registry_lock:
        _types[name] = klass


def register_converter(module: str, class_name: str, convert: Callable[[Any], Media]) -> None:
    """Convert objects of a foreign type to a Media object when passed to ``log()``.

    Matched by the object's type's module (``module`` or a submodule of it) and class
    name (``""`` for any class in that module), so the foreign library is never
    imported to check.
    """
    with _registry_lock:
        _converters[(module, class_name)] = convert


def _accept_registration(plugin: str, obj: Any, converter: Any = None) -> tuple[str, Any]:
    """One ``register(...)`` of the ``register_media_types`` hook, as (name, value):
    ``register(MediaSubclass)`` (named by its ``_type``); ``register(type_name,
    "module:Class")`` (a type imported on first lookup); or ``register((module,
    class_name), convert)`` (named ``converter:module.class_name``)."""
    if isinstance(obj, tuple) and len(obj) == 2 and callable(converter):
        module, class_name = obj
        return f"converter:{module}.{class_name}" if class_name else f"converter:{module}", (obj, converter)
    if isinstance(obj, str) and isinstance(converter, str):
        module, colon, attr = converter.partition(":")
        if not (obj and module and colon and attr):
            raise TypeError(
                f"plugin {plugin!r}: register(type_name, path) takes a path 'module:Class', got {converter!r}"
            )
        return obj, converter
    if converter is not None or not (isinstance(obj, type) and issubclass(obj, Media)):
        raise TypeError(
            f"plugin {plugin!r}: register(cls) takes one Media subclass, register(type_name, "
            f"'module:Class') one by import path, or register((module, class_name), converter); got {obj!r}"
        )
    name = getattr(obj, "_type", "")
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"plugin {plugin!r}: {obj.__qualname__} has no _type; set _type = '<record type name>'"
        )
    return name, obj


def load_plugins() -> None:
    """Call every plugin's ``register_media_types`` hook, once per process (through the
    registrar, which validates each registration and records which plugin made it)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    with _registry_lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        from trackwell.plugins import get_plugin_manager
        from trackwell.plugins.registrar import Registry, collect

        registry = Registry("register_media_types", "media type", _accept_registration)
        for name, value in collect(get_plugin_manager(), registry).items():
            if isinstance(value, tuple):
                (module, class_name), convert = value
                register_converter(module, class_name, convert)
            elif isinstance(value, str):
                _lazy.setdefault(name, value)
            else:
                register_media_type(name, value)


def reset_plugins() -> None:
    """Forget registered types so the next use asks plugins again (tests)."""
    global _plugins_loaded
    with _registry_lock:
        _plugins_loaded = False
        _types.clear()
        _lazy.clear()
        _converters.clear()


def media_type(type_name: str) -> type[Media]:
    """The Media class for a record's ``_type``: built-ins plus plugin-registered types.

    Raises ``KeyError`` naming the known types for an unknown name.
    """
    cls = _types.get(type_name)
    if cls is not None:
        return cls
    load_plugins()
    cls = _types.get(type_name)
    if cls is None and type_name in _lazy:
        import importlib

        module, _, attr = _lazy[type_name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
        _types[type_name] = cls
    if cls is None:
        known = sorted(set(_types) | set(_lazy))
        raise KeyError(f"unknown media type {type_name!r}; known types: {', '.join(known)}")
    return cls


def find_converter(obj: Any) -> Callable[[Any], Media] | None:
    """The registered converter for ``obj``'s type, matched by module and class name."""
    load_plugins()
    if not _converters:
        return None
    kind = type(obj)
    module = kind.__module__
    for (prefix, name), convert in _converters.items():
        if (module == prefix or module.startswith(prefix + ".")) and (not name or name == kind.__name__):
            return convert
    return None
