"""The Azure driver against Azurite (Azure's blob-service emulator, a real HTTP server).

The whole conformance suite runs twice: with the default transfer sizes (a body up to 4 MiB is
one Put Blob, reads are 2 MiB ranges) and with 256 KiB blocks, so that most bodies of the suite
go through staged blocks and multi-range reads too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.azure import AzuriteServer, azurite_server
from trove_dist.driver.base import Driver
from trove_dist.driver.registry import open_driver
from trove_dist.testing import DriverConformance, DriverFactory

#: Azure lists names in UTF-16 code-unit order (so does Azurite); trove's contract is UTF-8 byte
#: order.  The two differ only between U+E000–U+FFFF and characters above U+FFFF, which is
#: exactly what these cases probe.  This is the service's behaviour, not an emulator gap: it
#: needs a ``Limitation`` member (requested from the lead) to be skipped instead.
UTF16_ORDER = (
    "Azure lists blobs in UTF-16 code-unit order: U+FF61 sorts after U+10000, unlike UTF-8 byte order "
    "(a property of the service; a Limitation member for it has been requested)"
)
#: Put Blob requires an ``x-ms-blob-type`` header, which a SAS cannot carry; the suite's PUT
#: sends only Content-Type.  ``test_azure_capabilities`` checks the URL with the header.
SAS_PUT_HEADER = (
    "Azure's Put Blob requires the header x-ms-blob-type: BlockBlob, which a SAS URL cannot carry; "
    "the suite's plain PUT omits it (the suite needs a way to send a driver's required headers)"
)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    with azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server


class _AzureKnownDifferences(DriverConformance):
    @pytest.mark.xfail(strict=True, reason=UTF16_ORDER)
    def test_keys_are_listed_in_utf8_byte_order(self, driver: Driver, bucket: str) -> None:
        super().test_keys_are_listed_in_utf8_byte_order(driver, bucket)

    @pytest.mark.xfail(strict=True, reason=UTF16_ORDER)
    def test_byte_order_holds_across_pages(self, driver: Driver, bucket: str) -> None:
        super().test_byte_order_holds_across_pages(driver, bucket)

    @pytest.mark.xfail(strict=True, reason=SAS_PUT_HEADER)
    def test_presigned_put_uploads_the_object(self, driver: Driver, bucket: str) -> None:
        super().test_presigned_put_uploads_the_object(driver, bucket)


class TestAzureConformance(_AzureKnownDifferences):
    @pytest.fixture
    def driver_factory(self, azurite: AzuriteServer) -> DriverFactory:
        return lambda: open_driver(azurite.dsn())


#: Reads of an object larger than one range take several requests, each If-Match the etag
#: the read opened; Azure keeps no old version for the later ranges (without account-level
#: versioning), so a reader whose object is replaced or deleted fails — PreconditionFailed or
#: ObjectNotFound — instead of finishing the version it opened (it never returns mixed data).
READS_NOT_ISOLATED = (
    "a read spanning several ranges fails (PreconditionFailed / ObjectNotFound) when the object is "
    "replaced or deleted meanwhile: Azure keeps no old version for the later ranges"
)
#: A commit discards every uncommitted block of the blob, so of two staged puts racing on one
#: key the first commit wins and the other fails with BlocksDiscarded (a PreconditionFailed).
STAGED_PUTS_CONFLICT = (
    "staged puts racing on one key: the first commit discards the others' blocks and they fail "
    "with BlocksDiscarded; and readers spanning several ranges fail when the object is replaced"
)


class TestAzureConformanceSmallBlocks(_AzureKnownDifferences):
    """Bodies above 256 KiB are staged as blocks; reads are 256 KiB ranges.

    With the default sizes the suite's concurrency cases use bodies that fit one Put Blob and
    one read range, so they pass there; here they show what the service does with larger ones.
    """

    @pytest.fixture
    def driver_factory(self, azurite: AzuriteServer) -> DriverFactory:
        return lambda: open_driver(azurite.dsn(block_size="256KiB", concurrency="3"))

    @pytest.mark.xfail(strict=True, reason=STAGED_PUTS_CONFLICT)
    def test_same_key_readers_never_see_a_torn_object(self, driver: Driver, bucket: str) -> None:
        super().test_same_key_readers_never_see_a_torn_object(driver, bucket)

    @pytest.mark.xfail(strict=True, reason=READS_NOT_ISOLATED)
    def test_open_reader_keeps_the_version_it_opened(self, driver: Driver, bucket: str) -> None:
        super().test_open_reader_keeps_the_version_it_opened(driver, bucket)

    @pytest.mark.xfail(strict=True, reason=READS_NOT_ISOLATED)
    def test_open_reader_survives_a_delete(self, driver: Driver, bucket: str) -> None:
        super().test_open_reader_survives_a_delete(driver, bucket)
