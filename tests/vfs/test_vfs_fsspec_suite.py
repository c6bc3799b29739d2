"""fsspec's own abstract test suite (``fsspec.tests.abstract``) against ``TroveFileSystem``,
on the memory and the local drivers — wired the way fsspec wires its memory filesystem."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec.tests.abstract as abstract
import pytest

from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.vfs.fsspec_fs import TroveFileSystem

BUCKET = "fsspec-suite"


class _TroveFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def fs_path(self) -> str:
        return f"{BUCKET}/root"

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return True  # mkdir stores a marker object, on every driver


class MemoryFixtures(_TroveFixtures):
    @pytest.fixture
    def fs(self) -> Iterator[TroveFileSystem]:
        with MemoryDriver() as driver:
            fs = TroveFileSystem(storage=driver)
            fs.mkdir(BUCKET)
            yield fs


class LocalFixtures(_TroveFixtures):
    @pytest.fixture
    def fs(self, tmp_path: Path) -> Iterator[TroveFileSystem]:
        with LocalDriver(tmp_path / "store", durable=False) as driver:
            fs = TroveFileSystem(storage=driver)
            fs.mkdir(BUCKET)
            yield fs


class TestMemoryCopy(abstract.AbstractCopyTests, MemoryFixtures):  # type: ignore[misc]
    pass


class TestMemoryGet(abstract.AbstractGetTests, MemoryFixtures):  # type: ignore[misc]
    pass


class TestMemoryPut(abstract.AbstractPutTests, MemoryFixtures):  # type: ignore[misc]
    pass


class TestMemoryOpen(abstract.AbstractOpenTests, MemoryFixtures):  # type: ignore[misc]
    pass


class TestMemoryPipe(abstract.AbstractPipeTests, MemoryFixtures):  # type: ignore[misc]
    pass


class TestLocalCopy(abstract.AbstractCopyTests, LocalFixtures):  # type: ignore[misc]
    pass


class TestLocalGet(abstract.AbstractGetTests, LocalFixtures):  # type: ignore[misc]
    pass


class TestLocalPut(abstract.AbstractPutTests, LocalFixtures):  # type: ignore[misc]
    pass


class TestLocalOpen(abstract.AbstractOpenTests, LocalFixtures):  # type: ignore[misc]
    pass


class TestLocalPipe(abstract.AbstractPipeTests, LocalFixtures):  # type: ignore[misc]
    pass
