"""The driver conformance suite, for this project's drivers and third-party ones alike.

``DriverConformance`` is a pytest base class: subclass it, override the ``driver_factory``
fixture, and every rule of the driver contract runs against your driver (see ``suite``).
"""

import pytest

# Plain asserts in these modules should explain themselves in a failure report, as they would in
# a test file: ask pytest to rewrite them before they are imported.
pytest.register_assert_rewrite(
    *(
        f"{__name__}.{module}"
        for module in (
            "bodies",
            "buckets",
            "checksums",
            "concurrency",
            "conditional",
            "copy",
            "driver_state",
            "harness",
            "keys",
            "large",
            "lifecycle_rules",
            "listing",
            "metadata",
            "missing",
            "multipart",
            "names",
            "notification",
            "objects",
            "operations",
            "pagination",
            "presign",
            "ranges",
            "requirements",
            "versioning",
        )
    )
)

from trove_dist.testing.harness import BucketFactory, ConformanceBase, DriverFactory  # noqa: E402
from trove_dist.testing.suite import DriverConformance  # noqa: E402

__all__ = ["BucketFactory", "ConformanceBase", "DriverConformance", "DriverFactory"]
