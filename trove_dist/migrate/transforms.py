"""The middleware a migration puts on each side, from its ``--transform`` names.

The destination gets the transforms asked for (compression before encryption, as the framed
format expects).  The source gets only what is needed to *read* objects that an earlier trove
wrote framed: zstd needs nothing, encryption needs the key — both sides take the key-encryption
key from ``TROVE_ENCRYPTION_KEY`` in the environment of whichever process runs the step, never
from the migration's state.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from trove_dist.middleware.compress import Compress
from trove_dist.middleware.context import Direction
from trove_dist.middleware.encrypt import Encrypt, EnvKeyProvider
from trove_dist.migrate.spec import TRANSFORMS
from trove_dist.trove import Trove

KEY_ENV = "TROVE_ENCRYPTION_KEY"
_PRIORITY = {"compress": 10, "encrypt": 20}


class MissingEncryptionKey(ValueError):
    """``encrypt`` was asked for where no key-encryption key is configured."""


def ordered(names: Iterable[str]) -> tuple[str, ...]:
    """The transforms in the order they apply, each once; unknown names are refused."""
    wanted = set(names)
    unknown = sorted(wanted - set(TRANSFORMS))
    if unknown:
        raise ValueError(f"unknown transform(s) {', '.join(unknown)}: choose from {', '.join(TRANSFORMS)}")
    return tuple(name for name in TRANSFORMS if name in wanted)


def require_key() -> None:
    if not os.environ.get(KEY_ENV):
        raise MissingEncryptionKey(
            f"--transform encrypt needs the key-encryption key in {KEY_ENV} (32 bytes, base64 or 64 hex digits)"
        )


def use_transforms(trove: Trove, transforms: Iterable[str]) -> Trove:
    """Register the destination's write (and read-back) middleware on ``trove``."""
    for name in transforms:
        if name == "compress":
            trove.use(Compress(), priority=_PRIORITY[name])
        else:
            require_key()
            trove.use(Encrypt(EnvKeyProvider(KEY_ENV)), priority=_PRIORITY[name])
    return trove


def use_readers(trove: Trove) -> Trove:
    """Let ``trove`` read framed objects encrypted with the environment's key, when there is one
    (compressed ones it reads anyway)."""
    if os.environ.get(KEY_ENV):
        trove.use(Encrypt(EnvKeyProvider(KEY_ENV)), direction=Direction.READ, priority=_PRIORITY["encrypt"])
    return trove


def make_worker_trove() -> Trove:
    """A ``TROVE_CONFIG`` factory for workers that run migrations: no backend of its own (a
    migration names its stores by DSN) and the chunk codecs streams need — zstd, and AES-GCM
    with the environment's key when set.  ``TROVE_CONFIG=trove_dist.migrate.transforms:make_worker_trove``."""
    trove = Trove("mem://")
    trove.use(Compress(), priority=_PRIORITY["compress"])
    if os.environ.get(KEY_ENV):
        trove.use(Encrypt(EnvKeyProvider(KEY_ENV)), priority=_PRIORITY["encrypt"])
    return trove
