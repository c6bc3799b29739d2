"""``DriverConformance``: every theme of the suite in one pytest base class.

Usage, in a driver's own tests::

    import pytest
    from trove_dist.testing import DriverConformance

    class TestMyDriver(DriverConformance):
        @pytest.fixture
        def driver_factory(self, tmp_path):
            return lambda: MyDriver(root=tmp_path)

Capabilities the driver does not implement, and limitations it declares, show up as skips that
name them.  Class attributes tune the expensive cases for slow remote backends
(``large_object_size``, ``multipart_part_size``, ``concurrency_threads``); lowering one is an
explicit, reviewable choice in the driver's own test file.
"""

from __future__ import annotations

from trove_dist.testing.bodies import BodyTests
from trove_dist.testing.buckets import BucketTests
from trove_dist.testing.checksums import ChecksumTests
from trove_dist.testing.concurrency import ConcurrencyTests
from trove_dist.testing.conditional import ConditionalTests
from trove_dist.testing.copy import CopyTests
from trove_dist.testing.driver_state import DriverStateTests
from trove_dist.testing.keys import KeyTests
from trove_dist.testing.large import LargeObjectTests
from trove_dist.testing.lifecycle_rules import LifecycleRuleTests
from trove_dist.testing.listing import ListingTests
from trove_dist.testing.metadata import MetadataTests
from trove_dist.testing.missing import MissingTests
from trove_dist.testing.multipart import MultipartTests
from trove_dist.testing.names import NameTests
from trove_dist.testing.notification import NotificationTests
from trove_dist.testing.objects import ObjectTests
from trove_dist.testing.pagination import PaginationTests
from trove_dist.testing.presign import PresignTests
from trove_dist.testing.ranges import RangeTests
from trove_dist.testing.versioning import VersioningTests


class DriverConformance(
    DriverStateTests,
    BucketTests,
    ObjectTests,
    BodyTests,
    MetadataTests,
    MissingTests,
    ListingTests,
    PaginationTests,
    KeyTests,
    NameTests,
    RangeTests,
    CopyTests,
    ConditionalTests,
    ChecksumTests,
    ConcurrencyTests,
    LargeObjectTests,
    MultipartTests,
    PresignTests,
    VersioningTests,
    LifecycleRuleTests,
    NotificationTests,
):
    """The driver conformance suite; subclass it and override the ``driver_factory`` fixture."""
