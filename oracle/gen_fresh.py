"""A freshly generated set of inputs for the differential check (ci/diffcheck).

Three kinds, all written under OUT and listed (path, group, protocol, description):

* live    random object graphs pickled *now* by every CPython found
          (oracle/pythons.py), at every protocol it has: atoms at size
          boundaries, str with escapes, surrogates and non-BMP characters,
          containers at batch boundaries (999..2001 items), sets and
          frozensets of mixed members (ints, str, tuples, instances hashed
          by identity), shared references, cycles (through lists, dicts,
          tuples, instances and sets), instances with every state hook of
          corpusmod (oracle/gen_corpus.py) and of random classes of a random
          module, nested classes, partials; sometimes fast mode (no memo),
          pickletools.optimize, or a stream of several pickles.
          Group: the Python's version (e.g. 3.11.7).  The writer runs under
          Python 2.7 too (pickle and cPickle).
* mutated byte-level mutants of small valid pickles (truncation, byte and
          opcode changes, inserted/removed/duplicated/swapped opcodes,
          quirky text arguments of INT/LONG/FLOAT/STRING/UNICODE/GLOBAL,
          spliced streams).  Group: "mutated".
* edge    hand-written corner cases (empty input, persistent ids without a
          hook, EXT codes without registry, buffers without buffers, C
          unpickler quirks such as strtol's base 0 in INT) and the inputs of
          oracle/divergences.py.  Group: "edge".

Deterministic for a given --seed.

    python3 oracle/gen_fresh.py OUT [--seed N] [--count N] [--mutants N]
                                    [--pythons all|reference] [--no-live]
"""

import argparse
import hashlib
import io
import os
import pickletools
import random
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_corpus  # noqa: E402  (CORPUSMOD: the classes the writers use)
import pythons  # noqa: E402

__all__ = ["write_live", "write_mutants", "write_edge", "generate", "EDGE_CASES"]

# ---------------------------------------------------------------------------
# live: random graphs, written by each interpreter (valid Python 2.7 and 3.x)

