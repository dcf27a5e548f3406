#!/usr/bin/env python3
"""mpi4py peer for the MPI benchmark: MPIPoolExecutor.map of x*x and of a
CPU-bound function, on the worker ranks of the job. Run (3 ranks: rank 0
plus 2 workers):

    mpirun -n 3 python3 -m mpi4py.futures benches/peers/mpi4py_baseline.py

Prints one JSON object per figure.
"""
import json
import time

from mpi4py.futures import MPIPoolExecutor

N_MAP = 100_000


def sq(x):
    return x * x


def burn(seed):
    acc = seed
    for i in range(20_000):
        acc = (acc * 6364136223846793005 + i) & 0xFFFFFFFFFFFFFFFF
    return acc


def main():
    with MPIPoolExecutor() as ex:
        list(ex.map(sq, range(100)))  # workers up
        for chunksize in (1, 1000):
            n = N_MAP if chunksize > 1 else 10_000
            t = time.perf_counter()
            r = list(ex.map(sq, range(n), chunksize=chunksize))
            dt = time.perf_counter() - t
            assert r[-1] == (n - 1) ** 2
            print(json.dumps({"bench": "mpi4py_map_sq", "value": n / dt,
                              "unit": "items/s", "chunksize": chunksize, "n": n}))
        t = time.perf_counter()
        list(ex.map(burn, range(64), chunksize=4))
        print(json.dumps({"bench": "mpi4py_map_burn20k", "value": time.perf_counter() - t,
                          "unit": "s", "items": 64}))


if __name__ == "__main__":
    main()
