"""Saved API keys, each bound to the server it was saved for (as git credentials and ``.netrc``).

A key the user saved with ``trackwell login`` authenticates them to one server. The
server a run talks to can come from a file the user did not write (a cloned
repository's ``./trackwell/settings``), so a saved key is only ever handed to the
server it was saved for: the match is on scheme, host name and port, never on the
path. The user settings file keeps the key for its ``[default]`` server beside that
server's ``base_url`` (the format older versions wrote, which therefore needs no
migration), and the keys of other servers it logged in to in ``[server ORIGIN]``
sections, so logging in to a second server never hands it the first one's key.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: prefix of the user settings file's sections that hold one server's key
SECTION_PREFIX = "server "
_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_origin(url: str | None) -> str | None:
    """``scheme://host:port`` of an http(s) URL, lower-cased, port spelled out; None otherwise.

    Two spellings of one server (``HTTP://Host/`` and ``http://host:80/x``) share a
    key; ``http`` and ``https`` do not, so a key saved for TLS never goes out in clear.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


@dataclass
class SavedKeys:
    """The keys of one user settings file: origin -> key, plus a key saved with no server."""

    by_origin: dict[str, str] = field(default_factory=dict)
    #: an ``api_key`` written by hand with no ``base_url`` beside it: it belongs to
    #: whatever server the user names themselves (environment or code), never to a
    #: server a workspace file names
    unbound: str | None = None

    def for_server(self, base_url: str | None) -> str | None:
        origin = server_origin(base_url)
        return self.by_origin.get(origin) if origin else None


def read_parser(path: Path) -> configparser.ConfigParser:
    """The whole INI file (every section); a missing file is empty."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return parser


def saved_keys(parser: configparser.ConfigParser) -> SavedKeys:
    """The keys a user settings file holds, each bound to its server."""
    keys = SavedKeys()
    for section in parser.sections():
        if section.startswith(SECTION_PREFIX):
            origin = server_origin(section[len(SECTION_PREFIX) :])
            key = parser[section].get("api_key")
            if origin and key is not None:
                keys.by_origin[origin] = key
    if parser.has_section("default"):
        default = parser["default"]
        key = default.get("api_key")
        if key is not None:
            origin = server_origin(default.get("base_url"))
            if origin:
                keys.by_origin[origin] = key  # the [default] pair wins over a stale section
            elif not default.get("base_url"):
                keys.unbound = key
    return keys


def bind_default(parser: configparser.ConfigParser, base_url: str, api_key: str, entity: str) -> None:
    """Make ``base_url`` the default server, with its key; keep the previous one's key bound to it."""
    if not parser.has_section("default"):
        parser.add_section("default")
    default = parser["default"]
    old_origin = server_origin(default.get("base_url"))
    new_origin = server_origin(base_url)
    if old_origin and old_origin != new_origin and default.get("api_key") is not None:
        section = SECTION_PREFIX + old_origin
        if not parser.has_section(section):
            parser.add_section(section)
        parser[section]["api_key"] = default["api_key"]
        if default.get("entity"):
            parser[section]["entity"] = default["entity"]
    if new_origin and parser.has_section(SECTION_PREFIX + new_origin):
        parser.remove_section(SECTION_PREFIX + new_origin)  # superseded by the [default] pair
    default["base_url"] = base_url
    default["api_key"] = api_key
    default["entity"] = entity


def forget_all(parser: configparser.ConfigParser) -> int:
    """Remove every saved server and key; return how many keys there were."""
    count = 0
    for section in parser.sections():
        if section.startswith(SECTION_PREFIX):
            count += 1
            parser.remove_section(section)
    if parser.has_section("default"):
        if parser["default"].get("api_key") is not None:
            count += 1
        for option in ("base_url", "api_key", "entity"):
            parser.remove_option("default", option)
    return count