RANDOM_WRITER = r'''
from __future__ import print_function
import sys, os, io, pickle, random, functools, types, pickletools
sys.path.insert(0, sys.argv[1])
import corpusmod as cm
OUT, SEED, COUNT = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PY2 = sys.version_info[0] == 2
PYV = sys.version_info[:2]
if PY2:
    import cPickle
    text_type, long_type, uchr = unicode, long, unichr
else:
    cPickle = None
    text_type, long_type, uchr = str, int, chr
HIGHEST = pickle.HIGHEST_PROTOCOL
rng = random.Random(SEED)

# A module of random classes (their names are what the pickles spell).
fm = types.ModuleType("freshmod")
sys.modules["freshmod"] = fm
CLASSES = []
for i in range(6):
    name = rng.choice(["K", "Klass", "Q", "Node", "Thing", "C"]) + str(i)
    if not PY2 and rng.random() < 0.2:
        name = u"Cl\xe9" + str(i)
    cls = type(name if not PY2 else str(name), (object,), {})
    cls.__module__ = "freshmod"
    setattr(fm, name, cls)
    CLASSES.append(cls)
if not PY2:
    inner = type("Inner", (object,), {})
    inner.__module__ = "freshmod"
    inner.__qualname__ = CLASSES[0].__qualname__ + ".Inner"
    CLASSES[0].Inner = inner
    CLASSES.append(inner)

def u(s):
    return s.encode("ascii").decode("unicode_escape") if PY2 else s

def rand_int():
    r = rng.random()
    if r < 0.4:
        return rng.randint(-5, 300)
    if r < 0.75:
        b = rng.choice([7, 8, 15, 16, 31, 32, 63, 64])
        return rng.choice([1, -1]) * (2 ** b) + rng.choice([-1, 0, 1])
    return rng.choice([1, -1]) * rng.getrandbits(rng.choice([70, 200, 1000, 3000]))

def rand_float():
    r = rng.random()
    if r < 0.3:
        return rng.choice([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 5e-324, 1e308, 0.1, 1.0])
    return rng.uniform(-1e6, 1e6) * (10 ** rng.randint(-30, 30))

CHARS = [u"a", u"Z", u"0", u" ", u"\n", u"\r", u"\\", u"\x00", u"\x7f", u"\x80", u"\xe9",
         u"\xff", u"\u0100", u"\u20ac", u"\ufffd", u"'", u'"', u"\t", u"\x0c"]
if not PY2:
    CHARS += [u"\ud800", u"\udfff", u"\U0001f600", u"\U0010ffff"]
elif sys.maxunicode > 0xffff:
    CHARS += [uchr(0x1f600)]

def rand_text():
    n = rng.choice([0, 1, 1, 2, 3, 8, 20, 255, 256, 300])
    if n == 1 and rng.random() < 0.5:
        return uchr(rng.randrange(0x100))       # one-char str below U+0100: a singleton
    return u"".join(rng.choice(CHARS) for _ in range(n))

def rand_bytes():
    n = rng.choice([0, 1, 1, 2, 5, 255, 256, 300])
    if PY2 and rng.random() < 0.7:
        return "".join(chr(rng.randrange(32, 127)) for _ in range(n))    # ASCII py2 str
    return bytes(bytearray(rng.randrange(256) for _ in range(n)))

POOL = []          # objects already made: shared references
HASHABLE = []      # hashable ones among them

def remember(obj, hashable=False):
    POOL.append(obj)
    if hashable:
        HASHABLE.append(obj)
    return obj

def rand_atom():
    k = rng.randrange(7)
    if k == 0:
        return rng.choice([None, True, False])
    if k == 1:
        return rand_int()
    if k == 2:
        return rand_float()
    if k in (3, 4):
        return rand_text()
    return rand_bytes()

def rand_hashable(depth):
    r = rng.random()
    if HASHABLE and r < 0.15:
        return rng.choice(HASHABLE)
    if depth <= 0 or r < 0.6:
        return rand_atom()
    if r < 0.75:
        return remember(tuple(rand_hashable(depth - 1) for _ in range(rng.randint(0, 3))), True)
    if r < 0.82:
        return remember(frozenset(rand_hashable(depth - 1) for _ in range(rng.randint(0, 4))), True)
    if r < 0.92:
        return remember(rand_instance(depth - 1, []), True)     # hashed by identity
    return rng.choice(CLASSES + [cm.Plain, cm.Node, len])

def big_container():
    n = rng.choice([999, 1000, 1001, 2000, 2001])
    kind = rng.choice(["list", "dict", "set", "frozenset"])
    if kind == "list":
        return list(range(n))
    if kind == "dict":
        return dict((i, -i) for i in range(n))
    if kind == "set":
        return set(range(n))
    return frozenset(range(n))

def rand_instance(depth, stack):
    r = rng.random()
    if r < 0.25:
        obj = rng.choice(CLASSES).__new__(rng.choice(CLASSES))
        obj.__dict__.update(rand_attrs(depth, stack, obj))
        return obj
    if r < 0.4:
        obj = cm.Plain()
        obj.__dict__.update(rand_attrs(depth, stack, obj))
        return obj
    if r < 0.52:
        state = rng.choice([0, u"", {}, (), False, [], None, 1, u"s",
                            {u"k": rand_atom()}, [rand_atom()]])
        return cm.WithState(state)
    if r < 0.6:
        return cm.Slotted(rand_atom(), rand_atom())
    if r < 0.68:
        obj = cm.ReduceItems()
        obj.extend(rand_value(depth - 1, stack) for _ in range(rng.choice([0, 1, 2, 5])))
        for _ in range(rng.choice([0, 1, 3])):
            obj[rand_hashable(0)] = rand_value(depth - 1, stack)
        obj.state = rng.choice([None, {u"s": 1}, 0, rand_atom()])
        return obj
    if r < 0.76:
        return cm.NewArgs(*[rand_atom() for _ in range(rng.randint(0, 3))])
    if r < 0.82 and not PY2:
        return cm.NewArgsEx(*[rand_atom() for _ in range(rng.randint(0, 2))],
                            **dict((u"k%d" % i, rand_atom()) for i in range(rng.randint(0, 2))))
    if r < 0.86 and not PY2:
        return cm.Outer.Inner(rand_atom())
    if r < 0.9 and PY2:
        return rng.choice([cm.SimpleObject(rand_bytes()), cm.OldStyleArgs(rand_atom(), rand_atom())])
    if r < 0.94:
        return functools.partial(cm.Plain, rand_atom(), k=rand_atom())
    n = cm.Node(rand_text())
    n.add_edge(n)
    return n

def rand_attrs(depth, stack, obj):
    stack.append(obj)
    try:
        return dict((rng.choice([u"a", u"b", u"name", u"x", u"_p"]) + str(i), rand_value(depth - 1, stack))
                    for i in range(rng.randint(0, 3)))
    finally:
        stack.pop()

def rand_value(depth, stack):
    r = rng.random()
    if POOL and r < 0.08:
        return rng.choice(POOL)                      # shared reference
    if stack and r < 0.12:
        return rng.choice(stack)                     # cycle
    if depth <= 0 or r < 0.35:
        v = rand_atom()
        if rng.random() < 0.3:
            remember(v, True)
        return v
    if r < 0.37:
        return remember(big_container())
    if r < 0.47:
        lst = remember([])
        stack.append(lst)
        lst.extend(rand_value(depth - 1, stack) for _ in range(rng.randint(0, 5)))
        stack.pop()
        return lst
    if r < 0.55:
        d = remember({})
        stack.append(d)
        for _ in range(rng.randint(0, 5)):
            d[rand_hashable(depth - 1)] = rand_value(depth - 1, stack)
        stack.pop()
        return d
    if r < 0.63:
        items = [rand_value(depth - 1, stack) for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.2:                       # a recursive tuple
            lst = []
            t = tuple([lst] + items)
            lst.append(t)
            return remember(t)
        return remember(tuple(items))
    if r < 0.72:
        s = set(rand_hashable(depth - 1) for _ in range(rng.randint(0, 6)))
        if rng.random() < 0.2:                       # a cycle through a set
            holder = cm.Plain()
            holder.s = s
            s.add(holder)
        return remember(s)
    if r < 0.77:
        return remember(frozenset(rand_hashable(depth - 1) for _ in range(rng.randint(0, 6))), True)
    if r < 0.8:
        return remember(bytearray(rand_bytes()))
    if r < 0.84:
        return rng.choice(CLASSES + [cm.function, cm.Outer, cm.Plain, len, pickle.dumps])
    obj = remember(rand_instance(depth, stack))
    return obj

def dumps(obj, proto):
    mode = rng.random()
    if PY2 and mode < 0.5:
        f = io.BytesIO()
        p = cPickle.Pickler(f, proto)
        p.dump(obj)
        data = f.getvalue()
    elif mode < 0.08:
        f = io.BytesIO()
        p = pickle.Pickler(f, proto)
        p.fast = 1                                  # no memo (acyclic values only)
        p.dump(obj)
        data = f.getvalue()
    else:
        data = pickle.dumps(obj, proto)
    if rng.random() < 0.12:
        data = pickletools.optimize(data)
    return data, (" fast" if mode < 0.08 else "")

LINES = []
for i in range(COUNT):
    del POOL[:]
    del HASHABLE[:]
    value = rand_value(rng.choice([2, 3, 4]), [])
    for proto in range(HIGHEST + 1):
        try:
            data, how = dumps(value, proto)
        except Exception:
            continue
        fn = "r%d_%03d.p%d.pickle" % (SEED, i, proto)
        with open(os.path.join(OUT, fn), "wb") as f:
            f.write(data)
        LINES.append("%s\t%d\trandom graph %d%s" % (fn, proto, i, how))
    if i % 8 == 7:                                  # a stream of several pickles
        parts = []
        for _ in range(rng.randint(2, 3)):
            try:
                parts.append(dumps(rand_value(2, []), rng.randint(0, HIGHEST))[0])
            except Exception:
                pass
        if parts:
            fn = "r%d_%03d.stream.pickle" % (SEED, i)
            with open(os.path.join(OUT, fn), "wb") as f:
                f.write(b"".join(parts))
            LINES.append("%s\t%d\tstream of %d pickles" % (fn, -1, len(parts)))
for line in LINES:
    print(line)
'''


