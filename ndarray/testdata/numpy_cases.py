"""Cases for the ndarray interop tests, made with real numpy.

    numpy_cases.py gen OUTDIR      write pickles (protocols 2-5), .npy,
                                   .npz and manifest.json into OUTDIR
    numpy_cases.py check OUTDIR    load the files Go wrote into OUTDIR and
                                   print a JSON list of mismatches

Every case is deterministic, so "check" rebuilds the same objects to
compare with.
"""
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile

import numpy as np


def arrays():
    c = {}
    rng = np.random.default_rng(7)
    basic = ['?', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8',
             'f2', 'f4', 'f8', 'g', 'c8', 'c16', 'G']
    for t in basic:
        base = np.dtype(t)
        orders = '<>' if base.itemsize > 1 else '|'
        for bo in orders:
            # newbyteorder('<') on a little-endian machine gives a dtype that
            # says '<' rather than '=', which numpy cannot export as a buffer
            # for long doubles; a dtype from a pickle says '='.
            native = {'little': '<', 'big': '>'}[sys.byteorder]
            dt = base.newbyteorder(bo) if bo not in ('|', native) else base
            if base.kind == 'b':
                v = rng.random(6) > 0.5
            elif base.kind in 'iu':
                info = np.iinfo(base)
                v = rng.integers(info.min, info.max, 6, dtype=base, endpoint=True)
            elif base.kind == 'f':
                v = rng.standard_normal(6) * 1000
                v[0] = np.nan
                v[1] = -np.inf
            else:
                v = rng.standard_normal(6) + 1j * rng.standard_normal(6)
            a = np.asarray(v).astype(dt).reshape(2, 3)
            if base.kind in 'fc' and base.itemsize >= 16:
                # numpy leaves longdouble padding uninitialized; zero it so
                # that bytes compare.
                raw = a.view('u1').reshape(-1, 16)
                if bo == '>':
                    raw[:, :6] = 0
                else:
                    raw[:, 10:] = 0
            name = base.str[1:] + {'<': 'le', '>': 'be', '|': ''}[bo]
            c[name + '_2x3_C'] = a
            c[name + '_2x3_F'] = np.asfortranarray(a)
    c['f8_0d'] = np.array(3.25)
    c['i4_0d_be'] = np.array(-7, dtype='>i4')
    c['f8_0x3'] = np.zeros((0, 3))
    c['f4_3x0_F'] = np.asfortranarray(np.zeros((3, 0), 'f4'))
    c['i8_empty'] = np.zeros((0,), 'i8')
    c['f8_2x3x4_F'] = np.asfortranarray(np.arange(24.).reshape(2, 3, 4))
    c['u2_4x1_F'] = np.asfortranarray(np.arange(4, dtype='u2').reshape(4, 1))
    c['f8_big_1d'] = np.linspace(0, 1, 20000)
    c['S5'] = np.array([b'ab', b'hello', b'', b'x\x00y'], 'S5')
    c['S0'] = np.zeros(3, 'S0') if False else np.array([b'', b''], 'S1')
    c['U3'] = np.array(['a', 'h\xe9', '\u4e2d\u6587!', ''], '<U3')
    c['U3_be_F'] = np.asfortranarray(np.array([['ab', 'c'], ['d\U0001f600', '']], '>U3'))
    c['V4'] = np.array([b'\x01\x02\x03\x04', b'\xff\x00\xfe\x01'], 'V4')
    c['M8ns'] = np.array(['2020-01-01T00:00:00.123456789', 'NaT', '1969-12-31'], 'M8[ns]')
    c['M8D_be'] = np.array(['2020-02-29', '1900-01-01'], '>M8[D]')
    c['m8_25s'] = np.array([1, -2, 3], 'm8[25s]')
    c['M8_generic'] = np.array(['NaT', 'NaT'], 'M8')
    c['m8us_2x2_F'] = np.asfortranarray(np.arange(4, dtype='m8[us]').reshape(2, 2))
    st = np.dtype([('a', '<i4'), ('b', '>f8', (2,)), ('c', 'S3')])
    c['struct'] = np.array([(1, (2., 3.), b'x'), (-4, (5., 6.), b'yz')], st)
    al = np.dtype([('a', 'i1'), ('b', '<f8'), ('c', '<c8')], align=True)
    c['struct_aligned'] = np.array([(1, 2., 3j), (4, 5., 6j)], al)
    nested = np.dtype([('p', [('x', '<f4'), ('y', '>i2')]), ('q', 'u1', (2, 2)), ('r', 'M8[s]')])
    c['struct_nested'] = np.zeros(3, nested)
    c['struct_nested']['p']['x'] = [1.5, 2.5, 3.5]
    c['struct_nested']['q'] = 7
    titled = np.dtype([(('Title A', 'a'), '<i2'), ('b', '<u1')])
    c['struct_titles'] = np.array([(1, 2), (3, 4)], titled)
    gaps = np.dtype({'names': ['a', 'b'], 'formats': ['<i2', '<f4'], 'offsets': [2, 8], 'itemsize': 16})
    c['struct_gaps'] = np.array([(1, 2.5), (3, 4.5)], gaps)
    c['struct_2x2_F'] = np.asfortranarray(np.array([[(1, 2.)], [(3, 4.)]], [('i', '<i4'), ('f', '<f8')]).repeat(2, axis=1))
    c['struct_unicode_name'] = np.zeros(2, [('\u00e9t\u00e9', '<i4'), ('\u4e2d', '<f4')])
    c['struct_many_fields'] = np.zeros(2, [(f'field_{i}', '<i2') for i in range(3000)])
    c['struct_0d'] = np.array((1, 2.), [('a', '<i8'), ('b', '<f8')])
    c['matrix'] = np.matrix([[1., 2.], [3., 4.]])
    c['recarray'] = np.rec.array([(1, 2.)], dtype=[('a', '<i4'), ('b', '<f8')])
    with tempfile.TemporaryDirectory() as d:
        # The mapping outlives the file, which is removed at once.
        mm = np.memmap(os.path.join(d, 'mm.dat'), dtype='<f4', mode='w+', shape=(2, 3))
        mm[:] = np.arange(6).reshape(2, 3)
    c['memmap'] = mm
    return c


