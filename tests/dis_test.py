#!/usr/bin/env python3
"""`pickletool dis` against `python3 -m pickletools`, byte for byte.

Inputs: every file under corpus/ (when present), a varied set of pickles
made here by the installed python3 at every protocol (C and pure-Python
picklers, optimized ones, persistent ids, extension codes, out-of-band
buffers, Python 2 pickles from a pyenv 2.7 when installed), and invalid
inputs: handcrafted ones for every fault pickletools reports, and seeded
mutations (truncations, byte flips, insertions) of the valid ones.

For each input the expected stdout is what pickletools prints; for an input
pickletools rejects, pickletool must also exit 1 with exactly one stderr line
`pickletool: error: <str(exception)> at offset N (opcode NAME)`, where N is
the offset of the opcode at fault ("pickle exhausted before seeing STOP" has
no opcode). Most inputs are checked against pickletools.dis in this process
(as the CLI runs it); a sample, and all with --full, against a real
`python3 -m pickletools FILE` subprocess as well.

    python3 tests/dis_test.py --bin build/bin [--full] [--keep DIR]
"""
import argparse
import collections
import copyreg
import io
import os
import pickle
import pickletools
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---- values to pickle ---------------------------------------------------------

class Plain:
    def __init__(self):
        self.name = "pickle"
        self.n = 3


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1
        self.b = [2]


class WithNewargsEx:
    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, x=0, *, y=0):
        self.x, self.y = x, y

    def __getnewargs_ex__(self):
        return (self.x,), {"y": self.y}


class Reducer:
    def __reduce__(self):
        return (Reducer._make, (1, "two"), {"s": 3}, iter([4, 5]), iter([("k", "v")]))

    @staticmethod
    def _make(a, b):
        return Reducer()

    def __setstate__(self, state):
        self.state = state

    def append(self, x):
        pass

    def extend(self, xs):
        pass

    def __setitem__(self, k, v):
        pass


class Outer:
    class Inner:
        pass


class MyList(list):
    pass


class MyDict(dict):
    pass


def values():
    rec = []
    rec.append(rec)
    shared = [1, 2]
    d = {}
    d["self"] = d
    t_cycle = []
    t = (t_cycle,)
    t_cycle.append(t)
    vals = [
        None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31,
        2**31, 2**63, -2**63 - 1, 2**64, 10**100, -(10**100), 2**2000,
        0.0, -0.0, 1.5, 1e16, 1e-5, 1e300, 5e-324, float("inf"), float("-inf"),
        float("nan"), 0.1, 1 / 3, 12345678901234567890.0,
        "", "a", "é", "\u20ac", "\U0001f600", "'", '"', "'\"", "a\nb\\c\t\r\x00",
        "\ud800", "\udfff x", "\x7f\x80\x9f\xa0\xad", "x" * 300, "\u2028\u00a0 ",
        b"", b"\x00", b"'", b"\"'", b"\xff" * 3, bytes(range(256)), b"y" * 300,
        bytearray(b"ba"), bytearray(), bytearray(b"'"), bytearray(b"'\""), bytearray(b"\"\\"),
        (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), tuple(range(20)),
        [], [1], list(range(30)), {}, {"a": 1, "b": [2, 3]}, {1: 2, (1, 2): "t"},
        set(), {1, 2, 3}, frozenset(), frozenset({"x"}),
        rec, [shared, shared], d, t, (shared, [shared]),
        Plain(), Slotted(), WithNewargsEx(5, y=6), Reducer(), Outer.Inner(),
        MyList([1, 2]), MyDict(a=1), Plain, len, pickle.loads, Outer.Inner,
        collections.OrderedDict(a=1), collections.deque([1, 2]),
        [Plain(), Plain()], {"deep": [[[[[[[[[[1]]]]]]]]]]},
        [[i, str(i), float(i)] for i in range(50)],
        {str(i): i for i in range(1500)},
        list(range(2000)),
        "z" * 70000, b"q" * 70000,
        complex(1, 2), range(3), slice(1, 2), type(None), NotImplemented, Ellipsis,
    ]
    big = [Plain() for _ in range(3)]
    vals.append(big * 2)
    return vals


class PersPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, str) and obj.startswith("pid:"):
            return obj[4:]
        if isinstance(obj, tuple) and obj and obj[0] == "PID":
            return obj
        return None


class PyPersPickler(pickle._Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, str) and obj.startswith("pid:"):
            return obj[4:]
        return None


class Ext1:
    pass


class Ext2:
    pass


class Ext4:
    pass


def generated_pickles():
    """name -> bytes of valid pickles made by this python3."""
    out = {}
    vals = values()
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        for i, v in enumerate(vals):
            try:
                data = pickle.dumps(v, proto)
            except Exception:
                continue
            out["gen_p%d_%03d.pkl" % (proto, i)] = data
            if i % 4 == 0:
                try:
                    out["py_p%d_%03d.pkl" % (proto, i)] = pickle._dumps(v, proto)
                except Exception:
                    pass
            if i % 3 == 0:
                out["opt_p%d_%03d.pkl" % (proto, i)] = pickletools.optimize(data)
        # persistent ids
        for cls, tag in ((PersPickler, "c"), (PyPersPickler, "py")):
            f = io.BytesIO()
            try:
                cls(f, proto).dump(["pid:abc", "pid:", {"k": "pid:x y"}, ("PID", 1)])
                out["pers_%s_p%d.pkl" % (tag, proto)] = f.getvalue()
            except Exception:
                pass
        # extension codes
        for cls, code in ((Ext1, 0x7f), (Ext2, 0x1234), (Ext4, 0x12345678)):
            copyreg.add_extension(__name__, cls.__qualname__, code)
        try:
            out["ext_p%d.pkl" % proto] = pickle.dumps([Ext1, Ext2, Ext4, Ext1], proto)
        finally:
            for cls, code in ((Ext1, 0x7f), (Ext2, 0x1234), (Ext4, 0x12345678)):
                copyreg.remove_extension(__name__, cls.__qualname__, code)
    # out-of-band buffers (protocol 5)
    bufs = []
    data = pickle.dumps([pickle.PickleBuffer(b"abc"), pickle.PickleBuffer(bytearray(b"rw"))],
                        5, buffer_callback=bufs.append)
    out["oob_p5.pkl"] = data
    out["inband_p5.pkl"] = pickle.dumps([pickle.PickleBuffer(b"abc"),
                                         pickle.PickleBuffer(bytearray(b"rw"))], 5)
    # several pickles in one stream: pickletools' CLI disassembles the first only
    out["stream3.pkl"] = pickle.dumps([1], 0) + pickle.dumps({"a": 2}, 2) + pickle.dumps(3.5, 5)
    out["trailing_junk.pkl"] = pickle.dumps("x", 4) + b"\xff\xfe garbage"
    return out


PY2_SCRIPT = r'''
import pickle, cPickle, sys, base64
class Old: pass
class New(object):
    def __init__(self): self.a = 1
o = Old(); o.x = u"\u20ac"
vals = [u"uni\u20ac\n\\", "str'\"\x00\xff", "plain", 12L, -(10**30), 3.25, 1e100, [1, "a", u"b"],
        {"k": (1, 2L)}, o, New(), Old, set([1]), frozenset(["f"]), True, None, 2**40, (),
        u"\ud800", -0.0, float("inf")]
for proto in (0, 1, 2):
    for i, v in enumerate(vals):
        for mod in (pickle, cPickle):
            try:
                data = mod.dumps(v, proto)
            except Exception:
                continue
            sys.stdout.write("%s_p%d_%02d %s\n" % (mod.__name__, proto, i, base64.b64encode(data)))
'''


