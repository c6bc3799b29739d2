"""The local filesystem driver (``file:///path``)."""

from trove_dist.drivers.local.driver import LocalDriver

__all__ = ["LocalDriver"]
