"""Known divergences between the codec and CPython (CONFORMANCE.md §6).

One table, DIVERGENCES: each entry has
  id        short name
  input     the bytes (or a zero-argument function making them)
  cpython   what CPython 3.11's C pickle module does
  codec     what the codec does instead
  category  resource-limit | cpython-oom-or-recursion | c-vs-python-disagree
            | cpython-bug-not-copied | not-implemented (outside CONFORMANCE.md
            §6's allowed list: a gap of the codec, kept visible here until closed)
            | references-disagree (the real-class reference, oracle/realclass.py,
            and the inert one disagree; the entry says which one the codec follows)
  why       the reason
  evidence  a function returning (holds: bool, detail: str) that
            demonstrates CPython's behaviour *now*, on this machine.
  edge_case (optional, default True) False keeps the input out of
            ci/diffcheck's edge cases (oracle/gen_fresh.py): one whose recode
            is too big to hold there.

    python3 oracle/divergences.py            # list
    python3 oracle/divergences.py --check    # run every demonstration; exit 1 if one no longer holds

Demonstrations that may allocate a lot run in a child process under
resource.setrlimit(RLIMIT_AS) so they cannot exhaust this machine.
"""

import argparse
import os
import pickle
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def run_limited(code, limit_mb, timeout=60):
    """Run Python `code` in a child whose address space is capped; -> (rc, stdout, stderr)."""
    prelude = ("import resource, sys\n"
               "_l = %d << 20\n"
               "resource.setrlimit(resource.RLIMIT_AS, (_l, _l))\n"
               "sys.path.insert(0, %r)\n") % (limit_mb, HERE)
    env = dict(os.environ, PYTHONHASHSEED="0")
    p = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


# -- inputs -----------------------------------------------------------------

def _memo_input(index):
    # PROTO 4, NONE, LONG_BINPUT index, STOP: 9 bytes.
    return b"\x80\x04N" + b"r" + index.to_bytes(4, "little") + b"."


def deep_list_input(depth=100000):
    # EMPTY_LIST x depth, APPEND x (depth-1): lists nested `depth` deep.
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def long_decimal_input(digits=5000):
    return b"L" + b"1" * digits + b"L\n."


# -- demonstrations -----------------------------------------------------------

def ev_memo_huge_index():
    code = """
    import pickle, tracemalloc
    data = b"\\x80\\x04Nr" + (0x00ffffff).to_bytes(4, "little") + b"."
    tracemalloc.start()
    pickle.loads(data)
    peak = tracemalloc.get_traced_memory()[1]
    big = b"\\x80\\x04Nr" + (0x0fffffff).to_bytes(4, "little") + b"."
    try:
        pickle.loads(big)
        r = "accepted"
    except MemoryError:
        r = "MemoryError"
    print(len(data), peak, r)
    """
    rc, out, err = run_limited(code, 1024)
    if rc != 0:
        return False, "child failed: " + err[-300:]
    n, peak, r = out.split()
    holds = int(peak) >= 200 << 20 and r == "MemoryError"
    return holds, ("%s-byte input with LONG_BINPUT 0x00ffffff: tracemalloc peak %.0f MiB; "
                   "index 0x0fffffff under a 1 GiB address-space limit: %s" % (n, int(peak) / 1048576.0, r))


def ev_deep_nesting():
    code = """
    import pickle, sys
    sys.path.insert(0, %r)
    from divergences import deep_list_input
    v = pickle.loads(deep_list_input())
    try:
        pickle.dumps(v, 4)
        print("dumped")
    except RecursionError as e:
        print("RecursionError:", e)
    """ % HERE
    rc, out, err = run_limited(code, 2048)
    holds = rc == 0 and out.startswith("RecursionError")
    return holds, out or err[-300:]


def ev_int_str_digits_load():
    try:
        pickle.loads(long_decimal_input())
    except ValueError as e:
        return True, "loads: ValueError: %s" % e
    return False, "accepted"


def deep_marks_input(depth=100001):
    # MARK x depth, TUPLE x depth: tuples nested `depth` deep, `depth` MARKs open at once.
    return b"(" * depth + b"t" * depth + b"."


def ev_deep_marks():
    code = """
    import pickle, sys
    sys.path.insert(0, %r)
    from divergences import deep_marks_input
    v = pickle.loads(deep_marks_input())
    d = 1
    while v:
        v = v[0]
        d += 1
    print(d)
    """ % HERE
    rc, out, err = run_limited(code, 1024)
    holds = rc == 0 and out == "100001"
    return holds, ("pickle.loads of 100001 open MARKs (200003 bytes): tuples nested %s deep" % out
                   if rc == 0 else err[-300:])


def ev_frame_crossing():
    data = b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00M\x01\x00."
    c = pickle.loads(data)
    try:
        pickle._loads(data)
        py = "accepted"
    except pickle.UnpicklingError as e:
        py = "UnpicklingError: %s" % e
    return c == 1 and py.startswith("UnpicklingError"), "C: %r; pure Python: %s" % (c, py)


def frame_file_vs_buffer_input():
    # FRAME of 5 bytes holding "K\x01.K\x02", then ".": two pickles, 1 and 2.
    return b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.K\x02."