def python2_pickles():
    out = {}
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return out
    exe = None
    versions = os.path.join(root, "versions")
    if os.path.isdir(versions):
        for v in sorted(os.listdir(versions)):
            if v.startswith("2.7"):
                cand = os.path.join(versions, v, "bin", "python")
                if os.path.exists(cand):
                    exe = cand
    if not exe:
        return out
    import base64
    try:
        res = subprocess.run([exe, "-c", PY2_SCRIPT], capture_output=True, text=True, timeout=60)
    except Exception:
        return out
    for line in res.stdout.splitlines():
        name, b64 = line.split()
        out["py2_%s.pkl" % name] = base64.b64decode(b64)
    return out


# ---- invalid inputs -------------------------------------------------------------

def handcrafted_invalid():
    L = struct.pack
    cases = [
        b"", b"(", b"\xff", b"\x80", b"\x80\x04\x95", b"K", b"M\x01", b"J\x01\x02",
        b"I12\n", b"I12", b"Iabc\n.", b"I1_000\n.", b"I_1\n.", b"I" + b"1" * 4301 + b"\n.",
        b"I" + b"1" * 5000 + b"x\n.", b"I 00\n.", b"I00\n.", b"I01\n.", b"I+7\n.", b"I-0\n.",
        b"I" + b"x" * 300 + b"\n.", b"I1\x002\n.", b"L12L\n.", b"L12\n.", b"LL\n.", b"L" + b"9" * 5000 + b"L\n.",
        b"F1.5\n.", b"Fnan\n.", b"F-inf\n.", b"F1e500\n.", b"F1e-400\n.", b"Fabc\n.", b"F1_0.5\n.",
        b"F1__0\n.", b"F 2.5 \n.", b"F2.4703282292062328e-324\n.", b"F0x10\n.", b"F1e\n.",
        b"S'abc'\n.", b"S\"a'b\"\n.", b"Sabc\n.", b"S'abc\n.", b"S'\n.", b"S'a\\x4'\n.",
        b"S'a\\'\n.", b"S'\\777\\q\\n'\n.", b"S'\\xff'\n.", b"S'\xc3\xa9'\n.", b"S''\n.",
        b"V\\u20ac\n.", b"V\\u20\n.", b"V\\U00110000\n.", b"V\\ud800\n.", b"V\xe9\n.", b"Vabc",
        b"X\x02\x00\x00\x00\xc3\xa9.", b"X\x02\x00\x00\x00\xc3(.", b"X\x01\x00\x00\x00\xff.",
        b"X\x03\x00\x00\x00\xed\xa0\x80.", b"X\x02\x00\x00\x00\xed\xa0.", b"X\x04\x00\x00\x00\xf0\x9f\x98.",
        b"\x8c\x03\xe2\x82\xac.", b"\x8c\x05ab", b"X\xff\xff\xff\xff", b"\x8d" + L("<Q", 2**62) + b"abc",
        b"\x8d" + L("<Q", 2**64 - 1) + b"abc", b"\x8e" + L("<Q", 2**63) + b"x",
        b"\x96" + L("<Q", 2**62) + b"x", b"\x96\x02" + b"\x00" * 7 + b"ab.",
        b"T\xff\xff\xff\xff.", b"T\x01\x00\x00\x00\xe9.", b"U\x03ab", b"B\x05\x00\x00\x00ab",
        b"C\x01'.", b"\x8a\x00.", b"\x8a\x02\xff\x7f.", b"\x8a\x01\x80.", b"\x8b\xff\xff\xff\xff.",
        b"\x8b\x10\x00\x00\x00abc", b"\x8b" + L("<i", 1900) + b"\x01" * 1900 + b".",
        b"\x8b" + L("<i", 1785) + b"\xff" * 1784 + b"\x7f.", b"\x8b" + L("<i", 1790) + b"\xff" * 1789 + b"\x7f.",
        b"\x8b" + L("<i", 4000) + b"\x01" + b"\x00" * 3999 + b".",
        b"G\x3f\xf8\x00\x00\x00\x00\x00\x00.", b"G\x7f\xf8\x00\x00\x00\x00\x00\x01.", b"G\x00",
        b"N", b"NN.", b".", b"0.", b"(.", b"(0.", b"(1.", b"N1.", b"(l.", b"l.", b"(t.", b"N2.",
        b"(N2t.", b"(]2t.", b"(2t.", b"(N20t.", b"(N22t.", b"]N\x85(e.", b"](e.", b"N(\x85t.",
        b"p0\n.", b"Np0\np0\n.", b"(p0\n.", b"Ng0\n.", b"Np1\ng1\n.", b"Np01\ng1\n.", b"Np00\ng00\n.",
        b"Nh\x00.", b"Nq\x00h\x01.", b"Nr\x00\x00\x00\x00j\x00\x00\x00\x00.", b"\x94.", b"(\x94.",
        b"N\x94\x94.", b"N\x94q\x01\x94.", b"Nq\x01\x94\x94.", b"Np-5\ng-5\n.", b"Np" + b"7" * 30 + b"\ng" + b"7" * 30 + b"\n.",
        b"c__main__\nFoo\n.", b"c__main__\n.", b"c__main__\nF\\x\n.", b"c\xc3\xa9\nx\n.", b"cmod\\n\nname\n.",
        b"P\\x41\n.", b"Pabc", b"(c__main__\nFoo\ni.", b"i__main__\nFoo\n.", b"(o.", b"(No.",
        b"\x80\x02N.", b"\x80\xffN.", b"\x80", b"\x95\x05\x00\x00\x00\x00\x00\x00\x00N.", b"\x95\x05",
        b"\x82\x01.", b"\x83\x01\x00.", b"\x84\xff\xff\xff\xff.", b"\x97\x98.", b"\x98.",
        b"N\x93.", b"\x8c\x01a\x8c\x01b\x93.", b"}(N.", b"}(NNu.", b"}(Nu.", b"}NNs.", b"\x8f(K\x01\x90.",
        b"(K\x01\x91.", b"(K\x01\x91\x85.", b"N\x92.", b"NNN\x92.", b"NN\x81.", b"NNR.", b"NNb.",
        b"NQ.", b"(((((((N.", b"(((N" + b"0" * 4 + b".", b"(2", b"(N(N(Nttt.", b"(\x32t.",
        b"N\x01", b"N&", b"NZ.", b"N\x00.", b"\n", b"I\n.", b"F\n.", b"L\n.",
        b"S'\\\n'\n.", b"S'a\\\nb'\n.", b"(((l" * 10 + b".",
        b"\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8c\x01a\x94h\x00h\x01.",
    ]
    # Deep MARK nesting with a huge indentation.
    cases.append(b"(" * 2000 + b"N" + b"t" * 2000 + b".")
    return {"bad_%03d.pkl" % i: c for i, c in enumerate(cases)}


