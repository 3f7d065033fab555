#!/usr/bin/python3
"""The Python half of the jlstore benchmark suite (bench/cmd/jlbench).

The Go driver runs this script once per measurement, in a fresh process, as

    jlbench.py OP REPS ARG...

and reads one JSON object from stdout:

    {"ns": [...], "hwm_kb": N, "rss0_kb": N, "check": "..."}

ns holds REPS timings of the operation in nanoseconds (interpreter start-up
and imports excluded), hwm_kb is VmHWM (peak RSS) at the end, rss0_kb is
VmRSS just before the first timed operation, and check is a value that the
driver compares across implementations (a shape, a sum, a length).

It also makes the inputs that only Python can make well (see the make-*
operations), with Debian's numpy, joblib and scikit-learn.
"""

import gc
import json
import os
import pickle
import sys
import time

import numpy as np
import joblib


def status_kb(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def timed(reps, fn):
    """Run fn reps times; return the timings and the last result's check.
    fn may be a pair (before, fn): before runs untimed ahead of each call."""
    before = None
    if isinstance(fn, tuple):
        before, fn = fn
    ns = []
    check = ''
    rss0 = status_kb('VmRSS')
    for _ in range(reps):
        if before is not None:
            before()
        gc.collect()
        t0 = time.perf_counter_ns()
        v = fn()
        ns.append(time.perf_counter_ns() - t0)
        check = v if isinstance(v, str) else check
        del v
    return {'ns': ns, 'hwm_kb': status_kb('VmHWM'), 'rss0_kb': rss0, 'check': check}


def shape_check(x):
    return '%s %s' % (x.dtype.str, 'x'.join(map(str, x.shape)))


def graph_check(v):
    return 'graph %d arrays' % len(v['arrays'])


# --- timed operations -------------------------------------------------------

def op_joblib_load(path):
    def f():
        v = joblib.load(path)
        x = v['x'] if isinstance(v, dict) and 'x' in v else None
        return shape_check(x) if x is not None else describe(v)
    return f


def op_joblib_mmap(path):
    def f():
        v = joblib.load(path, mmap_mode='r')
        x = v['x'] if isinstance(v, dict) and 'x' in v else None
        return shape_check(x) if x is not None else describe(v)
    return f


def op_joblib_mmap_sum(path):
    def f():
        v = joblib.load(path, mmap_mode='r')
        return 'sum %.6e' % float(v['x'].sum())
    return f


def op_np_load(path):
    return lambda: shape_check(np.load(path))


def op_np_mmap(path):
    return lambda: shape_check(np.load(path, mmap_mode='r'))


def op_np_mmap_sum(path):
    return lambda: 'sum %.6e' % float(np.load(path, mmap_mode='r').sum())


def op_pickle_load(path):
    """C pickle.load from the file, as a user would call it."""
    def f():
        with open(path, 'rb') as fh:
            v = pickle.load(fh)
        return describe(v)
    return f


def op_pickle_loads(path):
    """C pickle.loads from memory: the file is read before timing."""
    with open(path, 'rb') as fh:
        data = fh.read()
    return lambda: describe(pickle.loads(data))


DUMP_ARGS = {
    # Each codec at joblib's default level for it, as joblib.dump(v,
    # 'f.pkl.xz') writes: zlib and gzip 3, bz2 9, lzma and xz 6, lz4 0 (the
    # fast compressor). A level of 0 would mean "do not compress".
    'none': 0, 'zlib': ('zlib', None), 'gzip': ('gzip', None), 'bz2': ('bz2', None),
    'lzma': ('lzma', None), 'xz': ('xz', None), 'lz4': ('lz4', None),
}


def op_joblib_dump(src, dst, codec):
    """joblib.dump to a new file (one that does not exist yet)."""
    x = np.load(src)
    obj = {'x': x}

    def f():
        joblib.dump(obj, dst, compress=DUMP_ARGS[codec])
        return shape_check(x)

    def before():
        if os.path.exists(dst):
            os.remove(dst)
    return before, f


def op_decompress(path, codec, limit='0'):
    """The C library's decompression speed on the bytes of a joblib file:
    the first limit decoded bytes (all when 0), as the Go decoder rows."""
    import bz2, lzma, zlib
    import lz4.frame
    limit = int(limit) or -1
    makers = {
        'zlib': lambda: zlib.decompressobj(15),
        'gzip': lambda: zlib.decompressobj(31),
        'bz2': bz2.BZ2Decompressor,
        'lzma': lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE),
        'xz': lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ),
        'lz4': lz4.frame.LZ4FrameDecompressor,
    }
    with open(path, 'rb') as fh:
        blob = fh.read()
    make = makers[codec]

    def f():
        d = make()
        if codec in ('zlib', 'gzip'):
            out = d.decompress(blob, max(limit, 0))
        else:
            out = d.decompress(blob, max_length=limit)
        return 'bytes %d' % len(out)
    return f