def _seed_for(seed, version):
    h = hashlib.sha256(("%d/%s" % (seed, version)).encode()).hexdigest()
    return int(h[:8], 16)


def write_live(out_dir, interpreters, seed, count, log=None):
    """Random graphs pickled by each interpreter: [(path, version, proto, desc)]."""
    rows = []
    tmp = tempfile.mkdtemp(prefix="freshmod-")
    try:
        with open(os.path.join(tmp, "corpusmod.py"), "w") as f:
            f.write(gen_corpus.CORPUSMOD)
        done = set()
        for py in interpreters:
            if py.version in done:
                continue
            done.add(py.version)
            d = os.path.join(out_dir, py.version)
            if os.path.isdir(d):
                shutil.rmtree(d)
            os.makedirs(d)
            s = _seed_for(seed, py.version)
            try:
                r = pythons.run_snippet(py, RANDOM_WRITER, [tmp, d, str(s), str(count)], cwd=tmp, timeout=300)
            except Exception as e:  # a broken interpreter is skipped, never fatal
                if log:
                    log("gen_fresh: %s failed: %s" % (py, e))
                continue
            if r.returncode != 0:
                if log:
                    log("gen_fresh: writer failed under %s:\n%s" % (py, r.stderr.decode("utf-8", "replace")[-2000:]))
                continue
            for line in r.stdout.decode("utf-8").splitlines():
                fn, proto, desc = line.split("\t")
                rows.append((os.path.join(d, fn), py.version, int(proto), desc + " (seed %d)" % s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------
# mutated

# Snippets inserted at opcode boundaries (opcode + a plausible argument).
SNIPPETS = [
    b"0", b"1", b"2", b"(", b".", b"N", b")", b"]", b"}", b"\x8f", b"\x94", b"h\x00", b"h\x01",
    b"q\x05", b"r\x00\x00\x01\x00", b"j\x00\x00\x00\x00", b"a", b"e", b"s", b"u", b"\x90",
    b"\x91", b"R", b"b", b"\x81", b"\x92", b"\x93", b"c__builtin__\nset\n", b"c__builtin__\nfrozenset\n",
    b"cbuiltins\ngetattr\n", b"ccopy_reg\n_reconstructor\n", b"c__builtin__\nobject\n",
    b"c_codecs\nencode\n", b"c__builtin__\nbytearray\n", b"\x82\x01", b"P1\n", b"Q", b"\x97", b"\x98",
    b"\x80\x05", b"\x80\x02", b"\x80\x03", b"\x95\x00\x00\x00\x00\x00\x00\x00\x00", b"t", b"l", b"d",
    b"o", b"i__main__\nC\n", b"\x85", b"\x86", b"\x87", b"K\x01", b"\x8c\x01a", b"\x8c\x00",
    b"C\x01a", b"C\x00", b"\x8a\x00", b"\x8a\x01\xff", b"\x8b\x00\x00\x00\x00", b"I01\n", b"I00\n",
    b"L5L\n", b"F1.5\n", b"S'a'\n", b"Vabc\n", b"\x88", b"\x89", b"G\x7f\xf8\x00\x00\x00\x00\x00\x00",
    b"U\x01a", b"T\x01\x00\x00\x00a", b"X\x01\x00\x00\x00\xe9", b"B\x01\x00\x00\x00a",
    b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a", b"\x8c\x08builtins\x8c\x03set\x93",
    b"\x8c\x08copyreg\x8c\x0b__newobj__\x93", b"g0\n", b"p0\n",
]

INT_TEXTS = [b" 1", b"+1", b"0x1f", b"-0x1f", b"010", b"1_0", b"00", b"01", b" 01", b"0b11", b"0o7",
             b"", b"-", b"99999999999999999999", b"-9223372036854775808", b"1 ", b"1L", b"\xd9\xa1",
             b"0", b"1e3"]
LONG_TEXTS = [b" 5L", b"1_0L", b"0x10L", b"5", b"-0L", b"L", b"12345678901234567890123L", b"+7L", b"5LL"]
FLOAT_TEXTS = [b"1e400", b"-1e400", b"nan", b"-inf", b"infinity", b" 1.5", b"1_0.5", b"1.5 ", b"0x1p3",
               b"", b"1e-400", b"-0.0", b"1.", b".5"]
STRING_TEXTS = [b"'a'", b'"a"', b"'a", b"a'", b"'\\x41'", b"'\\u0041'", b"''", b"'\\'", b"'\xff'",
                b"'\\n'", b"'a\"", b"\"a'"]
UNICODE_TEXTS = [b"\\u0041", b"\\u00", b"\\U0010ffff", b"\\U00110000", b"\xff", b"\\x41", b"\\", b"",
                 b"\\ud800", b"a\\nb"]
GLOBAL_TEXTS = [b"__builtin__\nunicode", b"__builtin__\nxrange", b"copy_reg\n_reconstructor",
                b"UserDict\nUserDict", b"exceptions\nStandardError", b"builtins\nset", b"builtins\nbytes",
                b"__builtin__\nset", b"builtins\ngetattr", b"\xff\nx", b"mod\n", b"\nname", b"a.b\nc.d",
                b"builtins\nfrozenset", b"_codecs\nencode", b"copyreg\n__newobj__", b"os\nsystem",
                b"__main__\nC.<locals>.D", b"whichdb\nwhichdb", b"itertools\nizip"]

TEXT_ARGS = {"INT": INT_TEXTS, "LONG": LONG_TEXTS, "FLOAT": FLOAT_TEXTS, "STRING": STRING_TEXTS,
             "UNICODE": UNICODE_TEXTS, "GLOBAL": GLOBAL_TEXTS, "INST": GLOBAL_TEXTS}


def _ops(data):
    """[(name, start, end)] of the opcodes genops reads whole (stops at an error)."""
    out = []
    f = io.BytesIO(data)
    try:
        for op, arg, pos in pickletools.genops(f):
            out.append((op.name, pos, f.tell()))   # genops yields after reading the argument
    except Exception:
        pass
    return out


def _mutate_once(rng, data, others):
    ops = _ops(data)
    bounds = [s for _, s, _ in ops] + ([ops[-1][2]] if ops else [0])
    kind = rng.choice(["trunc", "flip", "opcode", "insert", "insert", "delete", "dup", "swap",
                       "text", "text", "arg", "splice", "junk", "proto"])
    if kind == "trunc" and data:
        return data[:rng.randrange(len(data))], kind
    if kind == "flip" and data:
        i = rng.randrange(len(data))
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:], kind
    if kind == "opcode" and ops:
        _, s, _ = rng.choice(ops)
        code = rng.choice(pickletools.opcodes).code.encode("latin-1")
        return data[:s] + code + data[s + 1:], kind
    if kind == "insert":
        at = rng.choice(bounds)
        return data[:at] + rng.choice(SNIPPETS) + data[at:], kind
    if kind == "delete" and ops:
        _, s, e = rng.choice(ops)
        return data[:s] + data[e:], kind
    if kind == "dup" and ops:
        _, s, e = rng.choice(ops)
        return data[:e] + data[s:e] + data[e:], kind
    if kind == "swap" and len(ops) > 2:
        i = rng.randrange(len(ops) - 1)
        (_, s1, e1), (_, s2, e2) = ops[i], ops[i + 1]
        return data[:s1] + data[s2:e2] + data[s1:e1] + data[e2:], kind
    if kind == "text":
        cands = [o for o in ops if o[0] in TEXT_ARGS]
        if cands:
            name, s, e = rng.choice(cands)
            new = rng.choice(TEXT_ARGS[name])
            return data[:s + 1] + new + b"\n" + data[e:], kind
        snippet = rng.choice([b"I%s\n", b"L%s\n", b"F%s\n"])
        texts = {b"I": INT_TEXTS, b"L": LONG_TEXTS, b"F": FLOAT_TEXTS}[snippet[:1]]
        return snippet.replace(b"%s", rng.choice(texts)) + b".", kind
    if kind == "arg":
        # change a byte inside an opcode's argument (lengths, memo indices, ints)
        cands = [o for o in ops if o[2] - o[1] > 1]
        if cands:
            _, s, e = rng.choice(cands)
            i = rng.randrange(s + 1, e)
            v = rng.choice([0, 1, 0x7f, 0x80, 0xff, (data[i] + 1) & 0xff, (data[i] - 1) & 0xff])
            return data[:i] + bytes([v]) + data[i + 1:], kind
    if kind == "splice" and others:
        return data + rng.choice(others), kind
    if kind == "junk":
        return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))), kind
    if kind == "proto" and data[:1] == b"\x80" and len(data) > 1:
        return data[:1] + bytes([rng.choice([0, 1, 2, 3, 4, 5, 6, 0xff])]) + data[2:], kind
    return data + b"N", "append"


