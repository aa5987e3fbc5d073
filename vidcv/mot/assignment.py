"""Pairing tracks with detections: the cheapest one-to-one assignment under a cost limit.

``assign(cost, limit)`` solves what ``lap.lapjv(cost, extend_cost=True, cost_limit=limit)`` solves for ByteTrack:
every row and every column is either paired or left alone, leaving a row and a column alone costs ``limit`` (half
each), and the total is the least possible; so no pair costing more than ``limit`` is ever made, and a pair within
it is made unless pairing its row or column elsewhere saves more.

Only the pairs within the limit can take part, so the rows and columns fall apart into independent groups joined
by such pairs; in tracking almost every group is one track and one detection. A group of one row or one column
takes its cheapest pair; a larger group is solved exactly as a square problem (the group's pairs, and a stand-in
column per row and a stand-in row per column at ``limit / 2``) by shortest augmenting paths (Jonker-Volgenant, in
the form of Crouse 2016, as SciPy's ``linear_sum_assignment``), one NumPy pass per step of a path.
"""

from __future__ import annotations

import numpy as np


def assign(cost: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pairs, rows_alone, cols_alone)`` for an (N, M) cost matrix: pairs is (K, 2) of row, column (in row
    order), the others the rows and the columns left alone (ascending). NaN and infinite costs never pair."""
    cost = np.asarray(cost, np.float64)
    n, m = cost.shape
    rows_of: np.ndarray = np.full(m, -1, np.int64)  # the row each column is paired with
    if n and m:
        within = np.isfinite(cost) & (cost <= limit)
        row_options, col_options = within.sum(axis=1), within.sum(axis=0)
        # a row and a column that have only each other: paired, in one pass
        alone = within & (row_options[:, None] == 1) & (col_options[None, :] == 1)
        r, c = np.nonzero(alone)
        rows_of[c] = r
        rest = within.copy()
        rest[r] = False
        for group_rows, group_cols in _groups(rest) if rest.any() else ():
            sub = cost[np.ix_(group_rows, group_cols)]
            sub_within = rest[np.ix_(group_rows, group_cols)]
            if len(group_rows) == 1 or len(group_cols) == 1:  # one pair at most: the cheapest
                best = np.where(sub_within, sub, np.inf).argmin()
                rows_of[group_cols[best % len(group_cols)]] = group_rows[best // len(group_cols)]
            else:
                for i, j in _solve_group(sub, sub_within, limit):
                    rows_of[group_cols[j]] = group_rows[i]
    cols = np.flatnonzero(rows_of >= 0)
    pairs = np.stack([rows_of[cols], cols], axis=1)
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    paired = np.zeros(n, bool)
    paired[pairs[:, 0]] = True
    return pairs, np.flatnonzero(~paired), np.flatnonzero(rows_of < 0)


def _groups(within: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The connected groups of rows and columns joined by allowed pairs (rows and columns in ascending order);
    rows and columns without an allowed pair belong to none."""
    n, m = within.shape
    parent = list(range(n + m))  # rows 0..n-1, columns n..n+m-1

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    rs, cs = np.nonzero(within)
    for r, c in zip(rs.tolist(), cs.tolist()):
        a, b = root(r), root(n + c)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, tuple[list[int], list[int]]] = {}
    for r in np.unique(rs).tolist():
        members.setdefault(root(r), ([], []))[0].append(r)
    for c in np.unique(cs).tolist():
        members[root(n + c)][1].append(c)
    return [(np.array(r, np.int64), np.array(c, np.int64)) for r, c in members.values()]


def _solve_group(cost: np.ndarray, within: np.ndarray, limit: float) -> list[tuple[int, int]]:
    """The pairs of one group: the square problem of its pairs and the stand-ins for leaving each row or column
    alone, solved exactly."""
    n, m = cost.shape
    size = n + m
    # a pair over the limit costs more than leaving its row and its column alone: never taken
    over = 2.0 * abs(limit) + 1.0 + float(np.max(np.where(within, np.abs(cost), 0.0)))
    square = np.zeros((size, size))
    square[:n, :m] = np.where(within, cost, over)
    square[:n, m:] = limit / 2  # row i left alone
    square[n:, :m] = limit / 2  # column j left alone
    col_of_row = _square_assignment(square)
    return [(r, int(col_of_row[r])) for r in range(n) if col_of_row[r] < m]


