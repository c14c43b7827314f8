"""The benchmark workloads on Dask distributed, mirroring bench/skein/*.ts.

Each workload is a function (client, size, run) -> dict of metrics that
raises WrongResult unless every result is exact. `run` makes every run's
inputs (and so every key) distinct, as on the skein side.
"""

import atexit
import os
import shutil
import statistics
import tempfile
import threading
import time

import dask
from distributed import KilledWorker

RUN_STRIDE = 10_000_000
PIECE = 10  # shuffle: elements per piece
FAN_IN = 10  # graph-submit: combine fan-in

# cpu-1ms, cpu-100ms: the integer hash of bench/lib/cpu-work.ts, with rounds per task
# chosen for about 1 ms / 100 ms of CPU in CPython 3.11 on the benchmark machine (~310 ns a round;
# V8 does a round in ~3.5 ns and runs ~90x more of them). KNOWN_ANSWER pins the function to
# the TypeScript one: (rounds, seed, hash).
PY_ROUNDS = {"cpu-1ms": 3_200, "cpu-100ms": 320_000}
KNOWN_ANSWER = (1000, 12345, 3_916_963_922)
CPU_SLOTS = 2
M32 = 0xFFFFFFFF


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


def cpu_work(rounds, seed):
    """`rounds` rounds of murmur3's finaliser plus the round number: (hash, the loop's wall ms). As cpuWork in bench/lib/cpu-work.ts."""
    started = time.perf_counter()
    h = seed & M32
    for i in range(rounds):
        h ^= h >> 16
        h = (h * 0x85EBCA6B) & M32
        h ^= h >> 13
        h = (h * 0xC2B2AE35) & M32
        h ^= h >> 16
        h = (h + i) & M32
    return h, (time.perf_counter() - started) * 1000


def block(seed, n):
    """`n` bytes, all the block's fill byte (every page written, as Buffer.alloc on the skein side)."""
    return bytes([seed & 0xFF]) * n


def pair_bytes(a, b, seed_a, seed_b):
    """The byte lengths of two blocks added, after checking both ends of each against its fill byte."""
    for x, seed in ((a, seed_a), (b, seed_b)):
        if x[0] != seed & 0xFF or x[-1] != seed & 0xFF:
            raise ValueError(f"block {seed}: wrong bytes")
    return len(a) + len(b)


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


_calibrations = {}


def calibrate(rounds, n):
    """The expected hash of seeds 0..n-1 and this thread's CPU per task (time.thread_time), once per process,
    as calibrate() in bench/lib/cpu-work.ts: checking every result costs as much CPU as the tasks, so the
    seeds repeat across runs, with fresh keys (pure=False)."""
    known = _calibrations.get(rounds)
    if known and len(known["hashes"]) >= n:
        return known
    expect_equal("cpu_work known answer", cpu_work(KNOWN_ANSWER[0], KNOWN_ANSWER[1])[0], KNOWN_ANSWER[2])
    before = time.thread_time()
    hashes = [cpu_work(rounds, seed)[0] for seed in range(n)]
    calibration = {"rounds": rounds, "hashes": hashes, "cpuPerTaskMs": (time.thread_time() - before) * 1000 / n}
    _calibrations[rounds] = calibration
    return calibration


def cpu_calibration(name):
    def once(size):
        c = calibrate(PY_ROUNDS[name], size)
        return {"rounds": c["rounds"], "calibratedTasks": len(c["hashes"]), "cpuPerTaskMs": c["cpuPerTaskMs"]}

    return once


def machine_ticks():
    """[idle + iowait, all] clock ticks over every CPU from /proc/stat, or None (as bench/lib/cpu-share.ts)."""
    try:
        with open("/proc/stat") as f:
            t = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return None
    return t[3] + t[4], sum(t)


def tree_ticks(root):
    """User + system clock ticks of process `root` and every live descendant (Dask's workers), or None."""
    parent, ticks = {}, {}
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rindex(")") + 2 :].split(" ")
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    total = 0
    for pid, own in ticks.items():
        p = pid
        while p and p > 0:
            if p == root:
                total += own
                break
            p = parent.get(p)
    return total


def cpu_share_since():
    """As cpuShareSince in bench/lib/cpu-share.ts: a function giving {"idleCores", "ownCores"} since the call, or {}."""
    started, machine, own = time.perf_counter(), machine_ticks(), tree_ticks(os.getpid())

    def share():
        seconds = time.perf_counter() - started
        machine_after, own_after = machine_ticks(), tree_ticks(os.getpid())
        if None in (machine, machine_after, own, own_after) or machine_after[1] == machine[1]:
            return {}
        return {
            "idleCores": (machine_after[0] - machine[0]) / (machine_after[1] - machine[1]) * os.cpu_count(),
            "ownCores": (own_after - own) / os.sysconf("SC_CLK_TCK") / seconds,
        }

    return share