def mutations(valid, rng, count):
    out = {}
    names = sorted(valid)
    for k in range(count):
        name = rng.choice(names)
        data = bytearray(valid[name])
        if not data:
            continue
        how = rng.randrange(4)
        if how == 0:
            data = data[: rng.randrange(len(data))]
        elif how == 1:
            pos = rng.randrange(len(data))
            data[pos] = rng.randrange(256)
        elif how == 2:
            pos = rng.randrange(len(data) + 1)
            data[pos:pos] = bytes([rng.randrange(256)])
        else:
            pos = rng.randrange(len(data))
            del data[pos:pos + rng.randrange(1, 4)]
        out["mut_%04d_%s" % (k, name)] = bytes(data)
    return out


# ---- the expected result ----------------------------------------------------------

def opcode_label(data, offset):
    if offset >= len(data):
        return None
    op = pickletools.code2op.get(chr(data[offset]))
    return op.name if op else "0x%02x" % data[offset]


def expected_for(data):
    """(stdout text, None) or (stdout text, expected stderr line)."""
    out = io.StringIO()
    try:
        pickletools.dis(io.BytesIO(data), out)
        return out.getvalue(), None
    except Exception as exc:
        err = exc
    text = out.getvalue()
    # Where did it fail? genops faults (reading an opcode or its argument)
    # happen before anything of that opcode is printed.
    ends = []
    genops_exc = None
    try:
        for _op, _arg, _pos, end in pickletools._genops(io.BytesIO(data), yield_end_pos=True):
            ends.append(end)
    except Exception as e:
        genops_exc = e
    prefixes = [line for line in text.split("\n") if line[:5].strip().isdigit() and line[5:6] == ":"]
    if genops_exc is not None and len(prefixes) == len(ends) and str(genops_exc) == str(err) \
            and (not text or text.endswith("\n")):
        offset = ends[-1] if ends else 0
    else:
        offset = int(prefixes[-1][:5])
    msg = str(err)
    label = opcode_label(data, offset)
    if msg == "pickle exhausted before seeing STOP":
        label = None
    line = "pickletool: error: %s at offset %d" % (msg, offset)
    if label:
        line += " (opcode %s)" % label
    return text, line


