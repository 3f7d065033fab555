"""Time Python's compressors on the files that BenchmarkPython writes.

Usage: pybench.py DIR

DIR holds <data>.raw (the uncompressed bytes) and
<codec>_<level>_<data>.bin (those bytes compressed by jlstore). For each
.bin file this times decompressing it, and compressing the .raw at the
same level, with Python's own modules (zlib, gzip, bz2, lzma, lz4.frame),
and prints a JSON list of {codec, level, data, op, ns, bytes}: the best
time of several runs, and the uncompressed size.
"""
import bz2, gzip, json, lzma, os, sys, time, zlib
import lz4.frame

DECOMPRESS = {
    "zlib": zlib.decompress,
    "gzip": gzip.decompress,
    "bz2": bz2.decompress,
    "lzma": lambda b: lzma.decompress(b, format=lzma.FORMAT_ALONE),
    "xz": lambda b: lzma.decompress(b, format=lzma.FORMAT_XZ),
    "lz4": lz4.frame.decompress,
}

COMPRESS = {
    "zlib": lambda b, lv: zlib.compress(b, lv),
    "gzip": lambda b, lv: gzip.compress(b, lv, mtime=0),
    "bz2": lambda b, lv: bz2.compress(b, lv),
    "lzma": lambda b, lv: lzma.compress(b, format=lzma.FORMAT_ALONE, preset=lv),
    "xz": lambda b, lv: lzma.compress(b, format=lzma.FORMAT_XZ, preset=lv),
    "lz4": lambda b, lv: lz4.frame.compress(b, compression_level=lv),
}


def best_ns(fn, arg, budget=1.0, max_runs=20):
    best = None
    start = time.perf_counter()
    for _ in range(max_runs):
        t0 = time.perf_counter_ns()
        fn(arg)
        dt = time.perf_counter_ns() - t0
        best = dt if best is None else min(best, dt)
        if time.perf_counter() - start > budget:
            break
    return best


def main(d):
    out = []
    for f in sorted(os.listdir(d)):
        if not f.endswith(".bin"):
            continue
        codec, level, data = f[:-4].split("_", 2)
        if codec not in DECOMPRESS:
            continue
        level = int(level)
        blob = open(os.path.join(d, f), "rb").read()
        raw = open(os.path.join(d, data + ".raw"), "rb").read()
        assert DECOMPRESS[codec](blob) == raw, f
        out.append({"codec": codec, "level": level, "data": data, "op": "decompress",
                    "ns": best_ns(DECOMPRESS[codec], blob), "bytes": len(raw)})
        out.append({"codec": codec, "level": level, "data": data, "op": "compress",
                    "ns": best_ns(lambda b: COMPRESS[codec](b, level), raw), "bytes": len(raw)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
