#!/usr/bin/python3
"""Regenerate jlstore's test fixtures with real Python, numpy, joblib, sklearn and scipy.

Usage (what `make testdata` runs):

    /usr/bin/python3 testdata/gen.py testdata

It deletes and rewrites OUT/pickle, OUT/numpy and OUT/joblib, and writes
OUT/versions.json. Everything uses fixed seeds, and the script re-executes
itself with PYTHONHASHSEED=0, so running it twice gives identical bytes.
Each section checks its own output (it loads every file back with Python and
checks every recorded offset) and stops with an error when a check fails.
See README.md in this folder for the layout and the manifest formats.
"""

import os
import sys

if os.environ.get('PYTHONHASHSEED') != '0':
    # Set and frozenset order of str depends on the hash seed: pin it.
    os.environ['PYTHONHASHSEED'] = '0'
    os.execv(sys.executable, [sys.executable] + sys.argv)

import collections
import copyreg
import hashlib
import io
import json
import math
import pickle
import pickletools
import platform
import shutil
import struct
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ next to the fixtures
import fixturemod as fm  # noqa: E402  (needs HERE on sys.path)


# ---------------------------------------------------------------------------
# Helpers


def write_bytes(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def _is_flat(v):
    """Reports whether a JSON value holds no dict (so it fits on one line)."""
    if isinstance(v, dict):
        return False
    if isinstance(v, list):
        return all(_is_flat(x) for x in v)
    return True


def json_text(v, indent=0):
    """Renders v as JSON: dicts one key a line, but dict-free lists and list
    items that are dicts of dict-free values on one line each."""
    pad = ' ' * indent
    if isinstance(v, dict):
        if not v:
            return '{}'
        items = ['%s %s: %s' % (pad, json.dumps(k, ensure_ascii=False),
                                json_text(x, indent + 1)) for k, x in v.items()]
        return '{\n' + ',\n'.join(items) + '\n' + pad + '}'
    if isinstance(v, list) and not _is_flat(v):
        items = ['%s %s' % (pad, json.dumps(x, ensure_ascii=False, allow_nan=False)
                            if isinstance(x, dict) and all(_is_flat(y) for y in x.values())
                            else json_text(x, indent + 1)) for x in v]
        return '[\n' + ',\n'.join(items) + '\n' + pad + ']'
    return json.dumps(v, ensure_ascii=False, allow_nan=False)


def write_json(path, v):
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(json_text(v) + '\n')


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def type_name(obj):
    """'dict', 'numpy.ndarray', 'sklearn.linear_model._base.LinearRegression'…"""
    t = type(obj)
    if t.__module__ == 'builtins':
        return t.__qualname__
    return '%s.%s' % (t.__module__, t.__qualname__)


def json_descr(d):
    """np.lib.format.dtype_to_descr(d) with tuples turned into lists."""
    def conv(x):
        if isinstance(x, (tuple, list)):
            return [conv(y) for y in x]
        return x
    return conv(np.lib.format.dtype_to_descr(d))


def json_float(x):
    """A float for JSON: NaN and the infinities become the strings "nan", "inf", "-inf"."""
    x = float(x)
    if math.isnan(x):
        return 'nan'
    if math.isinf(x):
        return 'inf' if x > 0 else '-inf'
    return x


def exact_float(x):
    """float(x) for a float scalar of any width, refusing to round."""
    f = float(x)
    if not (math.isnan(f) or type(x)(f) == x):
        raise ValueError('value %r does not fit a float64 exactly' % (x,))
    return json_float(f)


def array_values(a):
    """The elements of a as a flat JSON list in C order, or None for dtypes left out."""
    a = np.asarray(a)
    d = a.dtype
    if d.names is not None or d.subdtype is not None:
        return None
    flat = a.ravel(order='C')
    k = d.kind
    if k == 'b':
        return [bool(x) for x in flat]
    if k in 'iu':
        return [int(x) for x in flat]
    if k == 'f':
        return [exact_float(x) for x in flat]
    if k == 'c':
        return [[exact_float(x.real), exact_float(x.imag)] for x in flat]
    if k in 'Mm':
        return [int(x) for x in flat.astype(d.newbyteorder('=')).view('i8')]
    if k == 'U':
        return [str(x) for x in flat]
    return None


def array_order(a):
    return 'F' if a.flags.f_contiguous and not a.flags.c_contiguous else 'C'


def array_info(a):
    """The manifest record of one array (or numpy scalar)."""
    arr = np.asarray(a)
    return {
        'dtype': arr.dtype.str,
        'descr': json_descr(arr.dtype),
        'shape': list(arr.shape),
        'order': array_order(arr),
        'nbytes': int(arr.nbytes),
        'sha256': None if arr.dtype.hasobject else sha256(np.ascontiguousarray(arr).tobytes()),
    }


def same_array(a, b):
    """Equal shape and elements; b may have had its byte order swapped."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.hasobject or b.dtype.hasobject:
        return a.dtype == b.dtype and a.tolist() == b.tolist()
    if b.dtype != a.dtype:
        if b.dtype.newbyteorder('=') != a.dtype.newbyteorder('='):
            return False
        b = b.astype(a.dtype)
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


# ---------------------------------------------------------------------------
# 1. Plain pickles


def pickle_values():
    """(name, value, protocols) for every pickle fixture Python makes itself."""
    shared = [1]
    selfref = []
    selfref.append(selfref)
    rec_list = []
    rec_tuple = (rec_list,)
    rec_list.append(rec_tuple)
    memo_many = ['s%03d' % i for i in range(300)]
    memo_many += [memo_many[0], memo_many[299]]  # BINGET and LONG_BINGET
    all_p = range(6)
    return [
        ('none', None, all_p),
        ('true', True, all_p),
        ('false', False, all_p),
        ('int_small', 42, all_p),
        ('int_neg', -7, all_p),
        ('int_1byte', 255, all_p),
        ('int_2byte', 65535, all_p),
        ('int_32', -2**31, all_p),
        ('int_64', 2**62, all_p),
        ('int_big', 2**100, all_p),
        ('int_bigneg', -(2**70) - 5, all_p),
        ('int_huge', 2**2100 + 1, all_p),  # over 255 bytes: LONG4
        ('float', 1.5, all_p),
        ('float_neg_inf', float('-inf'), all_p),
        ('complex', 1 + 2j, all_p),
        ('str_ascii', 'hello', all_p),
        ('str_unicode', "C'est l'été ! ☃ 𝄞", all_p),
        ('str_empty', '', all_p),
        ('str_long', 'x' * 300, all_p),
        ('bytes', b'\x00\x01\xff', all_p),
        ('bytes_long', bytes(range(256)) * 2, all_p),
        ('bytearray', bytearray(b'abc'), all_p),
        ('tuple0', (), all_p),
        ('tuple1', (1,), all_p),
        ('tuple2', (1, 'a'), all_p),
        ('tuple3', (1, 2, 3), all_p),
        ('tuple5', (1, 2, 3, 4, 5), all_p),
        ('list', [1, 'two', 3.0, None], all_p),
        ('list_empty', [], all_p),
        ('dict', {'a': 1, 'b': [2, 3]}, all_p),
        ('dict_keys', {1: 'int', (1, 2): 'tuple', frozenset({3}): 'fs', 'k': None,
                       b'b': 2, 2.5: 'f'}, all_p),
        ('set', {1, 2, 3}, all_p),
        ('frozenset', frozenset({'a'}), all_p),
        ('nested', {'l': [1, {'t': (2, [3, {'d': 4}])}], 'x': (None, [True])}, all_p),
        ('shared', [shared, shared, {'x': shared}], all_p),
        ('selfref', selfref, all_p),
        ('recursive_tuple', rec_tuple, all_p),  # POP (protocol 0, 2+) and POP_MARK (1)
        ('memo_many', memo_many, all_p),  # over 256 memo slots: LONG_BINPUT/LONG_BINGET
        ('ordereddict', collections.OrderedDict([('z', 1), ('a', 2)]), all_p),
        ('object', fm.Point(1, 2), all_p),
        # Protocols 0 and 1 cannot pickle a __slots__ class without __getstate__.
        ('object_slots', fm.Slotted(1, 2), range(2, 6)),
        ('object_reduce', fm.Reduced(1, 2), all_p),
        # Below protocol 4 Python wraps the call in functools.partial; keep 4 and 5.
        ('object_newobj_ex', fm.NewObjEx(1, y=2), range(4, 6)),
        ('big_list', list(range(1000)), all_p),
    ]


class RefPickler(pickle.Pickler):
    """Turns every fixturemod.Ref into a persistent id: PERSID/BINPERSID."""

    def persistent_id(self, obj):
        if isinstance(obj, fm.Ref):
            return obj.key
        return None


class RefUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return fm.Ref(pid)


# copyreg extension codes used by the ext_p* fixtures: one for each of
# EXT1 (< 0x100), EXT2 (< 0x10000) and EXT4.
EXTENSIONS = [(0xF0, 'fixturemod', 'Point'),
              (0x1234, 'fixturemod', 'make'),
              (0x12345678, 'fixturemod', 'Ref')]


def handmade_pickles():
    """Pickles Python 3 never writes, assembled byte by byte.

    Returns (name, protocol, data, encoding, note); encoding is the
    pickle.loads encoding= that the repr in the manifest was made with.
    """
    u = 'héllo ☃'.encode('utf-8')
    b8 = b'\x00\x01\xff'
    return [
        # Python 2: pickle.dumps(['hello', "it's", 'caf\xe9'], 0). STRING keeps
        # Python's repr quoting: single quotes, or double ones around a '.
        ('py2_string', 0,
         b"(lp0\nS'hello'\np1\naS\"it's\"\np2\naS'caf\\xe9'\np3\na.",
         'latin1', "Python 2 protocol 0 list of str: STRING in both quote styles with a \\x escape"),
        # Python 2, protocol 1: SHORT_BINSTRING (len < 256) then BINSTRING (4-byte length 260).
        ('py2_binstring', 1,
         b']q\x00(U\x05helloq\x01T\x04\x01\x00\x00' + b'a' * 260 + b'q\x02e.',
         'latin1', 'Python 2 protocol 1 list of str: SHORT_BINSTRING and BINSTRING'),
        # Python 2: pickle.dumps(u'caf\xe9 \u2603', 0). raw-unicode-escape keeps
        # the latin-1 byte \xe9 raw and escapes the snowman as \u2603.
        ('py2_unicode', 0, b'Vcaf\xe9 \\u2603\np0\n.', None,
         'Python 2 protocol 0 unicode: UNICODE in raw-unicode-escape'),
        # Python 2: pickle.dumps([12345678901234567890L, True, False, 1.5], 0):
        # LONG with its L suffix, bools as INT I01/I00, FLOAT as text.
        ('py2_long_bool', 0, b'(lp0\nL12345678901234567890L\naI01\naI00\naF1.5\na.', None,
         'Python 2 protocol 0: LONG with L suffix, INT I01/I00 bools, FLOAT'),
        # Python 2, protocol 0, new-style Point(1, 2): copy_reg._reconstructor with
        # __builtin__.object, then a dict state with str keys and BUILD.
        ('py2_reconstructor', 0,
         b"ccopy_reg\n_reconstructor\np0\n(cfixturemod\nPoint\np1\nc__builtin__\nobject\n"
         b"p2\nNtp3\nRp4\n(dp5\nS'y'\np6\nI2\nsS'x'\np7\nI1\nsb.",
         'latin1', 'Python 2 protocol 0 object: copy_reg._reconstructor, __builtin__.object'),
        # Python 2, protocol 2, Point(1, 2): NEWOBJ with SHORT_BINSTRING state keys,
        # as in old scikit-learn files.
        ('py2_newobj', 2,
         b'\x80\x02cfixturemod\nPoint\nq\x00)\x81q\x01}q\x02(U\x01yq\x03K\x02U\x01xq\x04K\x01ub.',
         'latin1', 'Python 2 protocol 2 object: NEWOBJ, str keys as SHORT_BINSTRING'),
        # Python 2, protocol 2: set([1, 2]) is __builtin__.set applied to a list.
        ('py2_builtin_set', 2, b'\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.',
         None, 'Python 2 protocol 2 set: __builtin__.set REDUCE'),
        # Python 2 old-style instance, protocol 0: INST takes the class as
        # "module\nname\n" and the constructor args since MARK (none here).
        ('inst', 0, b"(ifixturemod\nPoint\np0\n(dp1\nS'x'\np2\nI1\nsS'y'\np3\nI2\nsb.",
         'latin1', 'INST (old-style instance), then a dict state and BUILD'),
        # The same at protocol 1: OBJ takes the class and args from the stack since MARK.
        ('obj', 1, b'(cfixturemod\nPoint\nq\x00o}q\x01(U\x01xq\x02K\x01U\x01yq\x03K\x02ub.',
         'latin1', 'OBJ (old-style instance), then a dict state and BUILD'),
        # EMPTY_LIST, DUP, append 1 to the copy on top, TUPLE2: ([1], [1]) with
        # the two items the same list.
        ('dup', 2, b'\x80\x02]q\x002K\x01a\x86q\x01.', None,
         'DUP: a 2-tuple holding the same list twice'),
        # BINUNICODE8 and BINBYTES8 (8-byte lengths) that Python writes only
        # for objects over 4 GiB: ('héllo ☃', b'\x00\x01\xff').
        ('big8', 4,
         b'\x80\x04\x8d' + struct.pack('<Q', len(u)) + u +
         b'\x8e' + struct.pack('<Q', len(b8)) + b8 + b'\x86.',
         None, 'BINUNICODE8 and BINBYTES8 with small lengths, no FRAME'),
    ]


def opcode_names(data):
    """The sorted names of the opcodes in one pickle, as pickletools.genops reads them.

    genops itself rejects a STRING whose unescaped text is not ASCII (Python 2
    str 'caf\\xe9'), which pickle.loads accepts; here STRING's line is skipped.
    """
    f = io.BytesIO(data)
    names = set()
    while True:
        code = f.read(1)
        if not code:
            raise ValueError('pickle has no STOP')
        op = pickletools.code2op[code.decode('latin-1')]
        names.add(op.name)
        if op.name == 'STRING':
            f.readline()
        elif op.arg is not None:
            op.arg.reader(f)
        if op.name == 'STOP':
            if f.read(1):
                raise ValueError('data after STOP')
            return sorted(names)


def gen_pickle(out):
    d = os.path.join(out, 'pickle')
    fresh_dir(d)
    manifest = []
    data_of = {}

    def add(name, protocol, data, rep, source='python', encoding=None, buffers=(), note=''):
        fname = '%s_p%d.pkl' % (name, protocol)
        write_bytes(os.path.join(d, fname), data)
        data_of[fname] = data
        manifest.append({'name': name, 'file': fname, 'protocol': protocol, 'source': source,
                         'repr': rep, 'encoding': encoding, 'buffers': list(buffers), 'note': note})

    for name, value, protocols in pickle_values():
        for p in protocols:
            data = pickle.dumps(value, protocol=p)
            back = pickle.loads(data)
            if repr(back) != repr(value):
                raise AssertionError('%s_p%d: loads gave %r' % (name, p, back))
            add(name, p, data, repr(value))

    # PERSID (protocol 0) and BINPERSID: persistent ids are the Ref keys.
    value = ['before', fm.Ref('blob-1'), {'k': fm.Ref('blob-2')}]
    for p in range(6):
        f = io.BytesIO()
        RefPickler(f, protocol=p).dump(value)
        back = RefUnpickler(io.BytesIO(f.getvalue())).load()
        assert back == value, back
        add('persid', p, f.getvalue(), repr(value),
            note="persistent ids 'blob-1' and 'blob-2'; repr shows them loaded as fixturemod.Ref(pid)")

    # EXT1/EXT2/EXT4: globals registered with copyreg.add_extension.
    value = [fm.Point, fm.make, fm.Ref]
    for code, mod, name in EXTENSIONS:
        copyreg.add_extension(mod, name, code)
    try:
        for p in range(2, 6):
            data = pickle.dumps(value, protocol=p)
            assert pickle.loads(data) == value
            add('ext', p, data, '[fixturemod.Point, fixturemod.make, fixturemod.Ref]',
                note='extension codes: 0xF0 = fixturemod.Point (EXT1), 0x1234 = fixturemod.make '
                     '(EXT2), 0x12345678 = fixturemod.Ref (EXT4)')
    finally:
        for code, mod, name in EXTENSIONS:
            copyreg.remove_extension(mod, name, code)

    # Out-of-band buffers (protocol 5): NEXT_BUFFER, and READONLY_BUFFER for bytes.
    bufs = []
    value = [pickle.PickleBuffer(bytearray(b'abc')), pickle.PickleBuffer(b'\x00\x01\x02\x03')]
    data = pickle.dumps(value, protocol=5, buffer_callback=bufs.append)
    raws = [bytes(b.raw()) for b in bufs]
    names = []
    for i, raw in enumerate(raws):
        names.append('oob_p5.buf%d' % i)
        write_bytes(os.path.join(d, names[-1]), raw)
    back = pickle.loads(data, buffers=[bytearray(raws[0]), raws[1]])
    add('oob', 5, data, repr(back), buffers=names,
        note='out-of-band buffers in oob_p5.buf0 (writable) and oob_p5.buf1 (read-only); '
             'repr is pickle.loads(data, buffers=[bytearray(buf0), bytes(buf1)])')

    for name, p, data, enc, note in handmade_pickles():
        back = pickle.loads(data, encoding=enc or 'ASCII')
        add(name, p, data, repr(back), source='handmade', encoding=enc, note=note)

    write_json(os.path.join(d, 'manifest.json'), {'files': manifest})

    # Which opcodes each file uses, and proof that together they use them all.
    files = {}
    for fname in sorted(data_of):
        files[fname] = opcode_names(data_of[fname])
    covered = set().union(*files.values())
    all_ops = [{'name': op.name, 'code': ord(op.code), 'proto': op.proto} for op in pickletools.opcodes]
    missing = [o['name'] for o in all_ops if o['name'] not in covered]
    if missing:
        raise AssertionError('pickle fixtures miss opcodes: %s' % missing)
    write_json(os.path.join(d, 'opcodes.json'), {'opcodes': all_ops, 'files': files})
    print('pickle: %d files, %d/%d pickletools opcodes covered: %s' % (
        len(data_of), len(covered), len(all_ops), ' '.join(o['name'] for o in all_ops)))


# ---------------------------------------------------------------------------
# 2. numpy pickles, .npy and .npz


def clean_longdouble(a):
    """Zeroes the unused bytes of x86 80-bit long doubles stored in 16 bytes.

    numpy leaves those 6 bytes as whatever the FPU store left there, which
    would make the fixtures differ from run to run.
    """
    if np.finfo(np.longdouble).nmant == 63 and np.dtype(np.longdouble).itemsize == 16:
        a.view('u1').reshape(-1, 16)[:, 10:] = 0
    return a


def numpy_cases():
    """name -> value; every array has at most 24 elements."""
    aligned = np.dtype([('a', 'u1'), ('b', '<i8'), ('c', '<u2')], align=True)
    st_aligned = np.zeros(3, aligned)  # zeros: the padding bytes are defined
    st_aligned['a'] = [1, 2, 3]
    st_aligned['b'] = [-1, 2**40, 7]
    st_aligned['c'] = [65535, 0, 9]
    nested = np.dtype([('id', '<u2'), ('pos', [('x', '<f4'), ('y', '<f4')]), ('tag', 'S3')])
    st_nested = np.zeros(2, nested)
    st_nested['id'] = [7, 8]
    st_nested['pos']['x'] = [1.5, -2.5]
    st_nested['pos']['y'] = [0.25, 4.0]
    st_nested['tag'] = [b'ab', b'xyz']
    titles = np.dtype({'names': ['a', 'b'], 'formats': ['<i2', '<f4'],
                       'titles': ['Alpha', 'Beta']})
    st_titles = np.zeros(2, titles)
    st_titles['a'] = [1, -2]
    st_titles['b'] = [0.5, 8.0]
    st_utf8 = np.zeros(2, np.dtype([('温度', '<f4'), ('id', '<i2')]))
    st_utf8['温度'] = [21.5, -3.0]
    st_utf8['id'] = [1, 2]
    return {
        'b1': np.array([True, False, True, True, False]),
        'i1': np.array([-128, -1, 0, 1, 127], '<i1'),
        'i2': np.array([-32768, -2, 0, 3, 32767], '<i2'),
        'i4': np.array([-2**31, -3, 0, 4, 2**31 - 1], '<i4'),
        'i8': np.array([-2**63, -4, 0, 5, 2**63 - 1], '<i8'),
        'u1': np.array([0, 1, 127, 128, 255], '<u1'),
        'u2': np.array([0, 1, 32768, 65535], '<u2'),
        'u4': np.array([0, 1, 2**31, 2**32 - 1], '<u4'),
        'u8': np.array([0, 1, 2**63, 2**64 - 1], '<u8'),
        'f2': np.array([0.0, 1.5, -2.25, 65504.0, 2.0**-14], '<f2'),
        'f4': np.array([0.0, 1.5, -3.25, 3.4028234663852886e38, 2.0**-149], '<f4'),
        'f8': np.array([0.0, -0.0, 1.5, -1e300, 5e-324, np.inf, -np.inf, np.nan], '<f8'),
        'f16': clean_longdouble(np.array([0.5, -1.25, 3.0], np.longdouble)),
        'c8': np.array([1 + 2j, -0.5 + 0j, -1.5j], '<c8'),
        'c16': np.array([1 + 2j, -0.5 + 0j, 1e300 - 1.5j], '<c16'),
        'c32': clean_longdouble(np.array([1 + 2j, -0.5 + 0.25j], np.clongdouble)),
        'M8_ns': np.array(['2020-01-01T00:00:00.000000001', 'NaT', '1970-01-01'], 'M8[ns]'),
        'M8_D': np.array(['2000-02-29', '1969-12-31', 'NaT'], 'M8[D]'),
        'm8_s': np.array([0, -1, 86400, 'NaT'], 'm8[s]'),
        'm8_25us': np.array([1, 2, -3], 'm8[25us]'),
        'S5': np.array([b'ab', b'hello', b'', b'\x00\xff'], 'S5'),
        'U7': np.array(['', 'abc', 'été', '☃𝄞'], '<U7'),
        'V4': np.frombuffer(b'\x01\x02\x03\x04\xff\x00\xff\x00', 'V4').copy(),
        'O': np.array([1, 'a', None], object),
        'struct': np.array([(1, (0.5, 1.5)), (-2, (2.5, -3.5)), (3, (0.0, 1e10))],
                           [('a', '<i4'), ('b', '<f8', (2,))]),
        'struct_aligned': st_aligned,
        'struct_nested': st_nested,
        'struct_titles': st_titles,
        'struct_utf8': st_utf8,
        'be_f8': np.array([1.5, -2.0, 3.25], '>f8'),
        'be_i4': np.array([1, -2, 65536], '>i4'),
        'i4_2x3': np.arange(6, dtype='<i4').reshape(2, 3),
        'f8_F': np.asfortranarray(np.arange(12, dtype='<f8').reshape(3, 4) * 0.5),
        'zero_d': np.array(3.5),
        'empty': np.zeros((0, 3)),
        'matrix': np.matrix([[1.0, 2.0], [3.0, 4.0]]),
        'scalar_f8': np.float64(2.5),
        'scalar_i4': np.int32(-7),
        'dtype_f4': np.dtype('<f4'),
    }


def numpy_record(value, member=None):
    """The manifest record of one numpy value (array, scalar or dtype)."""
    if isinstance(value, np.dtype):
        return {'member': member, 'kind': 'dtype', 'type': type_name(value),
                'dtype': value.str, 'descr': json_descr(value), 'shape': None, 'order': None,
                'nbytes': None, 'sha256': None, 'values': None}
    kind = 'scalar' if isinstance(value, np.generic) else type(value).__name__
    rec = {'member': member, 'kind': kind, 'type': type_name(value)}
    rec.update(array_info(value))
    rec['values'] = array_values(value)
    return rec


def same_numpy(a, b):
    if isinstance(a, np.dtype):
        return a == b
    # numpy 1.24 unpickles a non-native array (protocol <= 4) in native byte
    # order; same_array allows for that.
    return type(a) is type(b) and same_array(a, b)


def gen_numpy(out):
    d = os.path.join(out, 'numpy')
    fresh_dir(d)
    manifest = []
    cases = numpy_cases()

    def add(fname, fmt, case, records, protocol=None, version=None, buffers=()):
        manifest.append({'file': fname, 'format': fmt, 'case': case, 'protocol': protocol,
                         'version': version, 'buffers': list(buffers), 'arrays': records})

    # numpy's own pickles.
    for case, value in cases.items():
        for p in (2, 3, 4, 5):
            fname = '%s_p%d.pkl' % (case, p)
            data = pickle.dumps(value, protocol=p)
            if not same_numpy(value, pickle.loads(data)):
                raise AssertionError(fname)
            write_bytes(os.path.join(d, fname), data)
            add(fname, 'pickle', case, [numpy_record(value)], protocol=p)

    # Protocol 5 with out-of-band buffers: a C vector and an F-order matrix.
    value = [cases['i4'], cases['f8_F']]
    bufs = []
    data = pickle.dumps(value, protocol=5, buffer_callback=bufs.append)
    names = []
    for i, b in enumerate(bufs):
        names.append('oob_p5.buf%d' % i)
        write_bytes(os.path.join(d, names[-1]), bytes(b.raw()))
    back = pickle.loads(data, buffers=[bytes(b.raw()) for b in bufs])
    assert all(same_numpy(a, b) for a, b in zip(value, back))
    write_bytes(os.path.join(d, 'oob_p5.pkl'), data)
    add('oob_p5.pkl', 'pickle', 'oob', [numpy_record(v, member='[%d]' % i) for i, v in enumerate(value)],
        protocol=5, buffers=names)

    # .npy files, format 1.0 unless the header forces more (struct_utf8: 3.0).
    def check_npy(path, want):
        with open(path, 'rb') as f:
            version = list(np.lib.format.read_magic(f))
        back = np.load(path)
        if not same_array(want, back) or back.dtype != np.asarray(want).dtype:
            raise AssertionError(path)
        return version

    for case, value in cases.items():
        if type(value) is not np.ndarray or value.dtype.hasobject:
            continue
        fname = case + '.npy'
        path = os.path.join(d, fname)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)  # "Stored array in format 3.0"
            np.save(path, value)
        version = check_npy(path, value)
        add(fname, 'npy', case, [numpy_record(value)], version=version)

    for case, version in (('f8', (2, 0)), ('f8_F', (2, 0)), ('f8', (3, 0))):
        fname = '%s_v%d.npy' % (case, version[0])
        path = os.path.join(d, fname)
        with open(path, 'wb') as f:
            np.lib.format.write_array(f, cases[case], version=version)
        got = check_npy(path, cases[case])
        assert got == list(version), got
        add(fname, 'npy', case, [numpy_record(cases[case])], version=got)

    # .npz: stored and deflated, with several members; and positional names.
    members = {'a': cases['i4'], 'b': cases['f8_F'], 'c': cases['U7'], 'd': cases['struct'],
               'e': cases['be_f8'], 'f': cases['zero_d']}
    for fname, save in (('multi.npz', np.savez), ('multi_deflated.npz', np.savez_compressed)):
        path = os.path.join(d, fname)
        save(path, **members)
        with np.load(path) as z:
            for k, v in members.items():
                assert same_array(v, z[k]), (fname, k)
        add(fname, 'npz', 'multi', [numpy_record(v, member=k + '.npy') for k, v in members.items()])
    path = os.path.join(d, 'positional.npz')
    np.savez(path, cases['u1'], cases['f4'])
    add('positional.npz', 'npz', 'positional',
        [numpy_record(cases['u1'], member='arr_0.npy'), numpy_record(cases['f4'], member='arr_1.npy')])

    write_json(os.path.join(d, 'manifest.json'), {'files': manifest})
    print('numpy: %d files' % len(os.listdir(d)))


# ---------------------------------------------------------------------------
# 3. joblib


ARRAY_TYPES = (np.ndarray, np.matrix, np.memmap)
LEAF_TYPES = (type(None), bool, int, float, complex, str, bytes, bytearray)


def key_path(k):
    """Path segment for a dict key: ["str"] JSON-quoted, other keys as [repr]."""
    if isinstance(k, str):
        return '[%s]' % json.dumps(k, ensure_ascii=False)
    return '[%r]' % (k,)


def attr_path(k):
    if isinstance(k, str) and k.isidentifier():
        return '.' + k
    return '.__state__' + key_path(k)


class Walker:
    """Lists the arrays of an object graph in the order joblib writes them.

    It follows pickle._Pickler.save: memoized objects are written once (a
    second visit is a GET), but joblib takes every ndarray, matrix and memmap
    before the memo, so an array met twice is written twice. Objects are
    taken apart with the __reduce_ex__ the pickler calls: constructor
    arguments first (path .__args__[i]), then list items, dict items and the
    state (a dict state gives .name).
    """

    def __init__(self, protocol):
        self.protocol = protocol
        self.seen = set()
        self.keep = []  # keeps walked temporaries alive so ids stay unique
        self.first = {}  # id(array) -> path of its first visit
        self.arrays = []  # (path, array, path of the first visit or None)

    def walk(self, obj, path='$'):
        t = type(obj)
        if t in ARRAY_TYPES:
            first = self.first.get(id(obj))
            if first is None:
                self.first[id(obj)] = path
                self.keep.append(obj)
            self.arrays.append((path, obj, first))
            return
        if t in LEAF_TYPES or isinstance(obj, type) or (callable(obj) and hasattr(obj, '__qualname__')):
            return
        if id(obj) in self.seen:
            return
        self.keep.append(obj)
        if t is tuple or t is frozenset:
            for i, v in enumerate(obj):
                self.walk(v, '%s[%d]' % (path, i))
            self.seen.add(id(obj))  # memoized after its items, like save_tuple
            return
        self.seen.add(id(obj))
        if t is list or t is set:
            for i, v in enumerate(obj):
                self.walk(v, '%s[%d]' % (path, i))
            return
        if t is dict:
            for k, v in obj.items():
                self.walk(k, path + '.__key__')
                self.walk(v, path + key_path(k))
            return
        reduce = copyreg.dispatch_table.get(t)
        rv = reduce(obj) if reduce else obj.__reduce_ex__(self.protocol)
        if isinstance(rv, str):
            return
        rv = tuple(rv) + (None,) * (6 - len(rv))
        func, args, state, listitems, dictitems, _ = rv
        self.keep.append(rv)
        start = 1 if getattr(func, '__name__', '') == '__newobj__' else 0
        for i, v in enumerate(args or ()):
            if i >= start:
                self.walk(v, '%s.__args__[%d]' % (path, i))
        if listitems is not None:
            for i, v in enumerate(listitems):
                self.walk(v, '%s[%d]' % (path, i))
        if dictitems is not None:
            for k, v in dictitems:
                self.walk(v, path + key_path(k))
        if state is None:
            return
        if type(state) is tuple and len(state) == 2 and all(
                s is None or type(s) is dict for s in state):
            states = [s for s in state if s]  # (dict state, slots state)
        elif type(state) is dict:
            states = [state]
        else:
            self.walk(state, path + '.__state__')
            return
        for s in states:
            if id(s) in self.seen:
                continue
            self.seen.add(id(s))
            self.keep.append(s)
            for k, v in s.items():
                self.walk(v, path + attr_path(k))


# Every array joblib writes, recorded by the NumpyArrayWrapper.write_array hook.
WRITES = []


def install_write_hook():
    from joblib.numpy_pickle import NumpyArrayWrapper
    orig = NumpyArrayWrapper.write_array

    def write_array(self, array, pickler):
        fh = pickler.file_handle
        begin = fh.tell()
        orig(self, array, pickler)
        WRITES.append({'array': array, 'begin': begin, 'end': fh.tell(), 'order': self.order,
                       'subclass': '%s.%s' % (self.subclass.__module__, self.subclass.__name__),
                       'alignment': self.safe_get_numpy_array_alignment_bytes()})
    NumpyArrayWrapper.write_array = write_array


def read_stream(path):
    """The uncompressed stream of a joblib file, decompressed by joblib itself."""
    from joblib.numpy_pickle_utils import _read_fileobject
    with open(path, 'rb') as f:
        with _read_fileobject(f, path) as g:
            return g.read()


def array_records(obj_index, walker, writes, raw):
    """Pairs the walker's arrays with the recorded writes and checks the bytes."""
    if len(walker.arrays) != len(writes):
        raise AssertionError('walker found %d arrays, joblib wrote %d' % (len(walker.arrays), len(writes)))
    out = []
    for (path, arr, first), w in zip(walker.arrays, writes):
        if not same_array(arr, w['array']):
            raise AssertionError('array order differs at %s' % path)
        a = w['array']
        rec = {'object': obj_index, 'path': path, 'subclass': w['subclass']}
        rec.update(array_info(a))
        if rec['order'] != w['order']:
            raise AssertionError('%s: order %s, wrapper says %s' % (path, rec['order'], w['order']))
        begin, end = w['begin'], w['end']
        if a.dtype.hasobject:
            offset = None
            back = pickle.loads(raw[begin:end])
            assert same_array(a, back), path
        else:
            offset = end - a.nbytes
            if raw[offset:end] != np.asarray(a).tobytes(order=w['order']):
                raise AssertionError('%s: data bytes not at offset %d' % (path, offset))
            if w['alignment'] is not None:
                pad = raw[begin]
                if offset != begin + 1 + pad or offset % w['alignment'] or \
                        raw[begin + 1:offset] != b'\xff' * pad:
                    raise AssertionError('%s: bad padding at %d' % (path, begin))
        rec.update({'offset': offset, 'span': [begin, end], 'alignment': w['alignment'],
                    'shared_with': first})
        out.append(rec)
    return out


def check_loaded(path, objs, protocol, raw, spans):
    """Loads the file back with joblib and compares every array, by path."""
    import joblib
    if len(objs) == 1:
        loaded = [joblib.load(path)]
        if path.endswith('.pkl'):  # uncompressed: memory-map too
            loaded.append(joblib.load(path, mmap_mode='r'))
            objs = objs * 2
    else:
        loaded = [joblib.load(io.BytesIO(raw[s:e])) for s, e in spans]
    for want, got in zip(objs, loaded):
        wa, ga = walk(want, protocol).arrays, walk(got, protocol).arrays
        if [p for p, _, _ in wa] != [p for p, _, _ in ga]:
            raise AssertionError('%s: loaded paths differ' % path)
        for (p, a, _), (_, b, _) in zip(wa, ga):
            if not same_array(a, b):
                raise AssertionError('%s: %s differs after load' % (path, p))


def walk(obj, protocol):
    w = Walker(protocol)
    w.walk(obj)
    return w


JOBLIB_COMPRESSORS = [(None, '.pkl'), ('zlib', '.z'), ('gzip', '.gz'), ('bz2', '.bz2'),
                      ('lzma', '.lzma'), ('xz', '.xz'), ('lz4', '.lz4')]


def basic_object():
    shared = np.array([10, 20, 30], '<i2')
    return {
        'f8_c': np.arange(12, dtype='<f8').reshape(3, 4) / 4,
        'f8_f': np.asfortranarray(np.arange(12, dtype='<f8').reshape(3, 4) - 5.5),
        'f4': np.array([0.5, -1.0, 3.25, 1e-3], '<f4'),
        'i8': np.array([-2**63, -1, 0, 2**63 - 1], '<i8'),
        'u1': np.array([0, 7, 255], '<u1'),
        'b1': np.array([True, False, True]),
        'c16': np.array([1 + 2j, -0.5 - 0.25j], '<c16'),
        'be': np.array([[1.5, -2.0], [3.25, 1e100]], '>f8'),
        'obj': np.array([1, 'a', {'b': 2}], object),
        'M8': np.array(['2020-01-01T00:00:00.000000001', 'NaT', '1970-01-01'], 'M8[ns]'),
        'm8': np.array([0, -1500, 86400000], 'm8[ms]'),
        'U': np.array(['', 'abc', 'été ☃'], '<U5'),
        'struct': np.array([(1, (0.5, 1.5)), (-2, (2.5, -3.5))],
                           [('a', '<i4'), ('b', '<f8', (2,))]),
        'scalar': np.float64(2.5),
        'list': [shared, shared],
        'nested': {'t': (1, 'x', None)},
        'zero_d': np.array(7.0),
        'empty': np.zeros((0, 3)),
    }


def graph_object():
    a = np.arange(4, dtype='<i2')
    node = {'name': 'n', 'arr': a}
    nodes = [node, node, a]
    nodes.append(nodes)  # a list that holds itself
    return {'nodes': nodes, 'again': node, 'tuple': (node, a), 'self': nodes}


def sklearn_cases():
    """(name, estimator, X, y, method) with the estimator fitted."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(20, 4)), 3)
    y_reg = np.round(X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=20) + 0.25, 3)
    y_cls = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    cases = [
        ('linear_regression', LinearRegression(), y_reg, 'predict'),
        ('logistic_regression', LogisticRegression(), y_cls, 'predict'),
        ('random_forest', RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
         y_cls, 'predict'),
        ('standard_scaler', StandardScaler(), None, 'transform'),
        ('pipeline', Pipeline([('scale', StandardScaler()), ('clf', LogisticRegression())]),
         y_cls, 'predict'),
    ]
    out = []
    for name, est, y, method in cases:
        est.fit(X, y)
        out.append((name, est, X, y, method))
    return out


def sklearn_info(est, X, y, method):
    got = np.asarray(getattr(est, method)(X))
    return {'X': X.tolist(), 'y': None if y is None else y.tolist(), 'method': method,
            'expected_dtype': got.dtype.str, 'expected_shape': list(got.shape),
            'expected': got.tolist()}


def gen_joblib(out):
    import joblib
    d = os.path.join(out, 'joblib')
    fresh_dir(d)
    install_write_hook()
    manifest = []

    def dump(name, objs, protocol=None, compress=None, ext='.pkl', extra=None):
        """Dumps objs (one, or several one after another into one file) and records them."""
        proto = pickle.DEFAULT_PROTOCOL if protocol is None else protocol
        fname = '%s_p%d%s' % (name, proto, ext)
        path = os.path.join(d, fname)
        del WRITES[:]
        counts, spans = [], []
        if len(objs) == 1:
            joblib.dump(objs[0], path, compress=compress or 0, protocol=protocol)
            counts.append(len(WRITES))
        else:
            assert compress is None
            with open(path, 'wb') as f:
                for obj in objs:
                    start = f.tell()
                    joblib.dump(obj, f, protocol=protocol)
                    counts.append(len(WRITES) - sum(counts))
                    spans.append([start, f.tell()])
        raw = read_stream(path)
        if not spans:
            spans = [[0, len(raw)]]
        arrays, at = [], 0
        for i, obj in enumerate(objs):
            arrays += array_records(i, walk(obj, proto), WRITES[at:at + counts[i]], raw)
            at += counts[i]
        check_loaded(path, objs, proto, raw, spans)
        entry = {'name': name, 'file': fname, 'protocol': proto, 'compress': compress,
                 'root_type': type_name(objs[0]), 'stream_size': len(raw),
                 'objects': [{'root_type': type_name(o), 'start': s, 'end': e}
                             for o, (s, e) in zip(objs, spans)],
                 'arrays': arrays, 'sklearn': None}
        entry.update(extra or {})
        manifest.append(entry)

    for p in range(6):
        for compress, ext in JOBLIB_COMPRESSORS:
            dump('basic', [basic_object()], protocol=p, compress=compress, ext=ext)

    with tempfile.TemporaryDirectory() as tmp:
        mm = np.memmap(os.path.join(tmp, 'mm.dat'), dtype='<f4', mode='w+', shape=(2, 3))
        mm[:] = np.arange(6, dtype='<f4').reshape(2, 3) + 0.5
        mm.flush()
        dump('matrix_memmap', [{'matrix': np.matrix([[1.0, 2.0], [3.0, 4.0]]), 'memmap': mm}])
        del mm

    for name, est, X, y, method in sklearn_cases():
        extra = {'sklearn': sklearn_info(est, X, y, method)}
        dump(name, [est], extra=extra)
        dump(name, [est], compress='zlib', ext='.z', extra=extra)

    import scipy.sparse
    dense = np.array([[0, 1.5, 0, 0], [2.0, 0, 0, -1.0], [0, 0, 0, 0]])
    dump('sparse_csr', [scipy.sparse.csr_matrix(dense)])

    for p in range(6):
        dump('graph', [graph_object()], protocol=p)

    dtypes = ['<f8', '<f4', '<i8', '<i4', '<u1', '|b1', '<c8', '>f8']
    many = {'a%03d' % i: (np.arange(i % 5 + 1) * (i + 1)).astype(dtypes[i % len(dtypes)])
            for i in range(200)}
    dump('many_small', [many])

    dump('concat', [{'x': np.arange(5, dtype='<i4'), 'name': 'first'},
                    {'y': np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)),
                     'z': [np.array([1.5]), 'second']}])

    write_json(os.path.join(d, 'manifest.json'), {'files': manifest})
    print('joblib: %d files' % len(os.listdir(d)))


# ---------------------------------------------------------------------------


def write_versions(out):
    import joblib
    import lz4
    import scipy
    import sklearn
    v = {
        'python': platform.python_version(),
        'numpy': np.__version__,
        'joblib': joblib.__version__,
        'sklearn': sklearn.__version__,
        'scipy': scipy.__version__,
        'lz4': lz4.__version__,
        'pickle_default_protocol': pickle.DEFAULT_PROTOCOL,
        'machine': platform.machine(),
        'byteorder': sys.byteorder,
    }
    write_json(os.path.join(out, 'versions.json'), v)


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: gen.py OUTDIR')
    out = sys.argv[1]
    gen_pickle(out)
    gen_numpy(out)
    gen_joblib(out)
    write_versions(out)
    total = 0
    for sub in ('pickle', 'numpy', 'joblib'):
        for name in os.listdir(os.path.join(out, sub)):
            total += os.path.getsize(os.path.join(out, sub, name))
    print('total fixture bytes: %d' % total)


if __name__ == '__main__':
    main()
