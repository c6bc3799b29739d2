"""What a migration did, read back from its state: progress while it runs, a report at the end.

Both are built from the store alone, so they are the same whether the copies ran in this
process or on workers elsewhere.  ``Report.to_json`` is what ``--json`` prints; the command
line renders the same report for people.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import Counters, Meta, MigrationStore, Outcome, Phase, Status
from trove_dist.stream.progress import SpeedMeter


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One reading of a running migration, with its rate and remaining time."""

    meta: Meta
    counters: Counters
    moved_bytes: int  # copied, plus what running streams have moved
    rate: float  # bytes per second, smoothed
    eta: float | None  # seconds; None while unknown (still planning, nothing moved yet)


class ProgressReader:
    """Takes snapshots of one migration; the rate is smoothed between them."""

    def __init__(self, store: MigrationStore, migration_id: str) -> None:
        self.store = store
        self.migration_id = migration_id
        self._speed = SpeedMeter()

    def read(self, meta: Meta | None = None) -> Snapshot:
        meta = meta or self.store.meta(self.migration_id)
        counters = self.store.counters(self.migration_id)
        moved = counters.bytes_copied + sum(s.moved for s in self.store.streams(self.migration_id).values())
        rate = self._speed.update(moved)
        eta = None
        if rate > 0 and meta.phase == Phase.COPYING:
            eta = max(counters.bytes_pending - (moved - counters.bytes_copied), 0) / rate
        return Snapshot(meta, counters, moved, rate, eta)


@dataclass(frozen=True, slots=True)
class Report:
    spec: MigrationSpec
    meta: Meta
    counters: Counters
    copy_reasons: dict[str, int]
    skip_reasons: dict[str, int]
    failures: list[tuple[str, str]]  # (key, reason)
    deleted: list[str]
    would_delete: list[str]
    outcomes: list[tuple[str, Outcome]] | None

    @property
    def elapsed(self) -> float:
        return (self.meta.finished_at or time.time()) - self.meta.started_at

    @property
    def rate(self) -> float | None:
        return self.counters.bytes_copied / self.elapsed if self.elapsed > 0 else None

    @property
    def succeeded(self) -> bool:
        return self.meta.phase in (Phase.COMPLETED, Phase.PLANNED)

    def to_json(self) -> dict[str, Any]:
        c = self.counters
        data: dict[str, Any] = {
            "id": self.spec.migration_id,
            "source": str(self.spec.source),
            "destination": str(self.spec.destination),
            "prefix": self.spec.prefix,
            "include": list(self.spec.include),
            "exclude": list(self.spec.exclude),
            "transforms": list(self.spec.transforms),
            "verify": self.spec.verify,
            "dry_run": self.spec.dry_run,
            "delete_extraneous": self.spec.delete_extraneous,
            "state": self.meta.phase.value,
            "error": self.meta.error,
            "runs": self.meta.runs,
            "elapsed_seconds": round(self.elapsed, 3),
            "bytes_per_second": round(self.rate) if self.rate is not None else None,
            "objects": {
                "planned": c.objects_planned,
                "copied": c.objects_copied,
                "skipped": c.objects_skipped,
                "failed": c.objects_failed,
                "pending": c.objects_pending,
                "verified": c.objects_verified,
                "deleted": c.objects_deleted,
            },
            "bytes": {
                "planned": c.bytes_planned,
                "copied": c.bytes_copied,
                "skipped": c.bytes_skipped,
                "failed": c.bytes_failed,
                "pending": c.bytes_pending,
                "deleted": c.bytes_deleted,
            },
            "copy_reasons": self.copy_reasons,
            "skip_reasons": self.skip_reasons,
            "failures": [{"key": key, "reason": reason} for key, reason in self.failures],
            "deleted": self.deleted,
        }
        if self.spec.dry_run:
            data["would_delete"] = self.would_delete
        if self.outcomes is not None:
            data["outcomes"] = [
                {"key": key, **{k: v for k, v in asdict(o).items() if v not in ("", False)}} for key, o in self.outcomes
            ]
        return data


def build_report(store: MigrationStore, migration_id: str, *, outcomes: bool = False) -> Report:
    """The migration's report; ``outcomes`` adds every object's outcome (read a slice at a time,
    held for the report)."""
    spec = store.spec(migration_id)
    copy_reasons: Counter[str] = Counter()
    skip_reasons: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    rows: list[tuple[str, Outcome]] = []
    for key, outcome in store.iter_outcomes(migration_id):
        if outcome.status == Status.FAILED:
            failures.append((key, outcome.reason))
        elif outcome.status == Status.SKIPPED:
            skip_reasons[outcome.reason] += 1
        else:
            copy_reasons[outcome.reason] += 1
        if outcomes:
            rows.append((key, outcome))
    would_delete = [key for key, _ in store.iter_extraneous(migration_id)] if spec.dry_run else []
    return Report(
        spec=spec,
        meta=store.meta(migration_id),
        counters=store.counters(migration_id),
        copy_reasons=dict(copy_reasons.most_common()),
        skip_reasons=dict(skip_reasons.most_common()),
        failures=sorted(failures),
        deleted=sorted(store.deleted(migration_id)),
        would_delete=sorted(would_delete) if spec.delete_extraneous else [],
        outcomes=sorted(rows) if outcomes else None,
    )