def _square_assignment(cost: np.ndarray) -> np.ndarray:
    """The column of each row in a least-cost perfect assignment of a square matrix of finite costs."""
    size = cost.shape[0]
    if size <= SMALL:
        return np.array(_square_assignment_small(cost.tolist()), np.int64)
    # Start from the column reduction: each column's price is its cheapest cost, and a column goes to the row of
    # that cost when the row is still free. The prices keep every reduced cost at zero or above, so what follows
    # augments only from the rows left free (in tracking, those whose detections conflict).
    u, v = np.zeros(size), cost.min(axis=0)  # the dual variables of the rows and the columns
    col_of_row = np.full(size, -1, np.int64)
    row_of_col = np.full(size, -1, np.int64)
    for col, row in enumerate(cost.argmin(axis=0).tolist()):
        if col_of_row[row] < 0:
            col_of_row[row], row_of_col[col] = col, row
    for start in np.flatnonzero(col_of_row < 0).tolist():
        shortest = np.full(size, np.inf)  # shortest alternating path to each column so far
        came_from = np.full(size, -1, np.int64)
        rows_seen = np.zeros(size, bool)
        cols_done = np.zeros(size, bool)
        row, reach, sink = start, 0.0, -1
        while sink < 0:
            rows_seen[row] = True
            reduced = reach + cost[row] - u[row] - v
            better = ~cols_done & (reduced < shortest)
            shortest[better] = reduced[better]
            came_from[better] = row
            open_costs = np.where(cols_done, np.inf, shortest)
            reach = float(open_costs.min())
            ties = np.flatnonzero(open_costs == reach)
            free = ties[row_of_col[ties] < 0]
            col = int(free[0] if len(free) else ties[0])  # a free column ends the path: take one when tied
            cols_done[col] = True
            if row_of_col[col] < 0:
                sink = col
            else:
                row = int(row_of_col[col])
        u[start] += reach
        others = rows_seen.copy()
        others[start] = False
        u[others] += reach - shortest[col_of_row[others]]
        v[cols_done] -= reach - shortest[cols_done]
        col = sink
        while True:  # flip the path's pairs back to the start row
            row = int(came_from[col])
            row_of_col[col] = row
            col_of_row[row], col = col, int(col_of_row[row])
            if row == start:
                break
    return col_of_row


#: up to this size a group is solved in plain Python: a NumPy call costs more than a short loop
SMALL = 24


def _square_assignment_small(cost: list[list[float]]) -> list[int]:
    """``_square_assignment`` for a small matrix, in plain Python (the same steps, one scalar at a time)."""
    size = len(cost)
    inf = float("inf")
    u = [0.0] * size
    v = [min(cost[i][j] for i in range(size)) for j in range(size)]
    col_of_row, row_of_col = [-1] * size, [-1] * size
    for col in range(size):
        row = 0
        for i in range(1, size):
            if cost[i][col] < cost[row][col]:
                row = i
        if col_of_row[row] < 0:
            col_of_row[row], row_of_col[col] = col, row
    for start in [r for r in range(size) if col_of_row[r] < 0]:
        shortest = [inf] * size
        came_from = [-1] * size
        rows_seen, cols_done = [False] * size, [False] * size
        row, reach, sink = start, 0.0, -1
        while sink < 0:
            rows_seen[row] = True
            lowest, col = inf, -1
            base, cost_row = reach - u[row], cost[row]
            for j in range(size):
                if cols_done[j]:
                    continue
                reduced = base + cost_row[j] - v[j]
                if reduced < shortest[j]:
                    shortest[j], came_from[j] = reduced, row
                if shortest[j] < lowest or (shortest[j] == lowest and row_of_col[j] < 0 <= row_of_col[col]):
                    lowest, col = shortest[j], j
            reach = lowest
            cols_done[col] = True
            if row_of_col[col] < 0:
                sink = col
            else:
                row = row_of_col[col]
        u[start] += reach
        for i in range(size):
            if rows_seen[i] and i != start:
                u[i] += reach - shortest[col_of_row[i]]
        for j in range(size):
            if cols_done[j]:
                v[j] -= reach - shortest[j]
        col = sink
        while True:
            row = came_from[col]
            row_of_col[col] = row
            col_of_row[row], col = col, col_of_row[row]
            if row == start:
                break
    return col_of_row
