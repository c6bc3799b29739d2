"""The driver contract: what a storage backend must do, and what it may optionally do."""

from trove_dist.driver.base import DEFAULT_CONTENT_TYPE, Driver, Limitation, PutOptions, check_range
from trove_dist.driver.body import DEFAULT_CHUNK_SIZE, MeteredChunks, PutBody, iter_chunks
from trove_dist.driver.capabilities import (
    CAPABILITIES,
    ConditionalDriver,
    LifecycleDriver,
    LifecycleRule,
    MultipartDriver,
    MultipartUpload,
    NotificationDriver,
    ObjectEvent,
    PartInfo,
    PresignDriver,
    RangeDriver,
    ServerCopyDriver,
    VersioningDriver,
    capabilities_of,
)
from trove_dist.driver.dsn import DSN, parse_dsn
from trove_dist.driver.models import BucketInfo, CommonPrefix, ListPage, ObjectInfo
from trove_dist.driver.reader import ObjectReader
from trove_dist.driver.registry import driver_class, known_schemes, open_driver, register, unregister

__all__ = [
    "CAPABILITIES",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONTENT_TYPE",
    "DSN",
    "BucketInfo",
    "CommonPrefix",
    "ConditionalDriver",
    "Driver",
    "LifecycleDriver",
    "LifecycleRule",
    "Limitation",
    "ListPage",
    "MeteredChunks",
    "MultipartDriver",
    "MultipartUpload",
    "NotificationDriver",
    "ObjectEvent",
    "ObjectInfo",
    "ObjectReader",
    "PartInfo",
    "PresignDriver",
    "PutBody",
    "PutOptions",
    "RangeDriver",
    "ServerCopyDriver",
    "VersioningDriver",
    "capabilities_of",
    "check_range",
    "driver_class",
    "iter_chunks",
    "known_schemes",
    "open_driver",
    "parse_dsn",
    "register",
    "unregister",
]
