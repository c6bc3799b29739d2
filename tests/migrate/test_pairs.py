"""Migrations between backends through real workers: local -> S3 (moto), S3 -> Azure (Azurite),
SFTP -> GCS (the emulator).  Each copies 0-byte, small and multi-chunk (streamed) objects with
unicode keys under nested prefixes, verifies end to end, and must leave the destination equal
to the source; a second run finds nothing to copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.migrate.conftest import AZURE_ENV
from tests.migrate.harness import SMALL_SETTINGS, MigrationWorkers, migrate, mixed_dataset, put_all, read_all
from tests.servers.azure import AzuriteServer
from tests.servers.gcs import GCSEmulator
from tests.servers.s3 import MotoServer
from tests.servers.sftp import SFTPServer
from trove_dist.driver.base import Driver
from trove_dist.driver.registry import open_driver
from trove_dist.middleware.encrypt import Encrypt, EnvKeyProvider
from trove_dist.migrate.spec import backend_name
from trove_dist.trove import Trove

pytestmark = pytest.mark.timeout(180)


def check_pair(
    env: dict[str, str],
    source: tuple[Driver, str],
    destination: tuple[Driver, str],
    extra: list[str] | None = None,
    read_back: Callable[[Driver, str], dict[str, bytes]] | None = None,
) -> None:
    (src_driver, src_dsn), (dst_driver, dst_dsn) = source, destination
    data = mixed_dataset(src_dsn)
    put_all(src_driver, "origin", data, root="photos/")
    args = [f"{src_dsn}#origin/photos", f"{dst_dsn}#target/copy", "--verify", "--json", *SMALL_SETTINGS, *(extra or [])]
    first = migrate(env, *args)
    assert first.code == 0, first.stderr + first.stdout
    report = first.report
    assert report["state"] == "completed"
    assert report["objects"] == {
        "planned": len(data), "copied": len(data), "skipped": 0, "failed": 0, "pending": 0,
        "verified": len(data), "deleted": 0,
    }  # fmt: skip
    methods = {o["key"]: o["method"] for o in report["outcomes"]}
    assert methods["big/one.bin"] == methods["big/two.bin"] == "stream"
    assert methods["a.txt"] == "batch"
    copied = (read_back or (lambda d, root: read_all(d, "target", root)))(dst_driver, "copy/")
    assert copied == data

    again = migrate(env, *args)
    assert again.code == 0, again.stderr
    assert again.report["objects"]["copied"] == 0
    assert again.report["objects"]["skipped"] == len(data)


def test_local_to_s3_compressed_and_encrypted(
    workers: MigrationWorkers, worker_env: dict[str, str], moto: MotoServer, tmp_path: Path
) -> None:
    local_dsn = f"file://{tmp_path}/local?durable=false"
    s3_dsn = f"s3://{moto.host}:{moto.port}?tls=false&region=eu-west-1"  # keys: the workers' environment
    s3 = open_driver(moto.dsn())

    def decrypted(driver: Driver, root: str) -> dict[str, bytes]:
        """What the workers stored is framed ciphertext; read through Encrypt it is the data."""
        reader = Trove(driver)
        reader.use(Encrypt(EnvKeyProvider("TROVE_ENCRYPTION_KEY")))
        plain = mixed_dataset(local_dsn)
        out = {}
        for key, stored in read_all(driver, "target", root).items():
            assert driver.head("target", root + key).metadata["trove-format"] == "framed-1"
            assert plain[key][:64] not in stored or not plain[key]
            with reader.get("target", root + key) as body:
                out[key] = body.read()
        return out

    with open_driver(local_dsn) as local, pytest.MonkeyPatch.context() as mp:
        mp.setenv("TROVE_ENCRYPTION_KEY", worker_env["TROVE_ENCRYPTION_KEY"])
        check_pair(
            worker_env,
            (local, local_dsn),
            (s3, s3_dsn),
            ["--transform", "compress", "--transform", "encrypt"],
            decrypted,
        )
    s3.close()


def test_s3_to_azure(
    workers: MigrationWorkers, worker_env: dict[str, str], moto: MotoServer, azurite: AzuriteServer | None
) -> None:
    if azurite is None:
        pytest.skip("Azurite is not installed (scripts/install-test-servers)")
    s3_dsn = f"s3://{moto.host}:{moto.port}?tls=false&region=eu-west-1"
    azure_dsn = f"azure://?connection_string_env={AZURE_ENV}"
    with open_driver(moto.dsn()) as s3, open_driver(azurite.dsn()) as azure:
        check_pair(worker_env, (s3, s3_dsn), (azure, azure_dsn))


def test_sftp_to_gcs(workers: MigrationWorkers, worker_env: dict[str, str], sftp: SFTPServer, gcs: GCSEmulator) -> None:
    with open_driver(sftp.dsn()) as source, open_driver(gcs.dsn()) as destination:
        check_pair(worker_env, (source, sftp.dsn()), (destination, gcs.dsn()))


def test_stores_with_secrets_in_their_dsn_are_refused_for_workers(worker_env: dict[str, str], moto: MotoServer) -> None:
    result = migrate(worker_env, f"{moto.dsn()}#origin", "file:///tmp/x#target")
    assert result.code == 2
    assert "embeds a secret (password)" in result.stderr
    assert "trove-test-secret" not in result.stderr + result.stdout
    assert backend_name(moto.dsn()) in result.stderr
