"""The benchmark workloads on Dask distributed, mirroring bench/skein/*.ts.

Each workload is a function (client, size, run) -> dict of metrics that
raises WrongResult unless every result is exact. `run` makes every run's
inputs (and so every key) distinct, as on the skein side.
"""

import time

import dask

RUN_STRIDE = 10_000_000
PIECE = 10  # shuffle: elements per piece
FAN_IN = 10  # graph-submit: combine fan-in


class WrongResult(Exception):
    pass


def expect_equal(what, actual, expected):
    if actual != expected:
        raise WrongResult(f"{what}: expected {expected}, got {actual}")


def run_base(run):
    return run * RUN_STRIDE


def range_sum(base, n):
    return n * base + n * (n - 1) // 2


def percentile(values, p):
    """Nearest rank, as bench/lib/stats.ts."""
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 1)  # ceil
    return ordered[min(len(ordered) - 1, max(0, int(rank) - 1))]


def now_ms():
    return time.time() * 1000


# Task functions: module level, so workers import them by reference.


def inc(x):
    return x + 1


def noop(i):
    return i


def total(values):
    return sum(values)


def leaf(i):
    return i


def add(a, b):
    return a + b


def make(i, n, piece, base):
    return [base + i * n * piece + k for k in range(n * piece)]


def split(part, j, n):
    return [x for x in part if x % n == j]


def concat(*pieces):
    out = []
    for p in pieces:
        out.extend(p)
    return out


def stamp(i):
    return (i, time.time() * 1000)


def combine(*parts):
    return (sum(p[0] for p in parts), min(p[1] for p in parts))


# Workloads.


def inc_1000(client, n, run):
    base = run_base(run)
    numbers = list(range(base, base + n))
    start = time.perf_counter()
    scattered = client.scatter(numbers)
    incremented = client.map(inc, scattered)
    value = client.submit(total, incremented).result()
    wall_ms = (time.perf_counter() - start) * 1000
    expect_equal("inc sum", value, range_sum(base + 1, n))
    return {"wallMs": wall_ms, "perTaskUs": wall_ms * 1000 / n}


def noop_map(client, n, run):
    base = run_base(run)
    items = range(base, base + n)
    start = time.perf_counter()
    futures = client.map(noop, items)
    values = client.gather(futures)
    wall_ms = (time.perf_counter() - start) * 1000
    expect_equal("noop result count", len(values), n)
    for i, v in enumerate(values):
        if v != base + i:
            expect_equal(f"noop task {i}", v, base + i)
    del futures
    return {"wallMs": wall_ms, "tasksPerSec": n / (wall_ms / 1000)}


def latency(client, n, run):
    base = run_base(run)
    samples = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        future = client.submit(inc, base + i)
        value = future.result()
        samples.append((time.perf_counter() - t0) * 1e6)
        expect_equal(f"round trip {i}", value, base + i + 1)
        del future
    wall_ms = (time.perf_counter() - start) * 1000
    return {"wallMs": wall_ms, "medianUs": percentile(samples, 0.5), "p99Us": percentile(samples, 0.99)}


def binary_tree(n, base):
    level = [dask.delayed(leaf)(base + i) for i in range(n)]
    while len(level) > 1:
        nxt = [dask.delayed(add)(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2 == 1:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def tree_reduce(client, n, run):
    base = run_base(run)
    start = time.perf_counter()
    root = client.compute(binary_tree(n, base), optimize_graph=False)
    value = root.result()
    wall_ms = (time.perf_counter() - start) * 1000
    expect_equal("tree sum", value, range_sum(base, n))
    return {"wallMs": wall_ms, "tasksPerSec": (2 * n - 1) / (wall_ms / 1000)}


def shuffle(client, n, run):
    base = run_base(run) - run_base(run) % n
    start = time.perf_counter()
    inputs = [dask.delayed(make)(i, n, PIECE, base) for i in range(n)]
    outputs = [dask.delayed(concat)(*[dask.delayed(split)(inp, j, n) for inp in inputs]) for j in range(n)]
    futures = client.compute(outputs, optimize_graph=False)
    values = client.gather(futures)
    wall_ms = (time.perf_counter() - start) * 1000
    grand = 0
    for j, out in enumerate(values):
        expect_equal(f"output {j} length", len(out), n * PIECE)
        for x in out:
            if x % n != j:
                raise WrongResult(f"output {j} holds {x}, which belongs to output {x % n}")
            grand += x
    expect_equal("shuffle total", grand, range_sum(base, n * n * PIECE))
    return {"wallMs": wall_ms, "tasksPerSec": (n * n + 2 * n) / (wall_ms / 1000)}


def stamp_tree(size, base):
    leaves = max(1, round(size * (FAN_IN - 1) / FAN_IN))
    level = [dask.delayed(stamp)(base + i) for i in range(leaves)]
    tasks = leaves
    while len(level) > 1:
        level = [dask.delayed(combine)(*level[i : i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
        tasks += len(level)
    return level[0], leaves, tasks


def graph_submit(client, n, run):
    base = run_base(run)
    build_start = time.perf_counter()
    root, leaves, tasks = stamp_tree(n, base)
    build_ms = (time.perf_counter() - build_start) * 1000
    submitted_at = now_ms()
    start = time.perf_counter()
    future = client.compute(root, optimize_graph=False)
    value_sum, first_started = future.result()
    done_ms = (time.perf_counter() - start) * 1000
    expect_equal("graph sum", value_sum, range_sum(base, leaves))
    first_task_ms = first_started - submitted_at
    if not (-50 < first_task_ms < done_ms + 50):
        raise WrongResult(f"first task started {first_task_ms:.1f} ms after submit, outside the run ({done_ms:.1f} ms)")
    return {"buildMs": build_ms, "firstTaskMs": first_task_ms, "doneMs": done_ms, "tasksPerSec": tasks / (done_ms / 1000)}


def tasks_of(name, size):
    if name == "inc-1000":
        return size + 1
    if name in ("noop-map-100k", "latency"):
        return size
    if name == "tree-reduce-10k":
        return 2 * size - 1
    if name == "shuffle-100x100":
        return size * size + 2 * size
    if name == "graph-submit-100k":
        return stamp_tree(size, 0)[2]
    raise KeyError(name)


WORKLOADS = {
    "inc-1000": inc_1000,
    "noop-map-100k": noop_map,
    "latency": latency,
    "tree-reduce-10k": tree_reduce,
    "shuffle-100x100": shuffle,
    "graph-submit-100k": graph_submit,
}
