"""Which credentials authorise requests, and which (if any) sign URLs.

Requests: none for a plain-HTTP endpoint (an emulator — a token must not travel in clear text),
else the key file named by the DSN, else the SDK's standard chain (``google.auth.default``).
Signing: a v4 signed URL is signed locally with a service account's private key, so only
credentials that can sign (a service-account key file, or ADC that resolves to one) can presign.
Errors name the file or the condition, never the file's content.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import google.auth
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials, Signing
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from trove_dist.drivers.gcs.config import GCSSettings
from trove_dist.drivers.gcs.errors import BACKEND
from trove_dist.errors import InvalidDSN, PermissionDenied

SCOPES = ("https://www.googleapis.com/auth/devstorage.full_control",)


@dataclass(frozen=True)
class ResolvedCredentials:
    requests: Credentials
    #: Credentials able to sign a URL locally, or None.
    signer: Signing | None
    project: str | None

    def __repr__(self) -> str:  # never the key material, not even its type's repr
        return f"<ResolvedCredentials {type(self.requests).__name__} signer={self.signer is not None}>"


def resolve(settings: GCSSettings) -> ResolvedCredentials:
    file_credentials: Credentials | None = None
    project = settings.project
    if settings.credentials_file:
        file_credentials, file_project = _load_file(settings.credentials_file)
        project = project or file_project
    if settings.anonymous:
        requests: Credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    elif file_credentials is not None:
        requests = file_credentials
    else:
        try:
            requests, default_project = google.auth.default(scopes=SCOPES)
        except auth_exceptions.DefaultCredentialsError:
            raise PermissionDenied(
                BACKEND, "authenticate", "no credentials found: pass credentials=PATH or configure ADC"
            ) from None
        project = project or default_project
    signer_source = file_credentials if file_credentials is not None else requests
    signer = signer_source if isinstance(signer_source, Signing) else None
    return ResolvedCredentials(requests, signer, project)


def _load_file(path: str) -> tuple[Credentials, str | None]:
    """A service-account key or an authorized-user file (what ``gcloud`` writes).

    Other types (external accounts, impersonation) run code or fetch URLs named in the file;
    they are for ``GOOGLE_APPLICATION_CREDENTIALS`` and the standard chain, not for a DSN.
    """
    if not os.path.isfile(path):
        raise InvalidDSN(f"credentials={path!r}: no such file")
    try:
        with open(path, encoding="utf-8") as file:
            info = json.load(file)
        kind = info.get("type") if isinstance(info, dict) else None
        if kind == "service_account":
            account = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=SCOPES
            )
            return account, info.get("project_id")
        if kind == "authorized_user":
            user = user_credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
                info, scopes=SCOPES
            )
            return user, info.get("quota_project_id")
    except (OSError, ValueError, auth_exceptions.GoogleAuthError) as exc:
        # The original message may quote the file; only its type is passed on.
        raise InvalidDSN(f"credentials={path!r} is not a usable key file ({type(exc).__name__})") from None
    raise InvalidDSN(
        f"credentials={path!r} is a {kind!r} file; a DSN takes service_account or authorized_user keys "
        "(use GOOGLE_APPLICATION_CREDENTIALS for other kinds)"
    )