def cpu_workload(name):
    """n tasks of cpu_work on the 2 worker processes; wall against the tasks' total CPU / 2 (see bench/lib/cpu-work.ts)."""
    rounds = PY_ROUNDS[name]

    def workload(client, n, run):
        calibration = calibrate(rounds, n)
        share = cpu_share_since()
        start = time.perf_counter()
        futures = client.map(cpu_work, [rounds] * n, range(n), pure=False)
        results = client.gather(futures)
        wall_ms = (time.perf_counter() - start) * 1000
        cpu_share = share()
        expect_equal("cpu result count", len(results), n)
        for seed, (h, _) in enumerate(results):
            if h != calibration["hashes"][seed]:
                raise WrongResult(f"cpu task {seed}: expected hash {calibration['hashes'][seed]}, got {h}")
        del futures
        loop_ms = [ms for _, ms in results]
        ideal_ms = n * calibration["cpuPerTaskMs"] / CPU_SLOTS
        return {
            "wallMs": wall_ms,
            "idealMs": ideal_ms,
            "wallOverIdeal": wall_ms / ideal_ms,
            "taskMsMedian": statistics.median(loop_ms),
            "wallOverTaskTime": wall_ms / (sum(loop_ms) / CPU_SLOTS),
            **cpu_share,
        }

    return workload


# memory-pressure: as bench/skein/memory-pressure.ts.
BLOCKS = 40
MEMORY_LIMIT = "128MiB"
MEMORY_TIME_LIMIT_S = 90
MiB = 2**20
SAMPLE_S = 0.02
SETTLE_S = 1.0


def proc_memory(pid):
    """(VmRSS, VmHWM) of `pid` in bytes, or None (as bench/lib/proc-memory.ts)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker_pids(cluster):
    """Worker name -> the pid of its worker process now (the nannies run in this process)."""
    try:
        nannies = list(cluster.workers.items())
    except RuntimeError:  # the dict changed size while a worker restarted
        return {}
    return {name: nanny.pid for name, nanny in nannies if getattr(nanny, "pid", None)}


def spill_files(directory):
    """Path -> size of every file in the workers' spill directories (<local directory>/<worker>/storage/...)."""
    sizes = {}
    for root, _, files in os.walk(directory):
        if f"{os.sep}storage" not in root[len(directory) :]:
            continue
        for name in files:
            path = os.path.join(root, name)
            try:
                sizes[path] = os.stat(path).st_size
            except OSError:  # deleted meanwhile
                pass
    return sizes


class MemoryWatch:
    """Each worker's peak RSS (restarted processes included) and the spill files on disk while a run goes on, as bench/skein/memory-watch.ts."""

    def __init__(self, cluster, directory):
        self.cluster = cluster
        self.directory = directory
        self.files = {}
        self.spilled_peak = 0
        self.peaks = {}
        pids = worker_pids(cluster)
        self.peaks_reset = all([reset_peak(pid) for pid in pids.values()])
        self.baseline = max([(proc_memory(pid) or (0, 0))[0] for pid in pids.values()], default=0)
        self.pids_seen = {}  # worker name -> its process ids seen
        for name, pid in pids.items():
            self.pids_seen.setdefault(name, set()).add(pid)
        self.stopped = threading.Event()
        self.sample()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopped.wait(SAMPLE_S):
            self.sample()

    def sample(self):
        for name, pid in worker_pids(self.cluster).items():
            self.pids_seen.setdefault(name, set()).add(pid)
            memory = proc_memory(pid)
            if memory:
                self.peaks[name] = max(self.peaks.get(name, 0), *memory)
        on_disk = spill_files(self.directory)
        for path, size in on_disk.items():
            # A spilled value goes to a file of its own, so the files seen are the spills.
            self.files[path] = max(self.files.get(path, 0), size)
        self.spilled_peak = max(self.spilled_peak, sum(on_disk.values()))

    def restarts(self):
        """Worker processes started again (by their nanny) while the watch ran."""
        return sum(len(pids) - 1 for pids in self.pids_seen.values())

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.sample()