def ev_frame_file_vs_buffer():
    import io
    data = frame_file_vs_buffer_input()

    def stream(f):
        out = []
        while f.tell() < len(data):
            try:
                out.append(pickle.load(f))
            except Exception as e:
                out.append("%s: %s" % (type(e).__name__, e))
                break
        return out
    plain = stream(io.BytesIO(data))
    buffered = stream(io.BufferedReader(io.BytesIO(data)))
    one = pickle.loads(data)
    holds = plain != buffered and buffered == [1, 2] and one == 1
    return holds, ("pickle.load on io.BytesIO: %r; on io.BufferedReader (peek): %r; pickle.loads: %r"
                   % (plain, buffered, one))


def codecs_utf16_input():
    # _codecs.encode('ab', 'utf16') called by REDUCE at protocol 2.
    return b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x05\x00\x00\x00utf16\x86R."


def ev_codecs_evaluated():
    out = pickle.loads(codecs_utf16_input())
    return out == b"\xff\xfea\x00b\x00", "pickle.loads -> %r" % (out,)


# Canonical names (codecs.lookup(name).name) of the codecs the codec evaluates.
EVALUATED_CODECS = ("iso8859-1", "ascii", "utf-8")


def _unevaluated_codec(obj, encoding, errors, any_obj=False):
    """Would the codec keep this _codecs.encode/bytes/bytearray call inert?
    any_obj: _codecs.encode, which hands any object to the codec (bytes to
    'hex', say), so a codec not run keeps the call inert whatever obj is;
    bytes() and bytearray() refuse a non-str before any codec is looked up."""
    import codecs
    if not (isinstance(obj, str) or any_obj) or not isinstance(encoding, str):
        return False
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError, ValueError):
        return False
    if name not in EVALUATED_CODECS:
        return True
    if isinstance(obj, str) and isinstance(errors, str) and errors != "strict":
        try:
            obj.encode(encoding)
        except UnicodeError:
            return True
    return False


def uses_unevaluated_codec(data):
    """True if loading `data` (a stream) calls a codec the codec does not run."""
    import _codecs
    import io
    import inert
    hits = []

    def record(real, args, kw):
        if real is _codecs.encode:
            obj = args[0] if args else kw.get("obj")
            enc = args[1] if len(args) > 1 else kw.get("encoding", "utf-8")
        else:
            obj = args[0] if args else kw.get("source")
            enc = args[1] if len(args) > 1 else kw.get("encoding")
        err = args[2] if len(args) > 2 else kw.get("errors")
        if _unevaluated_codec(obj, enc, err, any_obj=real is _codecs.encode):
            hits.append(enc)

    def spy_type(real):
        # REDUCE calls the type (the metaclass's __call__); NEWOBJ and
        # NEWOBJ_EX call its __new__, which only bytes' reads its arguments.
        class Meta(type):
            def __call__(cls, *args, **kw):
                record(real, args, kw)
                return real(*args, **kw)

        def new(cls, *args, **kw):
            if real is bytes:
                record(real, args, kw)
            return real.__new__(real, *args, **kw)
        return Meta(real.__name__, (real,), {"__new__": new})

    spies = {bytes: spy_type(bytes), bytearray: spy_type(bytearray)}

    class Spy(inert.InertUnpickler):
        def find_class(self, module, name):
            real = inert.InertUnpickler.find_class(self, module, name)
            if real in spies:
                return spies[real]
            if real is not _codecs.encode:
                return real

            def call(*args, **kw):
                record(real, args, kw)
                return real(*args, **kw)
            return call

    f = io.BytesIO(bytes(data))
    try:
        while f.tell() < len(data) and not hits:
            reg = inert.Registry(None)
            u = Spy(f, reg, persistent=False)
            reg.unpickler = u
            reg.loading = True
            u.load()
    except Exception:
        pass
    return bool(hits)


def _accepted(answer):
    """An answer as ci/diffcheck gives it (("accept", bytes) / ("reject", msg))
    or as fuzz/diff_cpython.py does ("ok ..." / "rejected: ...")."""
    if isinstance(answer, tuple):
        return answer[0] == "accept"
    return str(answer).startswith("ok")


def _failed_import(message):
    """The module name of "... import of module 'x' failed" (the name as
    Python's repr quotes it: "os.'." in double quotes), or None."""
    import ast
    import re
    m = re.search(r"""import of module ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*") failed""", message)
    if m is None:
        return None
    try:
        return ast.literal_eval(m.group(1))
    except (ValueError, SyntaxError):
        return None


def _text(answer):
    return answer[1] if isinstance(answer, tuple) else str(answer)


def _empty_component_refused(data, codec_answer, cpython_answer):
    module = _failed_import(_text(codec_answer))
    return module is not None and has_empty_component(module)


# The python-only checks that need only the input and both answers (the
# others, set order, frames and the real classes, need the oracle's values:
# oracle/verdict.py applies them).
ANSWER_CHECKS = {
    "unevaluated-codec": lambda data, codec, cpython: uses_unevaluated_codec(data),
    "empty-component-module": _empty_component_refused,
}


def known_divergence(data, codec_answer=None, cpython_answer=None):
    """The id of the entry whose rules (codec-message, or a python-only check
    of ANSWER_CHECKS) `data` and the two answers exhibit, or None. Answers as
    ci/diffcheck gives them (("accept", bytes) / ("reject", msg)) or as
    fuzz/diff_cpython.py does ("ok ..." / "error ...")."""
    both = bool(codec_answer) and bool(cpython_answer)
    codec_refuses = both and _accepted(cpython_answer) and not _accepted(codec_answer)
    for e in DIVERGENCES:
        for r in e["rules"]:
            if r["rule"] == "python-only" and r["check"] in ANSWER_CHECKS:
                needs_answers = r["check"] != "unevaluated-codec"
                if (codec_refuses or not needs_answers) and ANSWER_CHECKS[r["check"]](
                        data, codec_answer, cpython_answer):
                    return e["id"]
            elif r["rule"] == "codec-message" and codec_refuses and r["codec"] in _text(codec_answer):
                return e["id"]
    return None


