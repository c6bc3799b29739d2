"""``trove keys rotate`` through the real console entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trove_dist import Trove
from trove_dist.middleware.encrypt import Encrypt, KeyRing, StaticKeyProvider


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trove_dist.cli", *args], env=env, capture_output=True, text=True)


def test_rotate_rewraps_with_the_primary_key_from_the_environment(tmp_path: Path) -> None:
    old, new = os.urandom(32), os.urandom(32)
    store = f"file://{tmp_path}/store"
    with Trove.open(store) as trove:
        trove.create_bucket("vault")
        trove.use(Encrypt(StaticKeyProvider(old, "k1")))
        trove.put("vault", "docs/a", b"alpha" * 1000)
        trove.put("vault", "docs/b", b"beta" * 1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TROVE_")}
    env |= {"TROVE_STORE": store, "TROVE_ENCRYPTION_KEY": new.hex(), "TROVE_ENCRYPTION_KEY_ID": "k2"}
    refused = run(["keys", "rotate", "vault/docs/"], env)
    assert refused.returncode == 1  # the old key is not configured: nothing can be unwrapped
    assert "skipped 2" in refused.stdout
    env["TROVE_OLD_ENCRYPTION_KEYS"] = f"k1={old.hex()}"
    done = run(["keys", "rotate", "vault/docs/"], env)
    assert done.returncode == 0, done.stderr
    assert "rotated 2" in done.stdout
    assert new.hex() not in done.stdout + done.stderr
    with Trove.open(store) as trove:
        trove.use(Encrypt(KeyRing(("k2", new))))  # the old key is gone: only the new one reads
        assert trove.get("vault", "docs/a").read() == b"alpha" * 1000
    again = run(["keys", "rotate", "vault/docs/"], env)
    assert "already current 2" in again.stdout


def test_rotate_without_a_key_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TROVE_")}
    env["TROVE_STORE"] = f"file://{tmp_path}/store"
    result = run(["keys", "rotate", "vault"], env)
    assert result.returncode == 2
    assert "TROVE_ENCRYPTION_KEY" in result.stderr
