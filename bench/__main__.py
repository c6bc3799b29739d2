"""``python -m bench [NAMES...] [--quick] [--results-dir DIR]`` runs benchmarks (all by default);
``python -m bench --table`` rewrites ``bench/RESULTS.md`` from the latest result files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.report import markdown, text_table
from bench.runner import BENCH_DIR, BENCHMARKS, RESULTS_DIR, run_benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test (seconds, not minutes)")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="where result files go (default: bench/results)"
    )
    parser.add_argument("--table", action="store_true", help="rewrite bench/RESULTS.md from the latest results")
    args = parser.parse_args(argv)

    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.table:
        if args.names or args.quick:
            parser.error("--table only rewrites RESULTS.md; run benchmarks separately")
        out = BENCH_DIR / "RESULTS.md"
        out.write_text(markdown(args.results_dir, relative_to=out.parent))
        print(f"wrote {out}")
        return 0

    records = []
    for name in args.names or list(BENCHMARKS):
        print(f"{name}{' (quick)' if args.quick else ''}", file=sys.stderr, flush=True)
        path, record = run_benchmark(name, quick=args.quick, results_dir=args.results_dir)
        print(f"  wrote {path}", file=sys.stderr, flush=True)
        records.append(record)
    print(text_table(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
