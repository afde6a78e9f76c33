"""measure_cost: wall seconds and the peak memory of a step, nested measurements kept."""

from __future__ import annotations

import mmap
import sys

import pytest

from saliency_cam.models.cost import Cost, measure_cost

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux")


def touch_mib(mib: int) -> mmap.mmap:
    """``mib`` MiB of fresh anonymous memory with every page written (resident). Mapped
    directly, not through malloc: in a long test session the allocator may hand out pages
    that are already resident, and the step would then add nothing measurable."""
    block = mmap.mmap(-1, mib * 2**20)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1
    return block


@linux_only
def test_peak_covers_what_the_step_allocated_and_not_what_came_before() -> None:
    before = touch_mib(300)
    with measure_cost() as idle:
        pass
    del before
    with measure_cost() as busy:
        block = touch_mib(200)
        del block
    assert busy.peak_mib is not None and idle.peak_mib is not None
    assert not busy.since_start
    # the step's own peak: at least the 200 MiB it touched on top of the baseline
    with measure_cost() as baseline:
        pass
    assert busy.peak_mib >= baseline.peak_mib + 190
    # the 300 MiB freed before the step do not count in a later, smaller step
    assert baseline.peak_mib < idle.peak_mib - 250


@linux_only
def test_outer_measurement_keeps_the_peak_of_a_nested_one() -> None:
    with measure_cost() as outer:
        with measure_cost() as inner:
            block = touch_mib(250)
            del block
        with measure_cost() as later:
            pass
    assert inner.peak_mib is not None and outer.peak_mib is not None
    assert later.peak_mib is not None and later.peak_mib < inner.peak_mib - 200
    assert outer.peak_mib >= inner.peak_mib


def test_seconds_are_measured_even_when_the_step_fails() -> None:
    with pytest.raises(RuntimeError), measure_cost() as cost:
        sum(range(200_000))
        raise RuntimeError("boom")
    assert cost.seconds > 0


def test_describe_names_the_kind_of_peak() -> None:
    assert Cost(7.56, 1638.4).describe() == "7.6 s, peak memory 1.6 GB"
    assert Cost(2.0, 2048.0, since_start=True).describe() == "2.0 s, process peak 2.0 GB"
    assert Cost(2.0, None).describe() == "2.0 s"
    assert Cost(1.0, 10.0).to_json()["peak_mib"] == 10.0


@linux_only
def test_growth_is_the_step_own_addition_above_what_was_resident() -> None:
    held = touch_mib(150)  # resident before the step: not the step's
    with measure_cost() as cost:
        block = touch_mib(100)
        del block
    del held
    assert cost.start_mib is not None and cost.grown_mib is not None
    assert cost.start_mib >= 150
    assert 90 <= cost.grown_mib < 140
    assert Cost(1.0, 10.0).grown_mib is None