def write_mutants(out_dir, sources, seed, count, max_source=3000):
    """Mutants of small valid pickles: [(path, "mutated", proto, desc)]."""
    rng = random.Random(seed)
    pool = []
    for path in sources:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if 0 < len(data) <= max_source:
            pool.append((os.path.basename(path), data))
    if not pool:
        return []
    d = os.path.join(out_dir, "mutated")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    whole = [data for _, data in pool]
    seen = set(whole)
    rows = []
    attempts = 0
    while len(rows) < count and attempts < count * 5:
        attempts += 1
        name, data = rng.choice(pool)
        kinds = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            data, kind = _mutate_once(rng, data, whole)
            kinds.append(kind)
        if data in seen or len(data) > 4 * max_source:
            continue
        seen.add(data)
        fn = "m%d_%04d.pickle" % (seed, len(rows))
        with open(os.path.join(d, fn), "wb") as f:
            f.write(data)
        proto = data[1] if data[:1] == b"\x80" and len(data) > 1 else 0
        rows.append((os.path.join(d, fn), "mutated", proto, "%s of %s" % ("+".join(kinds), name)))
    return rows


# ---------------------------------------------------------------------------
# edge cases

EDGE_CASES = [
    ("empty", b"", "empty input (pickle.loads(b'') raises EOFError)"),
    ("stop_only", b".", "STOP on an empty stack"),
    ("trailing_junk", b"N.xyz", "a pickle then junk"),
    ("trailing_newline", b"N.\n", "a pickle then a newline"),
    ("two_pickles", b"N.K\x01.", "a stream of two pickles"),
    ("second_bad", b"K\x01.K", "a good pickle then a truncated one"),
    ("persid", b"P1\n.", "PERSID without persistent_load"),
    ("binpersid", b"K\x01Q.", "BINPERSID without persistent_load"),
    ("ext1", b"\x80\x02\x82\x01.", "EXT1 with an empty extension registry"),
    ("ext2", b"\x80\x02\x83\x2c\x01.", "EXT2 with an empty extension registry"),
    ("next_buffer", b"\x80\x05\x97.", "NEXT_BUFFER without buffers"),
    ("readonly_bytes", b"\x80\x05C\x02ab\x98.", "READONLY_BUFFER on bytes"),
    ("readonly_bytearray", b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x98.", "READONLY_BUFFER on a bytearray"),
    ("set_reduce_empty", b"c__builtin__\nset\n)R.", "__builtin__.set() through fix_imports"),
    ("set_reduce_list", b"c__builtin__\nset\n(lp0\nI1\naI2\na\x85R.", "set([1, 2]) at protocol 0"),
    ("frozenset_p3", b"\x80\x03cbuiltins\nfrozenset\n]q\x00(K\x01K\x02e\x85q\x01Rq\x02.", "frozenset at protocol 3"),
    ("codecs_encode", b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xa9X\x06\x00\x00\x00latin1\x86R.",
     "_codecs.encode('\\xe9', 'latin1')"),
    ("codecs_encode_utf8", b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8\x86R.",
     "_codecs.encode('a', 'utf-8') (an inert-free call of a real function)"),
    ("bytes_empty_reduce", b"\x80\x02c__builtin__\nbytes\n)R.", "bytes() at protocol 2"),
    ("getattr_nested", b"\x80\x02cbuiltins\ngetattr\ncm\nC\nX\x01\x00\x00\x00D\x86R.", "getattr(m.C, 'D')"),
    ("getattr_other", b"\x80\x02cbuiltins\ngetattr\nK\x01X\x01\x00\x00\x00D\x86R.", "getattr(1, 'D'): inert call"),
    ("global_bad_utf8", b"c\xff\nx\n.", "GLOBAL with a module name that is not UTF-8"),
    ("int_base0_hex", b"I0x10\n.", "INT: C strtol base 0 reads 0x10 as 16"),
    ("int_base0_octal", b"I010\n.", "INT: C strtol base 0 reads 010 as 8"),
    ("int_space_true", b"I 1\n.", "INT ' 1': a 3-byte line with value 1 is True in the C unpickler"),
    ("int_plus", b"I+5\n.", "INT '+5'"),
    ("int_underscore", b"I1_000\n.", "INT with an underscore: strtol stops, PyLong_FromString accepts"),
    ("int_huge", b"I123456789012345678901234567890\n.", "INT beyond a C long"),
    ("int_00", b"I00\n.", "INT 00 is False"),
    ("long_space", b"L 5L\n.", "LONG with a leading space"),
    ("long_underscore", b"L1_0L\n.", "LONG with an underscore"),
    ("long_hex", b"L0x10L\n.", "LONG in hex (base 10 only)"),
    ("float_overflow", b"F1e400\n.", "FLOAT out of range"),
    ("float_nan", b"Fnan\n.", "FLOAT nan"),
    ("float_underscore", b"F1_0.5\n.", "FLOAT with an underscore"),
    ("string_dq", b'S"a"\n.', "STRING with double quotes"),
    ("string_unquoted", b"Sabc\n.", "STRING without quotes"),
    ("string_nonascii", b"S'\xe9'\n.", "STRING with a non-ASCII byte (encoding ASCII)"),
    ("binstring_nonascii", b"U\x01\xe9.", "SHORT_BINSTRING with a non-ASCII byte"),
    ("unicode_bad_escape", b"V\\u00\n.", "UNICODE with a truncated escape"),
    ("unicode_surrogate", b"V\\ud800\n.", "UNICODE with a lone surrogate"),
    ("binunicode_surrogate", b"X\x03\x00\x00\x00\xed\xa0\x80.", "BINUNICODE with an encoded surrogate"),
    ("memo_get_missing", b"h\x05.", "BINGET of an index never PUT"),
    ("memo_put_empty", b"q\x00.", "BINPUT on an empty stack"),
    ("dup_empty", b"2.", "DUP on an empty stack"),
    ("pop_mark", b"(N1N.", "POP_MARK"),
    ("pop_empty", b"0N.", "POP on an empty stack"),
    ("mark_left", b"(N.", "a MARK left open at STOP"),
    ("append_to_dict", b"}K\x01a.", "APPEND on a dict"),
    ("setitem_list_key", b"}]K\x01s.", "an unhashable key"),
    ("set_unhashable", b"\x80\x04\x8f(]\x90.", "an unhashable set member"),
    ("equal_keys", b"}(K\x01X\x01\x00\x00\x00aG?\xf0\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00b\x88X\x01\x00\x00\x00cu.",
     "1, 1.0 and True: one key, the first key object, the last value"),
    ("nan_keys", b"}(G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x01G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x02u.",
     "two NaN keys (distinct objects)"),
    ("proto6", b"\x80\x06N.", "PROTO 6 (unsupported)"),
    ("frame_cross", b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00M\x01\x00.", "an argument crossing a frame end"),
    ("newobj_ex_p4", b"\x80\x04\x8c\x01m\x8c\x01C\x93)}\x8c\x01k\x88s\x92.", "NEWOBJ_EX with kwargs"),
    ("build_on_global", b"cm\nC\n}b.", "BUILD on a global"),
    ("inst_args", b"(K\x01K\x02im\nC\n.", "INST with arguments"),
    ("obj_noargs", b"(cm\nC\no.", "OBJ without arguments"),
    ("reduce_non_callable", b"K\x01)R.", "REDUCE on an int"),
    ("additems_on_inert", b"\x80\x04\x8c\x01m\x8c\x01C\x93)R(K\x01\x90.", "ADDITEMS on an inert object"),
    ("deep_5000", b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b".", "lists nested 5000 deep"),
    ("bytes1_shared", b"\x80\x03C\x01a\x94C\x01a\x86.", "two 1-byte bytes from SHORT_BINBYTES"),
    ("str1_shared", b"\x80\x04\x8c\x01a\x8c\x01a\x86.", "two 1-char str"),
]


def write_edge(out_dir, with_divergences=True):
    d = os.path.join(out_dir, "edge")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    cases = list(EDGE_CASES)
    if with_divergences:
        try:
            import divergences
            for e in divergences.DIVERGENCES:
                if not e.get("edge_case", True):
                    continue  # its recode is hundreds of MB (shown by divergences_test instead)
                cases.append(("divergence_" + e["id"], divergences.input_bytes(e),
                              "input of divergence %s" % e["id"]))
        except Exception:
            pass
    rows = []
    for name, data, desc in cases:
        path = os.path.join(d, name + ".pickle")
        with open(path, "wb") as f:
            f.write(data)
        proto = data[1] if data[:1] == b"\x80" and len(data) > 1 else 0
        rows.append((path, "edge", proto, desc))
    return rows


def generate(out_dir, seed, count=25, mutants=400, interpreters=None, live=True, log=None,
             mutant_sources=()):
    """All three kinds; mutants are made from `mutant_sources` plus the live
    pickles of the reference Python (3.11)."""
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    if live:
        rows += write_live(os.path.join(out_dir, "live"), interpreters or pythons.find_pythons(), seed, count, log)
    sources = list(mutant_sources) + [r[0] for r in rows if r[1].startswith("3.11.")]
    if mutants:
        rows += write_mutants(out_dir, sorted(sources), seed, mutants)
    rows += write_edge(out_dir)
    return rows


def main():
    ap = argparse.ArgumentParser(description="Write a fresh set of inputs for ci/diffcheck.")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=25, help="random graphs per Python (each at every protocol)")
    ap.add_argument("--mutants", type=int, default=400)
    ap.add_argument("--pythons", choices=["all", "reference"], default="all")
    ap.add_argument("--no-live", action="store_true")
    a = ap.parse_args()
    found = pythons.find_pythons()
    if a.pythons == "reference":
        found = [p for p in found if p.short == "3.11"]
    root = os.path.dirname(HERE)
    seeds = []
    for dirpath, _, files in os.walk(os.path.join(root, "corpus", "seeds")):
        if "/3.11." in dirpath + "/" or dirpath.endswith("crafted"):
            seeds += [os.path.join(dirpath, f) for f in files if f.endswith(".pickle")]
    rows = generate(a.out, a.seed, a.count, a.mutants, found, not a.no_live,
                    log=lambda m: sys.stderr.write(m + "\n"), mutant_sources=seeds)
    for path, group, proto, desc in rows:
        print("%s\t%s\t%s\t%s" % (path, group, proto, desc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
