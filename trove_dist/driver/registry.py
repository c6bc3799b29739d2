"""Which driver class opens which DSN scheme.

Built-in drivers are named here by import path and imported only when first used, so that
``import trove_dist`` does not pull in boto3 or paramiko.  Third-party drivers register through
the ``trove_dist.drivers`` entry-point group (``myscheme = "pkg.module:MyDriver"``) or at run time
with ``register``.
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import entry_points

from trove_dist.driver.base import Driver
from trove_dist.driver.dsn import DSN, parse_dsn
from trove_dist.errors import DriverNotFound

ENTRY_POINT_GROUP = "trove_dist.drivers"

_BUILTIN: dict[str, str] = {
    "file": "trove_dist.drivers.local:LocalDriver",
    "mem": "trove_dist.drivers.memory:MemoryDriver",
    "memory": "trove_dist.drivers.memory:MemoryDriver",  # MemoryDriver.schemes names both
}

_lock = threading.Lock()
_registered: dict[str, type[Driver]] = {}
_entry_points: dict[str, str] | None = None


def register(scheme: str, driver: type[Driver]) -> None:
    """Make ``scheme://`` DSNs open with ``driver`` (replacing any earlier registration)."""
    if not (isinstance(driver, type) and issubclass(driver, Driver)):
        raise TypeError(f"{driver!r} is not a Driver subclass")
    with _lock:
        _registered[scheme.lower()] = driver


def unregister(scheme: str) -> None:
    with _lock:
        _registered.pop(scheme.lower(), None)


def _discovered() -> dict[str, str]:
    global _entry_points
    if _entry_points is None:
        _entry_points = {ep.name.lower(): ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return _entry_points


def known_schemes() -> list[str]:
    with _lock:
        return sorted({*_BUILTIN, *_discovered(), *_registered})


def driver_class(scheme: str) -> type[Driver]:
    scheme = scheme.lower()
    with _lock:
        if scheme in _registered:
            return _registered[scheme]
    target = _BUILTIN.get(scheme) or _discovered().get(scheme)
    if target is None:
        raise DriverNotFound(scheme, known_schemes())
    cls = _load(scheme, target)
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise TypeError(f"{target} (registered for {scheme!r}) is not a Driver subclass")
    with _lock:
        _registered.setdefault(scheme, cls)
    return cls


def _load(scheme: str, target: str) -> object:
    """Import an entry-point style target, ``module:attr[.attr…] [extras]``."""
    module_name, _, attr = target.partition(":")
    attr = attr.partition("[")[0].strip()
    try:
        obj: object = importlib.import_module(module_name.strip())
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise DriverNotFound(scheme, known_schemes()) from exc
    return obj


def open_driver(dsn: str | DSN) -> Driver:
    """Open a driver from a DSN string such as ``file:///srv/data`` or ``mem://scratch``."""
    parsed = parse_dsn(dsn) if isinstance(dsn, str) else dsn
    return driver_class(parsed.scheme).from_dsn(parsed)
