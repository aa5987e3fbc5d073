"""vidcv.mot.assignment: the least-cost pairing under a cost limit that ByteTrack asks lap.lapjv for, without lap.

Any cost matrix, ties and NaN included: the pairs are one-to-one, none over the limit, and the total (each pair's
cost, ``limit`` / 2 for every row and column left alone) is lap's own; square problems cost what SciPy's
linear_sum_assignment finds, in both the plain-Python form (small groups) and the NumPy one.
"""

import lap
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from vidcv.mot.assignment import SMALL, _square_assignment, assign


def total(cost, limit, pairs):
    n, m = cost.shape
    return sum(cost[r, c] for r, c in pairs) + limit * (n + m - 2 * len(pairs)) / 2


def lap_total(cost, limit):
    if not cost.size:
        return total(cost, limit, [])
    _, x, _ = lap.lapjv(np.nan_to_num(cost, nan=1e9), extend_cost=True, cost_limit=limit)
    return total(cost, limit, [(i, j) for i, j in enumerate(x) if j >= 0])


@st.composite
def problems(draw):
    n, m = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    values = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1.5) | st.just(float("nan"))
    cost = np.array(draw(st.lists(values, min_size=n * m, max_size=n * m)), np.float64).reshape(n, m)
    return cost, draw(st.sampled_from([0.3, 0.5, 0.7, 0.8, 1.0]))


@settings(max_examples=400, deadline=None)
@given(problems())
def test_the_pairs_cost_what_lap_finds_and_keep_the_limit(problem):
    cost, limit = problem
    pairs, rows_alone, cols_alone = assign(cost, limit)
    n, m = cost.shape
    assert pairs.shape == (len(pairs), 2) and list(pairs[:, 0]) == sorted(pairs[:, 0])
    assert sorted([*pairs[:, 0], *rows_alone]) == list(range(n))  # every row paired once or left alone
    assert sorted([*pairs[:, 1], *cols_alone]) == list(range(m))
    assert all(cost[r, c] <= limit for r, c in pairs)  # never over the limit, never NaN
    assert total(cost, limit, pairs) == pytest.approx(lap_total(cost, limit), abs=1e-9)


@pytest.mark.parametrize("size", [3, SMALL, SMALL + 1, 60])
def test_square_problems_cost_what_scipy_finds(size):
    rng = np.random.default_rng(size)
    for cost in (rng.random((size, size)), rng.integers(0, 3, (size, size)).astype(float)):  # ties in the second
        cols = _square_assignment(cost)
        assert sorted(cols) == list(range(size))
        rows, best = linear_sum_assignment(cost)
        assert cost[np.arange(size), cols].sum() == pytest.approx(cost[rows, best].sum(), abs=1e-9)


def test_a_crowd_with_overlapping_boxes_pairs_as_lap_does():
    """200 boxes where most touch several others: large groups, solved whole."""
    rng = np.random.default_rng(1)
    xy = rng.random((200, 2)) * [880, 340]
    boxes = np.concatenate([xy, xy + rng.random((200, 2)) * [40, 100] + [40, 100]], axis=1)
    moved = boxes[rng.permutation(200)] + rng.normal(0, 6, boxes.shape)
    top_left = np.maximum(moved[:, None, :2], boxes[None, :, :2])
    inter = np.prod(np.clip(np.minimum(moved[:, None, 2:], boxes[None, :, 2:]) - top_left, 0, None), axis=2)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    iou = inter / (np.prod(moved[:, 2:] - moved[:, :2], axis=1)[:, None] + area[None] - inter)
    cost = 1 - iou * rng.uniform(0.3, 0.95, 200)[None]
    pairs, _, _ = assign(cost, 0.8)
    assert total(cost, 0.8, pairs) == pytest.approx(lap_total(cost, 0.8), abs=1e-9)