def run_tool(tool, path):
    res = subprocess.run([tool, "dis", path], capture_output=True, timeout=60)
    return res.returncode, res.stdout, res.stderr


def run_cli(path):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    res = subprocess.run([sys.executable, "-m", "pickletools", path], capture_output=True,
                         timeout=60, env=env)
    return res.returncode, res.stdout


def pickles_in(data):
    """How many pickles python3 loads from the stream, or None if it fails."""
    f = io.BytesIO(data)
    n = 0
    try:
        while f.tell() < len(data):
            pickle.load(f)
            n += 1
    except Exception:
        return None
    return n


def check_show(tool, tmp, valid):
    """`pickletool show` and `show --json` on the generated pickles that
    python3 loads (no hooks needed): exit 0, one JSON document per pickle."""
    import json
    passed = failed = 0
    for name in sorted(valid):
        data = valid[name]
        count = pickles_in(data)
        if not count:
            continue
        path = os.path.join(tmp, "show_" + name)
        with open(path, "wb") as fh:
            fh.write(data)
        problems = []
        res = subprocess.run([tool, "show", "--json", path], capture_output=True, timeout=60)
        lines = res.stdout.split(b"\n")
        if res.returncode != 0:
            problems.append("show --json exit %d: %r" % (res.returncode, res.stderr[:300]))
        elif lines[-1] != b"" or len(lines) - 1 != count:
            problems.append("show --json printed %d lines for %d pickles" % (len(lines) - 1, count))
        else:
            for line in lines[:-1]:
                try:
                    doc = json.loads(line)
                    if json.dumps(doc).encode("ascii") != line:
                        problems.append("JSON not as json.dumps writes it")
                    if doc["root"] != 0 or not doc["nodes"]:
                        problems.append("bad document")
                except Exception as e:
                    problems.append("JSON unreadable: %s" % e)
        res = subprocess.run([tool, "show", path], capture_output=True, timeout=60) \
            if passed % 4 == 0 else None
        if res is not None and res.returncode != 0:
            problems.append("show exit %d: %r" % (res.returncode, res.stderr[:300]))
        os.unlink(path)
        if problems:
            failed += 1
            if failed <= 10:
                print("FAIL show %s: %s" % (name, "; ".join(problems)))
        else:
            passed += 1
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory holding pickletool")
    ap.add_argument("--full", action="store_true", help="check every input against the CLI too")
    ap.add_argument("--keep", help="write the generated inputs to this directory")
    ap.add_argument("--mutations", type=int, default=600)
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args()
    tool = os.path.join(args.bin, "pickletool")
    if not os.path.exists(tool):
        print("dis: pickletool not found in %s" % args.bin)
        return 1

    inputs = {}
    corpus = os.path.join(ROOT, "corpus")
    if os.path.isdir(corpus):
        for dirpath, _dirs, files in os.walk(corpus):
            for f in sorted(files):
                p = os.path.join(dirpath, f)
                if os.path.getsize(p) <= 16 << 20:
                    with open(p, "rb") as fh:
                        inputs["corpus/" + os.path.relpath(p, corpus)] = fh.read()
    valid = generated_pickles()
    valid.update(python2_pickles())
    inputs.update(valid)
    inputs.update(handcrafted_invalid())
    rng = random.Random(args.seed)
    inputs.update(mutations(valid, rng, args.mutations))

    tmp = args.keep or tempfile.mkdtemp(prefix="dis_test_")
    os.makedirs(tmp, exist_ok=True)
    passed = failed = rejected = 0
    cli_checked = 0
    def check(idx, name):
        """Problems of one input (runs in a worker thread: subprocesses)."""
        data = inputs[name]
        path = os.path.join(tmp, name.replace("/", "__"))
        with open(path, "wb") as fh:
            fh.write(data)
        want_out, want_err = expected[name]
        want_bytes = want_out.encode("utf-8")
        problems = []
        cli = args.full or idx % 25 == 0 or name.startswith("bad_")
        if cli:
            rc_py, cli_out = run_cli(path)
            if cli_out != want_bytes:
                problems.append("in-process pickletools.dis differs from the CLI")
            if (rc_py != 0) != (want_err is not None):
                problems.append("CLI exit %d disagrees with in-process result" % rc_py)
        rc, got_out, got_err = run_tool(tool, path)
        if got_out != want_bytes:
            problems.append("stdout differs")
        if want_err is None:
            if rc != 0:
                problems.append("exit %d, expected 0; stderr: %r" % (rc, got_err[:300]))
        else:
            if rc != 1:
                problems.append("exit %d, expected 1" % rc)
            if got_err.decode("utf-8", "replace") != want_err + "\n":
                problems.append("stderr %r, expected %r" % (got_err[:400], want_err[:400]))
        if not args.keep:
            os.unlink(path)
        return name, problems, cli, want_bytes, got_out

    # pickletools in this process first (it holds the GIL), then the
    # subprocesses from a few threads.
    names = sorted(inputs)
    expected = {name: expected_for(inputs[name]) for name in names}
    rejected = sum(1 for name in names if expected[name][1] is not None)
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda item: check(*item), enumerate(names)))
    for name, problems, cli, want_bytes, got_out in results:
        cli_checked += cli
        if problems:
            failed += 1
            if failed <= 20:
                print("FAIL %s: %s" % (name, "; ".join(problems)))
                if "stdout differs" in problems:
                    a = want_bytes.split(b"\n")
                    b = got_out.split(b"\n")
                    for k in range(max(len(a), len(b))):
                        x = a[k] if k < len(a) else None
                        y = b[k] if k < len(b) else None
                        if x != y:
                            print("   line %d: expected %r" % (k + 1, x if x is None else x[:200]))
                            print("   line %d:      got %r" % (k + 1, y if y is None else y[:200]))
                            break
        else:
            passed += 1
    if not args.keep:
        try:
            os.rmdir(tmp)
        except OSError:
            pass
    print("dis: %d passed, %d failed (%d rejected inputs, %d also checked against the CLI)"
          % (passed, failed, rejected, cli_checked))
    show_tmp = tempfile.mkdtemp(prefix="show_test_")
    show_passed, show_failed = check_show(tool, show_tmp, valid)
    os.rmdir(show_tmp)
    print("show: %d passed, %d failed" % (show_passed, show_failed))
    return 1 if failed or show_failed else 0


if __name__ == "__main__":
    sys.exit(main())
