"""Smoke test of the benchmark runner: a quick run writes a complete, self-describing result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import markdown

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    results = tmp_path_factory.mktemp("results")
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "local_small", "--quick", "--results-dir", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return results, completed.stdout


def test_quick_run_writes_one_result_file(quick_run: tuple[Path, str]) -> None:
    results, _ = quick_run
    files = list(results.glob("*-local_small.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["benchmark"] == "local_small"
    assert record["quick"] is True
    machine = record["machine"]
    for field in ("cpu_model", "cpu_count", "memory_bytes", "kernel", "python", "scratch_filesystem", "git"):
        assert machine[field], field
    assert machine["scratch_filesystem"]["fstype"] != "unknown"
    assert "drop_caches_writable" in record["page_cache"]
    assert record["parameters"]["objects"] == 500


def test_every_measurement_has_repeats_median_and_ratio(quick_run: tuple[Path, str]) -> None:
    results, _ = quick_run
    record = json.loads(next(results.glob("*.json")).read_text())
    names = {m["name"] for m in record["measurements"]}
    assert {"put 4 KiB vs fsspec", "get 4 KiB vs fsspec", "head 4 KiB vs fsspec"} <= names
    for m in record["measurements"]:
        for side in ("ours", "peer"):
            series = m[side]
            assert series["repeats"], (m["name"], side)
            assert all(value > 0 for value in series["repeats"])
            assert min(series["repeats"]) <= series["median"] <= max(series["repeats"])
        assert m["ratio"] == pytest.approx(m["ours"]["median"] / m["peer"]["median"])
        assert len(m["paired_ratios"]) == len(m["ours"]["repeats"])
        if m["target"] is None:
            assert m["passed"] is None
        else:
            assert m["target"]["op"] in (">=", "<=")
            assert m["passed"] in (True, False)


def test_run_prints_a_table_and_cleans_its_scratch(quick_run: tuple[Path, str]) -> None:
    _, stdout = quick_run
    assert "put 4 KiB vs fsspec" in stdout
    assert "ratio" in stdout.splitlines()[0]
    assert not list((REPO / "bench" / "scratch").glob("local_small-*"))


def test_results_markdown_lists_the_latest_run(quick_run: tuple[Path, str]) -> None:
    results, _ = quick_run
    text = markdown(results, relative_to=results)
    assert "| local_small (quick) | head 4 KiB vs fsspec |" in text
    assert "## local_small" in text