def persid_object_input():
    # A persistent id holding an object: (C.__new__(C),).
    return b"\x80\x02cm\nC\n)\x81\x85Q."


def ev_persid_text_of_object():
    import io

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return obj[1] if type(obj) is tuple and obj[:1] == ("pid",) else None
    o = object()
    f = io.BytesIO()
    Pickler(f, 0).dump(("pid", (o,)))
    out = f.getvalue()
    return (" at 0x%x>" % id(o)).encode() in out, "protocol 0 writes %r" % out


def ev_module_string_identity():
    out = pickle.dumps([set, len], 4)
    n = out.count(b"\x8c\x08builtins")
    return n == 2, "pickle.dumps([set, len], 4) writes 'builtins' %d times: %r" % (n, out)


def empty_component_module_input():
    return b"cos..b\nC\n."


def has_empty_component(module):
    return "." in module and not all(module.split("."))


def ev_empty_component_module():
    import types
    out = []
    for name in ("os..b", "s.", "a..b"):
        m = types.ModuleType(name)
        saved = sys.modules.get(name)
        sys.modules[name] = m
        C = type("C", (), {"__module__": name})
        m.C = C
        try:
            out.append((name, True, pickle.dumps(C, 0)))
        except pickle.PicklingError as e:
            out.append((name, False, str(e)))
        finally:
            if saved is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = saved
    holds = [ok for _, ok, _ in out] == [True, False, False]
    return holds, "; ".join("%s: %s" % (n, ("dumped %r" % r) if ok else r) for n, ok, r in out)


# The budget's other limits. Their defaults (pickletool's) are far above any
# input a test can hold (2^28 items, 8 GiB, 4 GiB); the strict budget
# (pickletool --strict-limits, Limits::strict()) shows each one, and CPython
# loads every input below.
STRICT_CONTAINER_LEN = 1 << 20
STRICT_TOTAL_BYTES = 256 << 20
STRICT_INPUT_BYTES = 1 << 24


def long_list_input(items=STRICT_CONTAINER_LEN + 1):
    # PROTO 4, EMPTY_LIST, MARK, NONE x items, APPENDS, STOP.
    return b"\x80\x04](" + b"N" * items + b"e."


def big_bytes_call_input(count=STRICT_TOTAL_BYTES):
    # builtins.bytes(count): a 24-byte input making `count` zero bytes.
    return b"\x80\x04cbuiltins\nbytes\nJ" + count.to_bytes(4, "little") + b"\x85R."


def long_input(total=STRICT_INPUT_BYTES + 1):
    # PROTO 4, BINBYTES of total - 8 zero bytes, STOP: `total` bytes in all.
    return b"\x80\x04B" + (total - 8).to_bytes(4, "little") + b"\0" * (total - 8) + b"."


# -- the two references (oracle/realclass.py: CPython with the real classes) --

def numpy_protocol_2_input():
    # pickle.dumps(numpy.arange(2, dtype='u1'), 2) (numpy 1.24): _reconstruct, then BUILD of the state.
    return (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02c_codecs\n"
            b"encode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\x08Rq\t(K\x01"
            b"K\x02\x85q\ncnumpy\ndtype\nq\x0bX\x02\x00\x00\x00u1q\x0c\x89\x88\x87q\rRq\x0e(K\x03X\x01\x00\x00\x00|"
            b"q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x10b\x89h\x03X\x02\x00\x00\x00\x00\x01q\x11h\x05"
            b"\x86q\x12Rq\x13tq\x14b.")


def cloudpickle_code_input():
    # cloudpickle.dumps(compile('1 + 1', '<divergence>', 'eval'), 4) (cloudpickle 2.2, CPython 3.11).
    return (b"\x80\x04\x95\x8c\x00\x00\x00\x00\x00\x00\x00\x8c\x17cloudpickle.cloudpickle\x94\x8c\r"
            b"_builtin_type\x94\x93\x94\x8c\x08CodeType\x94\x85\x94R\x94(K\x00K\x00K\x00K\x00K\x01K\x00C\x06"
            b"\x97\x00d\x00S\x00\x94K\x02\x85\x94))\x8c\x0c<divergence>\x94\x8c\x08<module>\x94h\tK\x01C\n\xf0"
            b"\x03\x01\x01\x01\xd8\x00\x05\x80\x05\x94C\x00\x94))t\x94R\x94.")


def bad_decimal_input():
    # decimal.Decimal('one'): the class refuses the string.
    return b"cdecimal\nDecimal\n(Vone\ntR."