def objects():
    c = {}
    c['O_mixed'] = np.array([1, 'a', None, [1, 2], {'k': 1.5}, b'x', (1, 2), 2.5], dtype=object)
    o = np.empty((2, 3), dtype=object)
    for i in range(2):
        for j in range(3):
            o[i, j] = f'{i},{j}'
    c['O_2x3_C'] = o
    c['O_2x3_F'] = np.asfortranarray(o)
    c['O_0d'] = np.array(None, dtype=object)
    c['O_nested_array'] = np.array([np.arange(3), np.float32(1.5)], dtype=object)
    return c


def scalars():
    return {
        'sc_f8': np.float64(1.5), 'sc_i4': np.int32(-3), 'sc_u8': np.uint64(2**64 - 1),
        'sc_bool': np.bool_(True), 'sc_c8': np.complex64(1 + 2j), 'sc_f2': np.float16(0.1),
        'sc_g': np.longdouble(2), 'sc_str': np.str_('h\xe9'), 'sc_bytes': np.bytes_(b'ab'),
        'sc_M8': np.datetime64('2020-01-01', 'D'), 'sc_m8': np.timedelta64(5, 's'),
        'sc_void': np.zeros(1, [('a', '<i4'), ('b', '<f8')])[0],
        'sc_f4_be': np.array([2.5], '>f4')[0],
    }


def dtypes():
    return {
        'dt_f8': np.dtype('f8'), 'dt_i4be': np.dtype('>i4'), 'dt_U5': np.dtype('U5'),
        'dt_S3': np.dtype('S3'), 'dt_V7': np.dtype('V7'), 'dt_O': np.dtype('O'),
        'dt_M8ms3': np.dtype('M8[3ms]'), 'dt_m8': np.dtype('m8'), 'dt_b1': np.dtype('?'),
        'dt_struct': np.dtype([('a', '<i4'), ('b', '>f8', (2,))], align=True),
        'dt_objstruct': np.dtype([('a', '<i4'), ('o', 'O')]),
        'dt_sub': np.dtype(('<f8', (2, 3))),
        'dt_titles': np.dtype([(('T', 'a'), '<i4'), (('U', 'b'), 'f8')]),
        'dt_meta': np.dtype('f8', metadata={'unit': 'm'}),
        'dt_outoforder': np.dtype({'names': ['a', 'b'], 'formats': ['<i4', '<i4'], 'offsets': [4, 0]}),
        'dt_U0': np.dtype('U'),
    }


def extras():
    a = np.arange(4.)
    return {'shared_list': [a, a, np.dtype('f8')]}


def everything():
    c = {}
    for part in (arrays(), objects(), scalars(), dtypes(), extras()):
        c.update(part)
    return c


def cbytes(a):
    return np.ascontiguousarray(a).tobytes()


def descr_of(dt):
    return np.lib.format.dtype_to_descr(dt)