def describe(v):
    if isinstance(v, dict) and 'x' in v and hasattr(v['x'], 'shape'):
        return shape_check(v['x'])
    if isinstance(v, dict) and 'arrays' in v:
        return graph_check(v)
    if isinstance(v, list):
        return 'list %d' % len(v)
    return type(v).__name__


OPS = {
    'joblib_load': op_joblib_load,
    'joblib_mmap': op_joblib_mmap,
    'joblib_mmap_sum': op_joblib_mmap_sum,
    'np_load': op_np_load,
    'np_mmap': op_np_mmap,
    'np_mmap_sum': op_np_mmap_sum,
    'pickle_load': op_pickle_load,
    'pickle_loads': op_pickle_loads,
    'joblib_dump': op_joblib_dump,
    'decompress': op_decompress,
}


# --- sharing: hold a mapping until told to go ---------------------------------

def share(path):
    """Map path with joblib.load(mmap_mode='r'), sum it, report, and keep
    the mapping until stdin closes, so that the driver can read smaps."""
    v = joblib.load(path, mmap_mode='r')
    s = float(v['x'].sum())
    print(json.dumps({'pid': os.getpid(), 'check': 'sum %.6e' % s,
                      'hwm_kb': status_kb('VmHWM'), 'rss_kb': status_kb('VmRSS')}), flush=True)
    sys.stdin.read()


# --- inputs ------------------------------------------------------------------

def make_joblib(src, dst, codec):
    """joblib.dump({'x': array in src .npy}, dst, compress=codec)."""
    x = np.load(src)
    tmp = dst + '.tmp'
    joblib.dump({'x': x}, tmp, compress=DUMP_ARGS[codec])
    os.replace(tmp, dst)


def make_pickle(src, dst):
    """pickle.dump({'x': array}, protocol=4): a plain pickle."""
    x = np.load(src)
    tmp = dst + '.tmp'
    with open(tmp, 'wb') as fh:
        pickle.dump({'x': x}, fh, protocol=4)
    os.replace(tmp, dst)


def graph_value():
    """10,000 arrays of 100 float64, plus lists and strings."""
    rng = np.random.default_rng(7)
    n = 10_000
    return {
        'arrays': [rng.standard_normal(100) for _ in range(n)],
        'names': ['feature_%05d' % i for i in range(n)],
        'meta': {'row_%05d' % i: [i, i * 0.5, 'tag%d' % (i % 17)] for i in range(n)},
        'params': {'alpha': 0.1, 'n_iter': 100, 'solver': 'lbfgs'},
    }


def make_graph(joblib_dst, pickle_dst):
    v = graph_value()
    joblib.dump(v, joblib_dst + '.tmp')
    os.replace(joblib_dst + '.tmp', joblib_dst)
    with open(pickle_dst + '.tmp', 'wb') as fh:
        pickle.dump(v, fh, protocol=4)
    os.replace(pickle_dst + '.tmp', pickle_dst)


def make_sklearn(dst):
    """A fitted scikit-learn pipeline: a scaler and a random forest."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = make_classification(n_samples=20_000, n_features=40, n_informative=20,
                               n_classes=3, random_state=7)
    model = make_pipeline(StandardScaler(),
                          RandomForestClassifier(n_estimators=100, random_state=7, n_jobs=1))
    model.fit(X, y)
    joblib.dump(model, dst + '.tmp')
    os.replace(dst + '.tmp', dst)


def versions():
    import platform
    out = {'python': platform.python_version(), 'numpy': np.__version__,
           'joblib': joblib.__version__}
    try:
        import sklearn
        out['sklearn'] = sklearn.__version__
    except ImportError:
        pass
    try:
        import lz4
        out['lz4'] = lz4.__version__
    except ImportError:
        pass
    return out


def main(argv):
    op = argv[1]
    if op == 'versions':
        print(json.dumps(versions()))
    elif op == 'make-joblib':
        make_joblib(*argv[2:5])
    elif op == 'make-pickle':
        make_pickle(*argv[2:4])
    elif op == 'make-graph':
        make_graph(*argv[2:4])
    elif op == 'make-sklearn':
        make_sklearn(argv[2])
    elif op == 'share':
        share(argv[2])
    elif op in OPS:
        reps = int(argv[2])
        print(json.dumps(timed(reps, OPS[op](*argv[3:]))))
    else:
        sys.exit('jlbench.py: unknown operation %r' % op)


if __name__ == '__main__':
    main(sys.argv)