def real_class_verdicts(make):
    """Under the libraries' Python (oracle/realclass.py): the inert
    reference's bytes at every protocol judged against CPython with the real
    classes.  -> (verdicts {q: verdict}, protocols where the two references'
    bytes differ), or raises with the child's error."""
    import json
    import realclass
    code = """
    import json, sys
    sys.path.insert(0, %r)
    import divergences, inert, realclass
    data = divergences.%s()
    refs = realclass.reference(data, range(6), trusted=True)
    codec, disagree = {}, []
    for q in range(6):
        try:
            mine = b"".join(inert.dumps(r.value, q) for r in inert.load_stream(data))
            codec[q] = ("accept", mine)
        except Exception as e:
            codec[q] = ("reject", str(e))
        real = refs.get("dumps", {}).get(q)
        if real is None or real[0] != "ok" or codec[q] != ("accept", real[1]):
            disagree.append(q)
    v = realclass.judge(data, range(6), codec, {q: True for q in range(6)}, trusted=True)
    print(json.dumps({"verdicts": {str(k): x for k, x in v.items()}, "disagree": disagree}))
    """ % (HERE, make)
    p = subprocess.run([realclass.LIBRARY_PYTHON, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, PYTHONHASHSEED="0"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[-400:])
    out = json.loads(p.stdout)
    return out["verdicts"], out["disagree"]


def _ev_real(make, entry_id, what):
    def ev():
        verdicts, disagree = real_class_verdicts(make)
        if "cannot" in verdicts:
            return False, "the real-class reference cannot answer: %s" % verdicts["cannot"]
        allowed = sorted(int(q) for q, v in verdicts.items() if v.get("divergence") == entry_id)
        other = sorted(int(q) for q, v in verdicts.items() if v["status"] not in ("agree", "allowed"))
        holds = bool(allowed) and not other and sorted(disagree) == allowed
        return holds, ("%s: the references disagree at protocols %s; judged %s there" % (
            what, ",".join(map(str, disagree)) or "none", entry_id if allowed else
            "; ".join("%s %s" % (q, v["status"]) for q, v in sorted(verdicts.items()))))
    return ev


def _ev_loads(make, limit_mb, what):
    def ev():
        code = """
        import pickle, sys
        from divergences import %s
        v = pickle.loads(%s())
        print(type(v).__name__, len(v))
        """ % (make, make)
        rc, out, err = run_limited(code, limit_mb)
        return rc == 0, ("pickle.loads of %s: %s" % (what, out)) if rc == 0 else err[-300:]
    return ev


# -- rules: how a consumer decides that a case exhibits an entry ---------------
#
# An entry applies to its own input, exactly (own_input_allowed: not those
# that are no difference). Its "rules" say where else it applies, each one machine-checkable; codec/gen/gen_divergences.py writes them
# into harness/divergence_table.hpp for the C++ harness, oracle/verdict.py
# applies them in Python.
#   codec-message     the codec refuses with a message containing `codec`
#                     while CPython accepts (a documented limit, a refusal)
#   cannot-answer-exception
#                     CPython's answer (or the oracle's standing for it) is
#                     this exception type: no verdict ("cannot answer")
#   cannot-answer-memo-index
#                     a memo index past `param` is stored: CPython's memo is an
#                     array that long, beyond a harness's memory
#   graph-predicate   re-decoding the codec's own bytes at `protocols` may not
#                     give the graph back, where `predicate` holds of it (pickle
#                     itself loses the information; decided in C++ by the harness)
#   python-only       decided by a check that needs the oracle's Python
#                     (`check`, applied by oracle/verdict.py)

# Categories whose entries are no difference from CPython's answer: the
# codec's own round trip (pickle-loses-information), bytes that encode the
# same value (equivalent: the verdict is "same"), no answer (cannot-answer).
# Their rules alone decide; their input is a demonstration, not an allowance.
NOT_A_DIFFERENCE = ("pickle-loses-information", "equivalent", "cannot-answer")


def own_input_allowed(entry):
    """Does a difference on the entry's own input count as the entry?"""
    return entry["category"] not in NOT_A_DIFFERENCE


CATEGORIES = ("resource-limit", "cpython-oom-or-recursion", "c-vs-python-disagree", "cpython-bug-not-copied",
              "not-implemented", "references-disagree", "pickle-loses-information", "environment",
              "equivalent", "cannot-answer")

# Beyond this memo index CPython cannot answer within a harness's memory:
# _pickle.c's memo is an array as long as the largest index (LONG_BINPUT
# 0x0fffffff allocates and clears 2 GiB).
MAX_MEMO_INDEX = 1 << 22


def codec_message(text):
    return {"rule": "codec-message", "codec": text}


def cannot_answer_exception(name):
    return {"rule": "cannot-answer-exception", "exception": name}


def cannot_answer_memo_index(limit):
    return {"rule": "cannot-answer-memo-index", "param": limit}


def graph_predicate(predicate, first, last):
    return {"rule": "graph-predicate", "predicate": predicate, "protocols": (first, last)}


def python_only(check):
    return {"rule": "python-only", "check": check}


# -- pickle loses information: the codec's own round trip ------------------------

def one_byte_bytes_input():
    # Two distinct b'a' objects at protocol 3 (SHORT_BINBYTES makes new objects).
    return b"\x80\x03]q\x00(C\x01aq\x01C\x01aq\x02e."


def ev_one_byte_bytes():
    v = pickle.loads(one_byte_bytes_input())
    back = {q: pickle.loads(pickle.dumps(v, q)) for q in range(6)}
    shared = [q for q in range(6) if back[q][0] is back[q][1]]
    return v[0] is not v[1] and shared == [0, 1, 2], (
        "two distinct b'a' read back as one object at protocols %s" % shared)


def global_renamed_input():
    # STACK_GLOBAL copy_reg._reconstructor: below protocol 3 fix_imports reads
    # the name as copyreg's.
    return b"\x80\x04\x8c\x08copy_reg\x8c\x0e_reconstructor\x93."


def ev_global_renamed():
    renamed = pickle.loads(b"ccopy_reg\n_reconstructor\n.")
    import copyreg
    return renamed is copyreg._reconstructor, "GLOBAL 'copy_reg _reconstructor' at protocol 0 loads %r" % renamed


def newobj_ex_input():
    # m.C.__new__(m.C, a=1) by NEWOBJ_EX.
    return b"\x80\x04\x8c\x01m\x8c\x01C\x93)}\x8c\x01aK\x01s\x92."


def ev_newobj_ex():
    import types
    m = types.ModuleType("divergences_newobj_ex")
    exec("class C:\n    def __getnewargs_ex__(self):\n        return (), {'a': 1}\n"
         "    def __new__(cls, **kw):\n        return object.__new__(cls)\n", m.__dict__)
    sys.modules[m.__name__] = m
    try:
        out = {q: pickle.dumps(m.C(), q) for q in (2, 3, 4)}
    finally:
        del sys.modules[m.__name__]
    holds = all(b"functools" in out[q] and b"partial" in out[q] for q in (2, 3)) and b"\x92" in out[4]
    return holds, "protocols 2-3 write functools.partial(cls.__new__, ...): %r" % out[2][:60]


def nan_payload_input():
    # BINFLOAT: a NaN with payload 1.
    return b"\x80\x04G\x7f\xf8\x00\x00\x00\x00\x00\x01."


def ev_nan_payload():
    import struct
    v = pickle.loads(nan_payload_input())
    text = pickle.dumps(v, 0)
    back = struct.pack(">d", pickle.loads(text))
    return text == b"Fnan\n." and back == b"\x7f\xf8" + b"\x00" * 6, (
        "protocol 0 writes %r, read back as %s" % (text, back.hex()))


# -- equivalent bytes, and inputs the oracle cannot answer -----------------------

def set_order_input():
    # {2, 1} written in the order 2, 1 (CPython writes a set in hash order: 1, 2).
    return b"\x80\x04\x8f(K\x02K\x01\x90."


def ev_set_order():
    import setorder
    data = set_order_input()
    v = pickle.loads(data)
    cpython = pickle.dumps(v, 4)
    codec = b"\x80\x04\x95\t" + b"\x00" * 7 + b"\x8f\x94(K\x02K\x01\x90."   # pickletool recode --protocol 4
    verdict, note = setorder.set_order_equivalent(v, 4, cpython, codec)
    return cpython != data and verdict is True, "CPython writes %r; the input order: %s" % (cpython, note)


def nested_on_builtin_input():
    # A global nested under _codecs.encode, beside a 1-byte bytes (which CPython
    # writes with _codecs.encode below protocol 3).
    return b"](C\x01\x9fc_codecs\nencode.x\ne."


def ev_nested_on_builtin():
    import inert
    got = inert.redump(nested_on_builtin_input(), range(6))[0][1]
    names = sorted({v[0] for ok, v in got.values() if not ok})
    return names == ["NestedOnBuiltin"], "the oracle's dump at 0-5: %s" % ", ".join(names)


DIVERGENCES = [
    {
        "id": "codecs-not-evaluated",
        "input": codecs_utf16_input,
        "cpython": "runs the named codec: _codecs.encode('ab', 'utf16') is b'\\xff\\xfea\\x00b\\x00'",
        "codec": "evaluates _codecs.encode, bytes(s, enc) and bytearray(s, enc) for the latin-1, "
                 "ascii and utf-8 codecs (every alias), rejects names codecs.lookup() rejects with "
                 "CPython's LookupError, and keeps a call naming any other codec (or needing a "
                 "non-strict error handler) as an inert call",
        "category": "not-implemented",
        "why": "pickle itself only writes latin1; running the other 100-odd codecs means "
               "reimplementing them. Outside CONFORMANCE.md §6's allowed list: a known gap",
        "rules": [python_only("unevaluated-codec")],
        "evidence": ev_codecs_evaluated,
    },
    {
        "id": "persid-text-of-object",
        "input": persid_object_input,
        "cpython": "protocol 0 writes a persistent id as PERSID str(pid): for a pid holding an object, "
                   "its repr, address included ('(<object object at 0x7f...>,)')",
        "codec": "writes str(pid) for pids of scalars, globals (as classes: <class 'module.qualname'>), "
                 "tuples and lists of them (a PyTorch storage id, a ZODB reference); refuses any other "
                 "pid at protocol 0 with \"cannot write a persistent id of type 'object' at protocol 0\" "
                 "(PicklingError); from protocol 1 (BINPERSID) it writes every pid as CPython does",
        "category": "cpython-bug-not-copied",
        "why": "an address is not data: the text cannot be reproduced, and it cannot be read back "
               "(CPython's own comment on the line: 'XXX: Should it check whether the pid contains "
               "embedded newlines?')",
        "rules": [codec_message("cannot write a persistent id of type"),
                  codec_message("persistent id nested too deeply")],
        "evidence": ev_persid_text_of_object,
    },
    {
        "id": "memo-huge-sparse-index",
        "input": lambda: _memo_input(0x0FFFFFFF),
        "cpython": "LONG_BINPUT/BINPUT store into a dense array sized to the index: a 9-byte input "
                   "with index 0x00ffffff allocates ~256 MiB, 0x0fffffff ~4 GiB (MemoryError under a limit)",
        "codec": "stores the memo sparsely: any index costs one entry (this input loads as None "
                 "within the memory bound of 64 MiB + 64 bytes per input byte); its budget counts "
                 "distinct entries (Limits::max_memo_entries, 2^24 by default, 2^16 strict: one more is "
                 "refused, 'the memo exceeds N entries (max_memo_entries)'); never allocates "
                 "proportionally to the index",
        "category": "resource-limit",
        "why": "memory must stay bounded by the input size and the configured budget (§8)",
        "rules": [cannot_answer_memo_index(MAX_MEMO_INDEX), cannot_answer_exception("MemoryError"),
                  codec_message("(max_memo_entries)")],
        "evidence": ev_memo_huge_index,
    },
    {
        "id": "deep-nesting-dump-recursion",
        "input": deep_list_input,
        "cpython": "loads nests 100000 lists (the C unpickler is iterative); dumps raises RecursionError "
                   "('maximum recursion depth exceeded while pickling an object')",
        "codec": "decodes it (the depth budget counts open MARKs, not this nesting) and re-encodes it "
                 "iteratively: exactly the bytes CPython writes when its pickler is given the stack "
                 "(recursion limit raised, in a thread with 1 GiB of stack)",
        "category": "cpython-oom-or-recursion",
        "why": "CPython cannot answer the recode: its pickler recurses on the C stack",
        "rules": [cannot_answer_exception("RecursionError")],
        "evidence": ev_deep_nesting,
    },
    {
        "id": "int-over-4300-digits-protocol-0-load",
        "input": long_decimal_input,
        "cpython": "LONG with 5000 decimal digits: ValueError (sys.int_info.default_max_str_digits = 4300)",
        "codec": "decodes decimal integers up to its digit budget, Limits::max_int_digits "
                 "(configurable; 0: no limit). The default, which pickletool uses, is CPython's 4300: "
                 "there the codec refuses this input with CPython's ValueError words",
        "category": "resource-limit",
        "why": "CPython's limit is a process-wide setting (sys.set_int_max_str_digits); the codec's "
               "limit is part of its budget, documented and configurable",
        "rules": [],
        "evidence": ev_int_str_digits_load,
    },
    {
        "id": "marks-over-max-depth",
        "input": deep_marks_input,
        "cpython": "the C unpickler's MARK stack grows as needed: 100001 open MARKs load (tuples "
                   "nested 100001 deep)",
        "codec": "refuses a MARK opened when max_depth MARKs are open (Limits::max_depth: 100000 by "
                 "default, 2000 strict): 'more than 100000 open MARKs (max_depth)' at that MARK",
        "category": "resource-limit",
        "why": "the decoder's memory and the depth of what it builds stay within its budget (§8); "
               "CPython could not dump such a graph either (deep-nesting-dump-recursion)",
        "rules": [codec_message("(max_depth)")],
        "evidence": ev_deep_marks,
    },
    {
        "id": "opcode-argument-crossing-frame-end",
        "input": b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00M\x01\x00.",
        "cpython": "C unpickler: 1 (frames are only a read-ahead hint); pure-Python unpickler: "
                   "UnpicklingError 'pickle exhausted before end of frame'",
        "codec": "follows the C unpickler (accepts)",
        "category": "c-vs-python-disagree",
        "why": "CONFORMANCE.md §1: the C implementation is the reference",
        "rules": [],
        "evidence": ev_frame_crossing,
    },
    {
        "id": "frame-read-file-vs-buffer",
        "input": frame_file_vs_buffer_input,
        "cpython": "the C unpickler disagrees with itself: reading a file object without peek() "
                   "(pickle.load(io.BytesIO(b)), as the oracle's load_stream does), it buffers exactly "
                   "one FRAME and drops what is left of it when an opcode's argument or the next "
                   "pickle starts past the frame's end; pickle.loads(b), and pickle.load on a file "
                   "with peek(), read frames as hints (here: 1 and 2, against 1 then 'unpickling "
                   "stack underflow')",
        "codec": "reads frames as hints, as pickle.loads does (ci/diffcheck allows a difference "
                 "only when the codec gives exactly the answer of the oracle reading through "
                 "peek(), oracle/streammode.py)",
        "category": "c-vs-python-disagree",
        "why": "CPython's answer depends on the file object; §1 names pickle.loads. CPython's "
               "pickler never writes such frames",
        "rules": [python_only("frames-as-hints")],
        "evidence": ev_frame_file_vs_buffer,
    },
    {
        "id": "builtins-module-string-memo",
        "input": lambda: pickle.dumps([set, len], 4),
        "cpython": "with the real objects, protocol 4 writes the module string 'builtins' twice for "
                   "[set, len]: builtin types and builtin functions carry different str objects as "
                   "__module__ and the memo is by identity",
        "codec": "(and the oracle's stand-ins) write one memoized module string per module name",
        "category": "cpython-bug-not-copied",
        "why": "which str object a global's __module__ is cannot be known from its name; "
               "the oracle's stand-ins of one module share one (interned) string, as real "
               "classes of one module do",
        "rules": [],
        "evidence": ev_module_string_identity,
    },
    {
        "id": "empty-component-module-dump",
        "input": empty_component_module_input,
        "cpython": "pickle.dumps of a class whose module name has an empty component ('os..b', "
                   "'s.', 'a..b') imports that module first: with the module in sys.modules it "
                   "succeeds when the name's top-level package really imports in the dumping process "
                   "('os..b'), and fails otherwise ('s.', 'a..b': import of module 's.' failed)",
        "codec": "refuses every module name with an empty component at every protocol: "
                 "\"Can't pickle <class 'os..b.C'>: import of module 'os..b' failed\" (no file "
                 "system, nothing imports; and no real module has such a name)",
        "category": "environment",
        "why": "whether CPython's dump succeeds depends on which top-level packages import on the "
               "machine that dumps; the codec answers the same everywhere",
        "rules": [python_only("empty-component-module")],
        "evidence": ev_empty_component_module,
    },
    {
        "id": "container-over-max-len",
        "input": long_list_input,
        "cpython": "a container grows as long as memory lasts: a list of 2^20 + 1 items loads",
        "codec": "refuses the opcode that would make a container longer than Limits::max_container_len "
                 "(2^28 items by default, 2^20 strict): 'a container exceeds 1048576 items "
                 "(max_container_len)' here under --strict-limits; the default budget loads it",
        "category": "resource-limit",
        "why": "the decoder's memory stays within its budget (§8); the limit is documented and configurable",
        "rules": [codec_message("(max_container_len)")],
        "evidence": _ev_loads("long_list_input", 512, "a list of 2^20 + 1 Nones"),
    },
    {
        "id": "graph-over-max-total-bytes",
        "input": big_bytes_call_input,
        "cpython": "builtins.bytes(2^28) from a 24-byte input allocates its 256 MiB and loads",
        "codec": "counts everything the graph holds (nodes, payload bytes, item vectors) against "
                 "Limits::max_total_bytes (8 GiB by default, 256 MiB strict) and refuses what would "
                 "pass it: 'the graph exceeds the memory budget (max_total_bytes)' here under "
                 "--strict-limits; the default budget loads it",
        "category": "resource-limit",
        "why": "a few bytes of input must not make the decoder allocate without bound (§8)",
        "rules": [codec_message("(max_total_bytes)")],
        "evidence": _ev_loads("big_bytes_call_input", 1024, "builtins.bytes(2^28)"),
        "edge_case": False,  # 256 MiB each way: too big for ci/diffcheck's edge cases
    },
    {
        "id": "input-over-max-input-bytes",
        "input": long_input,
        "cpython": "a pickle is as long as its file: 2^24 + 1 bytes load",
        "codec": "refuses a pickle longer than Limits::max_input_bytes (4 GiB by default, 16 MiB strict) "
                 "at the opcode that crosses it: 'the pickle exceeds the input budget (max_input_bytes)' "
                 "here under --strict-limits; the default budget loads it",
        "category": "resource-limit",
        "why": "a service reading untrusted pickles bounds how much it reads (§8)",
        "rules": [codec_message("(max_input_bytes)")],
        "evidence": _ev_loads("long_input", 512, "a pickle of 2^24 + 1 bytes"),
    },
    {
        "id": "real-class-reduction",
        "input": numpy_protocol_2_input,
        "cpython": "with the real classes, CPython re-dumps what the class's code reduces the object to at "
                   "protocol q now: a numpy array pickled at protocol 2 re-dumps at 5 as "
                   "numpy.core.numeric._frombuffer(PickleBuffer, dtype, shape, order) (ndarray.__reduce_ex__); "
                   "the same happens with numpy's dtype singletons and pandas' interned objects, shared where "
                   "the input wrote them twice, and with a class's state recomputed by its __reduce__",
        "codec": "writes the reduction, state and sharing the input spelled, as the inert reference "
                 "(oracle/inert.py) does: _reconstruct(ndarray, (0,), b'b') + BUILD at 5",
        "category": "references-disagree",
        "why": "the codec runs no class code, so it cannot know what a class's __reduce_ex__ returns; it "
               "follows the inert reference. Allowed only when CPython, loading the codec's bytes with the "
               "real classes, re-dumps exactly its own reference bytes (the same object), and the codec "
               "gave the inert reference's bytes (oracle/realclass.py judge())",
        "rules": [python_only("real-class")],
        "evidence": _ev_real("numpy_protocol_2_input", "real-class-reduction",
                             "numpy.arange(2, dtype='u1'), protocol 2"),
    },
    {
        "id": "real-class-dump-refused",
        "input": cloudpickle_code_input,
        "cpython": "with the real classes, CPython loads what cloudpickle wrote (here a code object) and its "
                   "pickler refuses to dump it again: TypeError: cannot pickle code objects",
        "codec": "writes the reduction the input spelled (cloudpickle's _builtin_type('CodeType')(...)), as the "
                 "inert reference does",
        "category": "references-disagree",
        "why": "the object exists only through the library's reduction; the codec follows the inert "
               "reference. Allowed only when the library's own pickler (cloudpickle's) re-dumps the object "
               "CPython loads from the codec's bytes exactly as the one it loads from the input",
        "rules": [python_only("real-class")],
        "evidence": _ev_real("cloudpickle_code_input", "real-class-dump-refused",
                             "cloudpickle.dumps(compile('1 + 1', ...), 4)"),
    },
    {
        "id": "real-class-load-refused",
        "input": bad_decimal_input,
        "cpython": "with the real classes, the class's own code refuses the input: decimal.Decimal('one') "
                   "raises decimal.InvalidOperation while loading (the inert reference loads it)",
        "codec": "keeps the call inert and writes it back (Reduce(decimal.Decimal, ('one',))), as the inert "
                 "reference does",
        "category": "references-disagree",
        "why": "the codec never runs what a pickle names (docs/conformance.md), so it cannot know that a "
               "class would refuse its arguments or state; it follows the inert reference",
        "rules": [python_only("real-class")],
        "evidence": _ev_real("bad_decimal_input", "real-class-load-refused", "decimal.Decimal('one')"),
    },
    {
        "id": "set-item-order",
        "input": set_order_input,
        "cpython": "writes a set's items in hash-table order: {2, 1} as 1, 2",
        "codec": "writes them in the order it stored them (the input's: 2, 1)",
        "category": "equivalent",
        "why": "the bytes encode the same value; oracle/setorder.py checks exactly that the codec's bytes are "
               "CPython's pickler's with the set items in some order (the verdict is 'same')",
        "rules": [python_only("set-order")],
        "evidence": ev_set_order,
    },
    {
        "id": "oracle-cannot-answer",
        "input": nested_on_builtin_input,
        "cpython": "the oracle standing for CPython cannot answer: NestedOnBuiltin (a stand-in nested under a "
                   "builtin CPython writes for bytes), ReplayIncomplete (its pure-Python replay stops short)",
        "codec": "answers (here: the global as written, _codecs.encode.x, at every protocol)",
        "category": "cannot-answer",
        "why": "no verdict can be given without CPython's answer; counted apart from agreements",
        "rules": [cannot_answer_exception("NestedOnBuiltin"), cannot_answer_exception("ReplayIncomplete")],
        "evidence": ev_nested_on_builtin,
        # Out of ci/diffcheck's edge cases: no verdict from the inert reference,
        # and the real-class one rejects the name (no attribute 'encode.x').
        "edge_case": False,
    },
    {
        "id": "equal-one-byte-bytes-below-3",
        "input": one_byte_bytes_input,
        "cpython": "below protocol 3 bytes are written as _codecs.encode(s, 'latin1'), whose 1-byte results are "
                   "CPython's shared objects: two distinct b'a' read back as one",
        "codec": "writes what CPython writes; reading it back gives one object, as in CPython",
        "category": "pickle-loses-information",
        "why": "the codec's own round trip (decode(encode(g, q)) == g) cannot hold where pickle loses identity",
        "rules": [graph_predicate("EqualOneByteBytesBelow3", 0, 2)],
        "evidence": ev_one_byte_bytes,
    },
    {
        "id": "global-name-unstable",
        "input": global_renamed_input,
        "cpython": "below protocol 3 GLOBAL text goes through fix_imports: 'copy_reg' is read as copyreg (and a "
                   "name with a newline or an empty part cannot be written as text)",
        "codec": "writes the name as CPython does; read back it is another name",
        "category": "pickle-loses-information",
        "why": "the codec's own round trip cannot keep a name that GLOBAL text or fix_imports changes",
        "rules": [graph_predicate("GlobalNameUnstable", 0, 3)],
        "evidence": ev_global_renamed,
    },
    {
        "id": "newobj-ex-below-4",
        "input": newobj_ex_input,
        "cpython": "below protocol 4 NEWOBJ_EX is written as functools.partial(cls.__new__, cls, *args, **kw)()",
        "codec": "writes the same; read back it is a call of the partial, not NEWOBJ_EX",
        "category": "pickle-loses-information",
        "why": "the codec's own round trip cannot give NEWOBJ_EX back from protocols 2-3",
        "rules": [graph_predicate("NewobjExBelow4", 2, 3)],
        "evidence": ev_newobj_ex,
    },
    {
        "id": "nan-payload-protocol-0",
        "input": nan_payload_input,
        "cpython": "protocol 0 writes every NaN as FLOAT 'nan', read back as float('nan') (0x7ff8000000000000)",
        "codec": "writes 'nan' as CPython does; the payload is lost",
        "category": "pickle-loses-information",
        "why": "the codec's own round trip cannot keep a NaN's payload through text",
        "rules": [graph_predicate("NanPayloadProtocol0", 0, 0)],
        "evidence": ev_nan_payload,
    },
]


def input_bytes(entry):
    v = entry["input"]
    return v() if callable(v) else v


def rules(kind):
    """(entry id, rule) for every rule of this kind, in table order."""
    return [(e["id"], r) for e in DIVERGENCES for r in e["rules"] if r["rule"] == kind]


# The exceptions (by name) by which CPython, or the oracle standing for it,
# cannot answer (inert.CANNOT_ANSWER reads this).
CANNOT_ANSWER = tuple(r["exception"] for _, r in rules("cannot-answer-exception"))


def check(verbose=True):
    failed = 0
    for e in DIVERGENCES:
        try:
            holds, detail = e["evidence"]()
        except Exception as ex:  # a demonstration that breaks no longer holds
            holds, detail = False, "%s: %s" % (type(ex).__name__, ex)
        if not holds:
            failed += 1
        if verbose:
            print("%-5s %-40s %s" % ("ok" if holds else "FAIL", e["id"], detail[:300]))
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if a.check:
        failed = check()
        print("%d/%d demonstrations hold" % (len(DIVERGENCES) - failed, len(DIVERGENCES)))
        return 1 if failed else 0
    for e in DIVERGENCES:
        b = input_bytes(e)
        print("%s [%s]\n  input: %d bytes %r%s\n  cpython: %s\n  codec: %s\n  why: %s\n" % (
            e["id"], e["category"], len(b), b[:40], "..." if len(b) > 40 else "",
            e["cpython"], e["codec"], e["why"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
