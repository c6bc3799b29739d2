"""The end of a migration: once every page is planned and no object is pending, one finish
step deletes the destination's extraneous keys (when asked, and only if no copy failed) and
records how the migration ended.

Whoever records the last outcome — a batch, a stream's settle step, or the last planner page —
calls ``maybe_finish``; each reads the counters *after* its own write, so at least one of them
sees the end, and the one-time claim makes exactly one of them dispatch the finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from trove_dist.errors import BackendUnavailable, TroveError
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime
from trove_dist.migrate.state import MigrationNotFound, Phase
from trove_dist.stream.engine import RetryLater

log = logging.getLogger("trove_dist.migrate")

#: How long an ended migration's state stays readable (its report, a resume).
RETENTION = 7 * 24 * 3600.0


def maybe_finish(rt: MigrationRuntime, dispatch: MigrationDispatcher, migration_id: str) -> None:
    if rt.store.meta(migration_id).phase != Phase.COPYING:
        return
    spec = rt.store.spec(migration_id)
    if not spec.dry_run and rt.store.counters(migration_id).objects_pending > 0:
        return
    if rt.store.claim(migration_id, "finish"):
        dispatch.finish(migration_id)


def finish(rt: MigrationRuntime, migration_id: str) -> None:
    store = rt.store
    spec = store.spec(migration_id)
    if store.meta(migration_id).phase.ended:
        return
    if spec.dry_run:
        store.set_phase(migration_id, Phase.PLANNED)
        store.expire(migration_id, RETENTION)
        return
    failed = store.counters(migration_id).objects_failed
    problems: list[str] = []
    if spec.delete_extraneous and not failed:
        destination = rt.destination(spec)
        dest = spec.destination
        for relative, size in store.iter_extraneous(migration_id):
            try:
                destination.delete(dest.bucket, dest.key(relative))
            except BackendUnavailable as exc:
                raise RetryLater(str(exc), delay=2.0) from exc
            except TroveError as exc:
                problems.append(f"could not delete {relative}: {type(exc).__name__}: {exc}")
                continue
            store.mark_deleted(migration_id, relative, size)
            store.forget(spec.pair, [relative])
    if problems:
        store.set_phase(migration_id, Phase.COMPLETED_WITH_FAILURES, "; ".join(problems[:5]))
    else:
        store.set_phase(migration_id, Phase.COMPLETED_WITH_FAILURES if failed else Phase.COMPLETED)
    store.expire(migration_id, RETENTION)


def fail_migration(rt: MigrationRuntime, migration_id: str, reason: str) -> None:
    """The migration cannot go on (its source cannot be listed, ...): end it with the reason."""
    log.warning("migration %s failed: %s", migration_id, reason)
    rt.store.set_phase(migration_id, Phase.FAILED, reason)
    rt.store.expire(migration_id, RETENTION)


def guarded(rt: MigrationRuntime, migration_id: str, step: Callable[[], object]) -> None:
    """Run a step; one that crashes (a bug, an error no step expects) ends the migration with
    the reason instead of leaving it waiting forever for work that will not happen."""
    try:
        step()
    except RetryLater:
        raise
    except MigrationNotFound:
        log.warning("migration %s: a step ran after its state expired; nothing to do", migration_id)
    except Exception as exc:
        log.exception("migration %s: a step crashed", migration_id)
        fail_migration(rt, migration_id, f"a step crashed: {type(exc).__name__}: {exc}")
