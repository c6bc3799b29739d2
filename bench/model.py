"""What a benchmark produces: measurements pairing our figure with a peer's, and their ratio."""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Series:
    """The raw repeats of one contender; a ``limit`` is a fixed figure (one repeat), not a run."""

    label: str
    repeats: list[float]
    kind: Literal["ours", "peer", "limit"] = "peer"

    @property
    def median(self) -> float:
        return statistics.median(self.repeats)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "repeats": self.repeats,
            "median": self.median,
            "min": min(self.repeats),
            "max": max(self.repeats),
        }


@dataclass(frozen=True, slots=True)
class Measurement:
    """Our figure against a peer (or a limit) for one operation.

    ``target`` is the ratio ours/peer must reach: at least it when higher is better, at most it
    when lower is better; ``None`` for figures reported for context only.
    """

    name: str
    unit: str
    better: Better
    ours: Series
    peer: Series
    target: float | None
    cache: str = "n/a"
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours.median / self.peer.median if self.peer.median else float("inf")

    @property
    def paired_ratios(self) -> list[float] | None:
        """Ours over the peer's figure of the same round: a cross-check of ``ratio`` that a
        round-long slowdown of the whole machine does not move (None against a fixed limit)."""
        if self.peer.kind == "limit" or len(self.ours.repeats) != len(self.peer.repeats):
            return None
        return [o / p for o, p in zip(self.ours.repeats, self.peer.repeats, strict=True)]

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.better == "higher" else self.ratio <= self.target

    @property
    def target_op(self) -> str:
        return ">=" if self.better == "higher" else "<="

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "better": self.better,
            "cache": self.cache,
            "ours": self.ours.to_json(),
            "peer": self.peer.to_json(),
            "ratio": self.ratio,
            "paired_ratios": self.paired_ratios,
            "paired_ratio_median": None if self.paired_ratios is None else statistics.median(self.paired_ratios),
            "target": None if self.target is None else {"op": self.target_op, "ratio": self.target},
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(slots=True)
class Outcome:
    """Everything one benchmark returns to the runner."""

    parameters: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Context:
    """What the runner hands a benchmark: a private scratch directory on the repository's disk
    (removed afterwards) and whether to run the small ``--quick`` variant."""

    scratch: Path
    quick: bool

    def log(self, message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)
