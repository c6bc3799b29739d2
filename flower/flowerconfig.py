"""Flower's configuration for trove's workers (``flower/run`` passes it with ``--conf``).

Read by Flower at start; every setting can still be overridden on the command line.  Environment:

    FLOWER_BASIC_AUTH      user:password (required; several, comma-separated, allowed)
    FLOWER_DB              the persistent state file (default /var/lib/trove/flower.db)
    FLOWER_ADDRESS         address to listen on (default 127.0.0.1: put a proxy in front)
    FLOWER_PORT            port (default 5555)

Authentication is not optional here: Flower shows every task's arguments, and its API can
revoke tasks and resize pools.  Trove's task arguments are ids only — a migration id with a page
number or a batch id, a stream id with a chunk index — never keys in bulk, DSNs with secrets or
data, so what Flower stores and shows is safe to keep; but who may *act* on the workers must
still be restricted.  Flower does not protect ``/metrics`` and ``/healthcheck`` with this
authentication: see README.md for restricting them at the proxy.
"""

from __future__ import annotations

import os

_credentials = os.environ.get("FLOWER_BASIC_AUTH", "")
if ":" not in _credentials:
    raise SystemExit(
        "FLOWER_BASIC_AUTH=user:password is required: Flower shows task arguments and can control the workers"
    )

basic_auth = [pair for pair in _credentials.split(",") if pair]
address = os.environ.get("FLOWER_ADDRESS", "127.0.0.1")
port = int(os.environ.get("FLOWER_PORT", "5555"))

# Keep the task history across restarts (a shelve file), saved every minute as well as at exit.
persistent = True
db = os.environ.get("FLOWER_DB", "/var/lib/trove/flower.db")
state_save_interval = 60_000  # milliseconds

# A migration of millions of objects sends many tasks: keep a bounded window of them.
max_tasks = 50_000
# The task list shows the arguments: which migration, batch, stream and chunk each task is.
tasks_columns = "name,uuid,state,args,received,started,runtime,worker"
# Workers that disappeared (scaled down, killed) leave the dashboard after ten minutes.
purge_offline_workers = 600
