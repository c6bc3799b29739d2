"""The scheme → driver registry: built-ins, entry points, run-time registration."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint, entry_points

import pytest

from trove_dist.driver import registry
from trove_dist.driver.dsn import parse_dsn
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import DriverNotFound, NotFound


class CustomDriver(MemoryDriver):
    """A third-party driver, as far as the registry can tell."""


class OtherDriver(MemoryDriver):
    """Another one, to replace the first."""


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from, and leaves behind, the registry as it was."""
    monkeypatch.setattr(registry, "_registered", dict(registry._registered))
    monkeypatch.setattr(registry, "_entry_points", None)


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, **targets: str) -> None:
    found = [EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in targets.items()]

    def fake(*, group: str) -> list[EntryPoint]:
        assert group == registry.ENTRY_POINT_GROUP
        return found

    monkeypatch.setattr(registry, "entry_points", fake)
    monkeypatch.setattr(registry, "_entry_points", None)


def test_open_mem() -> None:
    driver = registry.open_driver("mem://unit-registry")
    try:
        assert isinstance(driver, MemoryDriver)
        assert type(driver) is MemoryDriver
    finally:
        driver.close()


def test_open_from_a_parsed_dsn() -> None:
    driver = registry.open_driver(parse_dsn("mem://"))
    assert isinstance(driver, MemoryDriver)


def test_scheme_is_case_insensitive() -> None:
    assert registry.driver_class("MEM") is MemoryDriver
    assert isinstance(registry.open_driver("MEM://x"), MemoryDriver)


def test_every_scheme_a_driver_declares_opens_it() -> None:
    for scheme in MemoryDriver.schemes:
        assert registry.driver_class(scheme) is MemoryDriver


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(DriverNotFound) as caught:
        registry.open_driver("nosuch://x")
    error = caught.value
    assert isinstance(error, NotFound)
    assert error.scheme == "nosuch"
    message = str(error)
    assert "'nosuch'" in message
    for scheme in registry.known_schemes():
        assert scheme in message
    assert "mem" in message
    assert "file" in message


def test_package_declares_its_drivers_as_entry_points() -> None:
    declared = {ep.name: ep.value for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert declared.get("file") == "trove_dist.drivers.local:LocalDriver"
    assert declared.get("mem") == "trove_dist.drivers.memory:MemoryDriver"
    known = registry.known_schemes()
    assert {"file", "mem"} <= set(known)
    assert known == sorted(known)


def test_entry_point_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, thirdparty="tests_unit_fake_driver:CustomDriver")
    module = types.ModuleType("tests_unit_fake_driver")
    module.CustomDriver = CustomDriver  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_unit_fake_driver", module)
    assert "thirdparty" in registry.known_schemes()
    assert {"file", "mem"} <= set(registry.known_schemes())  # the built-ins stay
    assert registry.driver_class("thirdparty") is CustomDriver
    assert isinstance(registry.open_driver("ThirdParty://x"), CustomDriver)


def test_entry_point_with_nested_attribute_and_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("tests_unit_fake_driver")
    module.Holder = type("Holder", (), {"Driver": CustomDriver})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_unit_fake_driver", module)
    fake_entry_points(
        monkeypatch,
        nested="tests_unit_fake_driver:Holder.Driver",
        extras="tests_unit_fake_driver:Holder.Driver [fast]",
    )
    assert registry.driver_class("nested") is CustomDriver
    assert registry.driver_class("extras") is CustomDriver


@pytest.mark.parametrize(
    "target",
    ["tests_unit_no_such_module:Driver", "trove_dist.drivers.memory:NoSuchDriver", "trove_dist.drivers.memory:A.B"],
)
def test_broken_entry_point_is_driver_not_found(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    fake_entry_points(monkeypatch, broken=target)
    with pytest.raises(DriverNotFound, match="broken"):
        registry.driver_class("broken")


def test_entry_point_to_a_non_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, notdriver="trove_dist.drivers.memory:MemoryDriver.from_dsn")
    with pytest.raises(TypeError, match="not a Driver subclass"):
        registry.driver_class("notdriver")


def test_register_and_unregister() -> None:
    registry.register("custom", CustomDriver)
    assert "custom" in registry.known_schemes()
    assert registry.driver_class("custom") is CustomDriver
    driver = registry.open_driver("custom://x")
    assert isinstance(driver, CustomDriver)
    registry.unregister("CUSTOM")
    assert "custom" not in registry.known_schemes()
    with pytest.raises(DriverNotFound):
        registry.open_driver("custom://x")
    registry.unregister("custom")  # unregistering twice is fine


def test_register_replaces_and_overrides_builtins() -> None:
    registry.register("Custom", CustomDriver)
    registry.register("custom", OtherDriver)
    assert registry.driver_class("custom") is OtherDriver
    registry.register("mem", CustomDriver)
    assert type(registry.open_driver("mem://x")) is CustomDriver
    registry.unregister("mem")
    assert registry.driver_class("mem") is MemoryDriver  # back to the built-in


@pytest.mark.parametrize("bad", [object, MemoryDriver(), int, "trove_dist.drivers.memory:MemoryDriver", None])
def test_register_a_non_driver(bad: object) -> None:
    with pytest.raises(TypeError, match="not a Driver subclass"):
        registry.register("bad", bad)  # type: ignore[arg-type]
    assert "bad" not in registry.known_schemes()


def test_invalid_dsn_is_reported_before_lookup() -> None:
    with pytest.raises(ValueError, match="scheme"):
        registry.open_driver("not a dsn")
