"""The Trove that test workers and test producers build (``TROVE_CONFIG`` points here).

Everything comes from the environment, as in a real deployment: the local root, and the
key-encryption key (hex) — never from task arguments.
"""

from __future__ import annotations

import os

from trove_dist import Trove
from trove_dist.drivers.local import LocalDriver
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.encrypt import StaticKeyProvider
from trove_dist.middleware.encrypt.middleware import Encrypt


def make_trove() -> Trove:
    """Keys under ``s3/`` go to an S3 backend when ``TROVE_TEST_S3_DSN`` names one (moto)."""
    s3 = os.environ.get("TROVE_TEST_S3_DSN")
    trove = Trove(
        LocalDriver(os.environ["TROVE_TEST_ROOT"], durable=False),
        backends={"s3": s3} if s3 else None,
        routes=[("s3/**", "s3")] if s3 else (),
        chunk_size=int(os.environ.get("TROVE_TEST_CHUNK", str(1024 * 1024))),
        default_bucket="bkt",
    )
    trove.use(Compress(level=1), priority=10)
    trove.use(Encrypt(StaticKeyProvider(bytes.fromhex(os.environ["TROVE_TEST_KEY"]), "test")), priority=20)
    return trove
