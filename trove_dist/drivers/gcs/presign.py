"""V4 signed URLs, signed locally with a service account's key.

The URL points at the configured endpoint (``api_access_endpoint``), path-style
(``ENDPOINT/BUCKET/KEY``), so it works against an emulator as well as against GCS.  A presigned
PUT binds the content type when one is given: the uploader must send the same header.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from google.auth.credentials import Signing

from trove_dist.drivers.gcs.errors import BACKEND
from trove_dist.errors import UnsupportedCapability

#: V4 signatures are valid for at most seven days.
MAX_EXPIRY = timedelta(days=7)


def signed_url(
    blob: Any,
    signer: Signing | None,
    endpoint: str,
    *,
    method: str,
    expires: timedelta,
    content_type: str | None = None,
) -> str:
    if signer is None:
        raise UnsupportedCapability(
            BACKEND, "presigned URLs without a service-account key (open the driver with credentials=KEY_FILE)"
        )
    if not isinstance(expires, timedelta) or expires <= timedelta(0) or expires > MAX_EXPIRY:
        raise ValueError(f"a presigned URL expires after more than 0 s and at most 7 days (got {expires!r})")
    url: str = blob.generate_signed_url(
        version="v4",
        expiration=expires,
        method=method,
        content_type=content_type,
        credentials=signer,
        api_access_endpoint=endpoint,
    )
    return url