def memory_pressure(client, megabytes, run):
    """40 blocks of megabytes/40 MB, summed pairwise then in one task, on 2 workers of 128 MiB; completes or not."""
    base = run_base(run)
    block_bytes = round(megabytes * 1e6 / BLOCKS)
    expected = BLOCKS * block_bytes
    cluster = client.cluster
    notes = []
    watch = MemoryWatch(cluster, LOCAL_DIRECTORY)
    start = time.perf_counter()
    seeds = [base + i for i in range(BLOCKS)]
    blocks = [dask.delayed(block)(seed, block_bytes) for seed in seeds]
    pairs = [dask.delayed(pair_bytes)(blocks[i], blocks[i + 1], seeds[i], seeds[i + 1]) for i in range(0, BLOCKS, 2)]
    future = client.compute(dask.delayed(total)(pairs), optimize_graph=False)
    completed = exact = 0
    try:
        value = future.result(timeout=MEMORY_TIME_LIMIT_S)
        completed = 1
        exact = 1 if value == expected else 0
        if not exact:
            notes.append(f"wrong total: expected {expected}, got {value}")
    except TimeoutError:
        statuses = client.run_on_scheduler(lambda dask_scheduler: [ws.status.name for ws in dask_scheduler.workers.values()])
        notes.append(f"did not finish within {MEMORY_TIME_LIMIT_S} s: {statuses.count('paused')} of {len(statuses)} workers paused")
    except KilledWorker as err:
        notes.append(f"failed: KilledWorker: {err}")
    except Exception as err:  # an erred task: the run's outcome, reported
        notes.append(f"failed: {type(err).__name__}: {err}")
    wall_ms = (time.perf_counter() - start) * 1000
    client.cancel(future)
    del future
    watch.stop()
    # What the workers hold once the run is over and its results released: what the next computation starts from.
    time.sleep(SETTLE_S)
    after = max([(proc_memory(pid) or (0, 0))[0] for pid in worker_pids(cluster).values()], default=0)
    if not watch.peaks_reset:
        notes.append("could not reset the workers' peak RSS (/proc/<pid>/clear_refs): peaks are since each worker started")
    peaks = list(watch.peaks.values()) or [0]
    return {
        "completed": completed,
        "exact": exact,
        "wallMs": wall_ms,
        "baselineRssMiB": watch.baseline / MiB,
        "peakRssMaxMiB": max(peaks) / MiB,
        "peakRssMinMiB": min(peaks) / MiB,
        "spilledMiB": sum(watch.files.values()) / MiB,
        "spillWrites": len(watch.files),
        "spilledPeakMiB": watch.spilled_peak / MiB,
        "rssAfterMiB": after / MiB,
        "restarts": watch.restarts(),
        "_notes": notes,
    }


def tasks_of(name, size):
    if name == "inc-1000":
        return size + 1
    if name in ("noop-map-100k", "latency", "cpu-1ms", "cpu-100ms"):
        return size
    if name == "tree-reduce-10k":
        return 2 * size - 1
    if name == "shuffle-100x100":
        return size * size + 2 * size
    if name == "graph-submit-100k":
        return stamp_tree(size, 0)[2]
    if name.startswith("memory-pressure"):
        return BLOCKS + BLOCKS // 2 + 1
    raise KeyError(name)


WORKLOADS = {
    "inc-1000": inc_1000,
    "noop-map-100k": noop_map,
    "latency": latency,
    "tree-reduce-10k": tree_reduce,
    "shuffle-100x100": shuffle,
    "graph-submit-100k": graph_submit,
    "cpu-1ms": cpu_workload("cpu-1ms"),
    "cpu-100ms": cpu_workload("cpu-100ms"),
    "memory-pressure": memory_pressure,
    "memory-pressure-spill-only": memory_pressure,
}

def cluster_options(name):
    """LocalCluster arguments of a workload beyond the common shape (Dask's default memory thresholds otherwise).
    memory-pressure's workers spill into a directory of their own (watched for spill files), removed at exit.
    Called by run.py only: the worker processes import this module too."""
    global LOCAL_DIRECTORY
    if not name.startswith("memory-pressure"):
        return {}
    LOCAL_DIRECTORY = tempfile.mkdtemp(prefix="skein-bench-dask-")
    atexit.register(shutil.rmtree, LOCAL_DIRECTORY, ignore_errors=True)
    return {"memory_limit": MEMORY_LIMIT, "local_directory": LOCAL_DIRECTORY}


LOCAL_DIRECTORY = None


# A cluster of their own for each run: workers one run got terminated, and the memory a run leaves
# behind, would otherwise be the next run's starting point (as `clusterPerRun` on the skein side).
CLUSTER_PER_RUN = {"memory-pressure", "memory-pressure-spill-only"}


def dask_config(name):
    """Dask settings a workload runs with: memory-pressure-spill-only switches pause and terminate off."""
    if name == "memory-pressure-spill-only":
        return {"distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": False}
    return {}

# Measured once before the warm-up (the result's "once"), by workload.
ONCE = {
    "cpu-1ms": cpu_calibration("cpu-1ms"),
    "cpu-100ms": cpu_calibration("cpu-100ms"),
}
