#!/usr/bin/python3
"""The pickle speed benchmark of issue #2, on the CPython side.

    pickle_cpython.py make PATH      write the input if PATH is missing
    pickle_cpython.py time PATH [N]  time pickle.load (the C unpickler) N times
                                     (default 5) and print a JSON report

The input is a list of 1,000,000 small dicts of ints, floats and short
strings, pickled at protocol 4 (what Python 3.8-3.13 writes by default).
The Go benchmarks (pickle.BenchmarkDecodeMillion and bench/peers) decode
the same file; they run "make" themselves when it is missing.
"""

import gc
import json
import os
import pickle
import statistics
import sys
import time

N = 1_000_000
KINDS = ('red', 'green', 'blue')


def value():
    return [{'id': i, 'value': i * 0.25, 'name': 'n%d' % i, 'kind': KINDS[i % 3]}
            for i in range(N)]


def make(path):
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + '.tmp%d' % os.getpid()
    with open(tmp, 'wb') as f:
        pickle.dump(value(), f, protocol=4)
    os.replace(tmp, path)


def timeit(path, runs):
    with open(path, 'rb') as f:
        data = f.read()
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        v = pickle.loads(data)  # the C unpickler, from memory as Go does
        times.append(time.perf_counter() - start)
        del v
    median = statistics.median(times)
    return {'python': sys.version.split()[0], 'bytes': len(data), 'runs': runs,
            'seconds': times, 'median_seconds': median, 'mb_per_s': len(data) / median / 1e6}


if __name__ == '__main__':
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == 'make':
        make(path)
    elif cmd == 'time':
        print(json.dumps(timeit(path, int(sys.argv[3]) if len(sys.argv) > 3 else 5)))
    else:
        sys.exit('usage: pickle_cpython.py make|time PATH [N]')
