"""The state machine and part assembly, as pure logic."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trove_dist.stream.assembly import part_minimum, plan_cuts
from trove_dist.stream.records import ObjectRef, Part, StreamSpec
from trove_dist.stream.state import TERMINAL, TRANSITIONS, InvalidTransition, StreamState, allowed
from trove_dist.stream.store import MemoryStreamStore

MiB = 1024 * 1024


def spec(stream_id: str = "str_x", part_min: int = 5 * MiB) -> StreamSpec:
    return StreamSpec(stream_id, ObjectRef("default", "bkt", "k"), chunk_size=MiB, part_min=part_min)


def test_terminal_states_are_final() -> None:
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()
        for wanted in StreamState:
            assert not allowed(state, wanted)


def test_transitions_follow_the_seed() -> None:
    assert allowed(StreamState.IDLE, StreamState.ACTIVE)
    assert allowed(StreamState.ACTIVE, StreamState.PAUSED)
    assert allowed(StreamState.PAUSED, StreamState.ACTIVE)
    assert allowed(StreamState.ACTIVE, StreamState.COMPLETING)
    assert allowed(StreamState.COMPLETING, StreamState.COMPLETED)
    assert not allowed(StreamState.PAUSED, StreamState.COMPLETING)
    assert not allowed(StreamState.IDLE, StreamState.COMPLETED)


def test_store_transitions_are_compare_and_set() -> None:
    store = MemoryStreamStore()
    store.create(spec())
    assert store.transition("str_x", StreamState.ACTIVE) == StreamState.IDLE
    with pytest.raises(InvalidTransition):
        store.transition("str_x", StreamState.COMPLETED)
    with pytest.raises(InvalidTransition):
        store.transition("str_x", StreamState.PAUSED, only_from=[StreamState.IDLE])
    store.transition("str_x", StreamState.CANCELLED, error="stop")
    with pytest.raises(InvalidTransition):
        store.transition("str_x", StreamState.ACTIVE)
    assert store.status("str_x").error == "stop"


def test_frames_record_once_and_finalize_is_claimed_once() -> None:
    store = MemoryStreamStore()
    store.create(spec(part_min=1))
    assert store.record_frame("str_x", 0, 10, 20)
    assert not store.record_frame("str_x", 0, 99, 99)
    assert store.frame_sizes("str_x") == {0: (10, 20)}
    store.set_total("str_x", 1)
    with pytest.raises(ValueError, match="chunks"):
        store.set_total("str_x", 2)
    (part,) = store.cut_parts("str_x", 0, 0)
    assert store.cut_parts("str_x", 0, 0) == []
    assert store.part_uploaded("str_x", part.number, "e", 10)
    assert not store.part_uploaded("str_x", part.number, "e", 10)
    assert store.claim_finalize("str_x")
    assert not store.claim_finalize("str_x")


def test_small_frames_are_grouped_into_parts_of_at_least_the_minimum() -> None:
    frames = {i: 2 * MiB for i in range(10)}  # e.g. 8 MiB chunks compressed to 2 MiB
    parts = plan_cuts(frames, 0, 1, 10, 5 * MiB, 10_000)
    assert [(p.first, p.last) for p in parts] == [(0, 2), (3, 5), (6, 8), (9, 9)]
    assert all(sum(frames[i] for i in range(p.first, p.last + 1)) >= 5 * MiB for p in parts[:-1])


def test_cutting_waits_for_the_contiguous_front() -> None:
    assert plan_cuts({1: 9 * MiB, 2: 9 * MiB}, 0, 1, 3, 5 * MiB, 10_000) == []
    parts = plan_cuts({0: MiB, 1: 9 * MiB}, 0, 1, None, 5 * MiB, 10_000)
    assert [(p.first, p.last) for p in parts] == [(0, 1)]


def test_part_minimum_grows_to_stay_under_the_part_limit() -> None:
    assert part_minimum(1, 5, 10_000) == 5
    assert part_minimum(2001, 5, 10_000) == 10
    assert part_minimum(8001, 5, 10_000) == 80


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 12 * MiB), min_size=1, max_size=60),
    part_min=st.sampled_from([1, MiB, 5 * MiB]),
    batches=st.integers(1, 8),
)
def test_cuts_cover_every_frame_once_and_respect_the_minimum(sizes: list[int], part_min: int, batches: int) -> None:
    """Frames arrive in arbitrary batches; the cuts made along the way tile the stream exactly."""
    total = len(sizes)
    order = sorted(range(total), key=lambda i: (i * 7919) % (total + 3))
    recorded: dict[int, int] = {}
    parts: list[Part] = []
    step = max(1, total // batches)
    for start in range(0, total, step):
        for i in order[start : start + step]:
            recorded[i] = sizes[i]
        next_frame = parts[-1].last + 1 if parts else 0
        parts += plan_cuts(recorded, next_frame, len(parts) + 1, total, part_min, 10_000)
    covered = [i for p in parts for i in range(p.first, p.last + 1)]
    assert covered == list(range(total))
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    for p in parts[:-1]:
        assert sum(sizes[i] for i in range(p.first, p.last + 1)) >= part_min