def jsonable(v):
    if isinstance(v, tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def entry(name, v):
    if isinstance(v, np.ndarray):
        e = {'kind': 'array', 'dtype': v.dtype.str, 'shape': list(v.shape),
             'fortran': bool(v.flags.f_contiguous and not v.flags.c_contiguous),
             'subclass': '' if type(v) is np.ndarray else type(v).__name__}
        if v.dtype.hasobject:
            e['repr'] = repr(v.tolist())
        else:
            e['sha256'] = hashlib.sha256(cbytes(v)).hexdigest()
            e['descr'] = jsonable(descr_of(v.dtype))
        return e
    if isinstance(v, np.dtype):
        e = {'kind': 'dtype', 'dtype': v.str, 'itemsize': v.itemsize, 'alignment': v.alignment,
             'flags': v.flags, 'aligned': v.isalignedstruct, 'names': list(v.names or [])}
        try:
            if v.subdtype:
                e['descr'] = jsonable((descr_of(v.base), v.shape))
            else:
                e['descr'] = jsonable(v.descr if v.names else descr_of(v))
        except ValueError:
            pass
        return e
    if isinstance(v, np.generic):
        return {'kind': 'scalar', 'dtype': v.dtype.str, 'hex': v.tobytes().hex()}
    return {'kind': 'other'}


def gen(out):
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for name, v in everything().items():
        manifest[name] = entry(name, v)
        for p in (2, 3, 4, 5):
            with open(os.path.join(out, f'{name}.p{p}.pkl'), 'wb') as f:
                pickle.dump(v, f, protocol=p)
        if isinstance(v, np.ndarray):
            np.save(os.path.join(out, f'{name}.npy'), v, allow_pickle=True)
    plain = {k: v for k, v in arrays().items() if type(v) is np.ndarray}
    np.savez(os.path.join(out, 'all.npz'), **plain)
    np.savez_compressed(os.path.join(out, 'all_compressed.npz'), **plain, O_mixed=objects()['O_mixed'])
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def same(x, y):
    """Whether y (loaded from Go's file) is the same as x, strictly."""
    if type(x) is not type(y):
        return f'type {type(y).__name__}, want {type(x).__name__}'
    if isinstance(x, np.dtype):
        if x != y or x.str != y.str or x.isalignedstruct != y.isalignedstruct or x.flags != y.flags \
                or x.alignment != y.alignment or x.metadata != y.metadata or x.names != y.names \
                or x.fields != y.fields:
            return (f'dtype {y!r} (flags {y.flags}, meta {y.metadata}, str {y.str}), '
                    f'want {x!r} (flags {x.flags}, meta {x.metadata}, str {x.str})')
        return None
    if isinstance(x, np.ndarray):
        r = same(x.dtype, y.dtype)
        if r:
            return r
        if x.shape != y.shape:
            return f'shape {y.shape}, want {x.shape}'
        if x.flags.f_contiguous != y.flags.f_contiguous or x.flags.c_contiguous != y.flags.c_contiguous:
            return 'contiguity differs'
        if x.dtype.hasobject:
            if repr(x.tolist()) != repr(y.tolist()):
                return f'objects {y.tolist()!r}, want {x.tolist()!r}'
        elif cbytes(x) != cbytes(y):
            return 'bytes differ'
        return None
    if isinstance(x, np.generic):
        r = same(x.dtype, y.dtype)
        if r:
            return r
        if x.dtype.kind in 'fc' and x.dtype.itemsize >= 16:
            # longdouble padding bytes are uninitialized in numpy
            return None if x == y else 'scalar differs'
        return None if x.tobytes() == y.tobytes() else 'scalar bytes differ'
    if isinstance(x, list):
        if len(x) != len(y):
            return 'list length'
        for a, b in zip(x, y):
            r = same(a, b)
            if r:
                return r
        if x[0] is x[1] and y[0] is not y[1]:
            return 'shared reference lost'
        return None
    return None if x == y else f'{y!r} != {x!r}'


def npy_round_trip(x):
    """What numpy's own np.save and np.load give back for x."""
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=True)
    buf.seek(0)
    return np.load(buf, allow_pickle=True)


def check(out):
    want = everything()
    arrs, objs = arrays(), objects()
    bad = []
    for fn in sorted(os.listdir(out)):
        path = os.path.join(out, fn)
        name, _, ext = fn.partition('.')
        try:
            if ext.endswith('pkl'):
                with open(path, 'rb') as f:
                    y = pickle.load(f)
                # Compare with what numpy's own pickle gives back at that
                # protocol (numpy 1.x turns big-endian arrays native below
                # protocol 5).
                proto = int(ext[2])
                r = same(pickle.loads(pickle.dumps(want[name], protocol=proto)), y)
            elif ext == 'npy':
                y = np.load(path, allow_pickle=True)
                r = same(npy_round_trip(want[name]), y)
            elif ext == 'npz':
                r = None
                with np.load(path, allow_pickle=True) as z:
                    for k in z.files:
                        x = npy_round_trip(arrs[k] if k in arrs else objs[k])
                        r = same(x, z[k]) and f'{k}: ' + same(x, z[k])
                        if r:
                            break
                    if not r and len(z.files) < 10:
                        r = f'only {len(z.files)} members'
            else:
                continue
        except Exception as e:
            r = f'{type(e).__name__}: {e}'
        if r:
            bad.append(f'{fn}: {r}')
    json.dump(bad, sys.stdout)


if __name__ == '__main__':
    {'gen': gen, 'check': check}[sys.argv[1]](sys.argv[2])
