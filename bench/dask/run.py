"""Runs one benchmark workload on a Dask LocalCluster and prints the result as JSON (last line of stdout).

    python bench/dask/run.py --workload inc-1000 --size 1000 --runs 5 --warmup-size 100

The cluster is LocalCluster(n_workers=2, threads_per_worker=1, processes=True):
processes, as the CPU workloads are pure Python and hold the GIL.
A workload's ONCE measurement (the CPU workloads' calibration) comes first.
Warm-up is one run at --warmup-size (a tenth of the size: Dask's full-size
runs take minutes). Then --runs timed runs, only 3 when one run is slower
than --slow-run-ms. Progress goes to stderr. Exit code 0 even when the
workload failed: the JSON then carries "error".
"""

import argparse
import contextlib
import gc
import json
import logging
import platform
import statistics
import sys
import time
import traceback

import dask
import distributed
from distributed import Client, LocalCluster

from workloads import CLUSTER_PER_RUN, ONCE, WORKLOADS, cluster_options, dask_config, tasks_of

# Warm-up runs repeat until they have taken this long (at least one run), as on the skein side.
WARMUP_S = 1.0
SHAPE = "LocalCluster(n_workers=2, threads_per_worker=1, processes=True)"


def shape_of(options, config):
    """SHAPE with a workload's own LocalCluster arguments and Dask settings (memory-pressure: its memory limit)."""
    extra = "".join(f", {k}={v!r}" for k, v in options.items() if k != "local_directory")
    settings = "".join(f", {k}={v!r}" for k, v in config.items())
    return f"{SHAPE[:-1]}{extra}){settings}"


def summarise(runs):
    stats = {}
    for metric in runs[0]:
        values = [r[metric] for r in runs]
        stats[metric] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return stats


def brief(metrics):
    return " ".join(f"{k}={v:.0f}" if v >= 100 else f"{k}={v:.2f}" for k, v in metrics.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup-size", type=int, default=0, help="0: no warm-up")
    parser.add_argument("--slow-run-ms", type=float, default=60_000)
    args = parser.parse_args()

    name, size = args.workload, args.size
    workload = WORKLOADS[name]
    options = cluster_options(name)
    result = {
        "workload": name,
        "size": size,
        "tasks": tasks_of(name, size),
        "shape": shape_of(options, dask_config(name)),
        "warmup": None,
        "runs": [],
        "once": None,
        "stats": {},
        "versions": {"dask": dask.__version__, "distributed": distributed.__version__, "python": platform.python_version()},
    }

    def log(line):
        print(f"  dask {name} {line}", file=sys.stderr, flush=True)

    notes = {}

    def measured(metrics):
        """The run's metrics, its notes (why it did not complete, say) counted aside as on the skein side."""
        for text in metrics.pop("_notes", []):
            log(text)
            notes[text] = notes.get(text, 0) + 1
        return metrics

    shape = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, **options)  # = shape_of(options)

    @contextlib.contextmanager
    def new_client():
        with dask.config.set(dask_config(name)), LocalCluster(**shape) as cluster, Client(cluster) as client:
            yield client

    per_run = name in CLUSTER_PER_RUN
    try:
        # A workload in CLUSTER_PER_RUN gets a cluster of its own for each run; the others share one.
        with contextlib.nullcontext() if per_run else new_client() as shared:
            session = new_client if per_run else lambda: contextlib.nullcontext(shared)
            run = 0
            if name in ONCE:
                result["once"] = ONCE[name](size)
                log(f"once: {brief(result['once'])}")
            if args.warmup_size > 0:
                # As the skein side: repeated until the warm-up has taken WARMUP_S (at least one run).
                warmup_start = time.perf_counter()
                while True:
                    with session() as client:
                        result["warmup"] = measured(workload(client, args.warmup_size, run))
                    run += 1
                    log(f"warm-up (size {args.warmup_size}): {brief(result['warmup'])}")
                    if time.perf_counter() - warmup_start >= WARMUP_S:
                        break
            wanted = args.runs
            while len(result["runs"]) < wanted:
                with session() as client:
                    gc.collect()  # the previous runs' garbage, outside the timed region (as the skein side)
                    started = time.perf_counter()
                    metrics = measured(workload(client, size, run))
                run += 1
                result["runs"].append(metrics)
                log(f"run {len(result['runs'])}: {brief(metrics)}")
                if (time.perf_counter() - started) * 1000 > args.slow_run_ms:
                    wanted = min(wanted, 3)
        result["stats"] = summarise(result["runs"])
    except Exception as err:  # reported in the JSON: the compare goes on with the other workloads
        traceback.print_exc(file=sys.stderr)
        result["error"] = f"{type(err).__name__}: {err}"
    if notes:
        result["notes"] = [f"{text} ({times} run{'' if times == 1 else 's'})" for text, times in notes.items()]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    logging.getLogger("distributed").setLevel(logging.ERROR)
    main()
