#!/usr/bin/env python3
"""divergences_test: every entry of oracle/divergences.py proven on the codec's side.

oracle/divergences.py lists each allowed divergence from CPython with a live
demonstration of CPython's side (`python3 oracle/divergences.py --check`).
This test feeds each entry's input, and the inputs that pin the limit it
describes, to `pickletool` and asserts the codec's exact documented
behaviour: exit status, the exact error line, the exact bytes written. The
expected bytes come from CPython wherever it can answer: its own pickle.dumps
of the same value (with the limit lifted, or the stack given, where the
divergence is CPython's limit).

Every entry must have a case here and every case an entry: adding a
divergence without proving the codec's side fails this test.

    python3 tests/divergences_test.py --bin build/bin [-v]
"""
import _codecs
import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "oracle"))
import divergences  # noqa: E402
import inert  # noqa: E402

PROTOCOLS = range(6)
MIB = 1 << 20


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


class Run:
    def __init__(self, bin_dir, verbose):
        self.tool = os.path.join(os.path.abspath(bin_dir), "pickletool")
        self.verbose = verbose
        self.check_memory = not sanitized(self.tool)
        self.passed = 0
        self.failed = 0
        self.entry = None

    def pickletool(self, args, data):
        """-> (exit status, stdout, stderr, max RSS bytes), the child measured alone."""
        with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, \
                tempfile.TemporaryFile() as ferr:
            fin.write(data)
            fin.seek(0)
            proc = subprocess.Popen([self.tool] + args, stdin=fin, stdout=fout, stderr=ferr)
            _, status, usage = os.wait4(proc.pid, 0)
            fout.seek(0)
            ferr.seek(0)
            return os.waitstatus_to_exitcode(status), fout.read(), ferr.read(), usage.ru_maxrss * 1024

    def ok(self, what):
        self.passed += 1
        if self.verbose:
            print("ok   %s: %s" % (self.entry, what))

    def fail(self, what, detail):
        self.failed += 1
        print("FAIL %s: %s: %s" % (self.entry, what, detail))

    def check(self, what, cond, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)

    def expect(self, what, args, data, rc, out=None, err=b"", max_rss=None):
        """pickletool ARGS < data exits `rc`, writes exactly `out` (when given)
        and exactly `err` on stderr."""
        what = "%s: pickletool %s" % (what, " ".join(args))
        got_rc, got_out, got_err, rss = self.pickletool(args, data)
        problems = []
        if got_rc != rc:
            problems.append("exit %d, expected %d (stderr %r)" % (got_rc, rc, got_err[:300]))
        if out is not None and got_out != out:
            i = next((k for k in range(min(len(out), len(got_out))) if out[k] != got_out[k]),
                     min(len(out), len(got_out)))
            problems.append("stdout differs at byte %d of %d/%d:\n   codec:    %r\n   expected: %r"
                            % (i, len(got_out), len(out), got_out[max(0, i - 30):i + 50],
                               out[max(0, i - 30):i + 50]))
        if err is not None and got_err != err:
            problems.append("stderr %r, expected %r" % (got_err[:300], err[:300]))
        if max_rss is not None and self.check_memory and rss > max_rss:
            problems.append("max RSS %.1f MiB > %.1f MiB" % (rss / MIB, max_rss / MIB))
        if problems:
            self.fail(what, "; ".join(problems))
        else:
            self.ok(what)

    def expect_error(self, what, args, data, message, offset, opcode):
        line = "pickletool: error: %s at offset %d (opcode %s)\n" % (message, offset, opcode)
        self.expect(what, args, data, 1, b"", line.encode("utf-8"))

    def expect_recodes(self, what, data, expected_by_protocol):
        for q, expected in expected_by_protocol.items():
            self.expect(what, ["recode", "--protocol", str(q)], data, 0, expected)


def cpython_error(data):
    """str() of the exception CPython's pickle.loads raises on data."""
    try:
        pickle.loads(data)
    except Exception as e:  # noqa: BLE001 - CPython's own words, whatever the type
        return str(e)
    raise AssertionError("CPython accepts %r" % data[:40])


class CallOf(object):
    """An object CPython pickles as the call callable(*args) (save_reduce)."""

    def __init__(self, callable_, args):
        self.reduce = (callable_, args)

    def __reduce__(self):
        return self.reduce


def deep_dumps(data):
    """{protocol: bytes}: what CPython's own pickler writes for the value
    pickle.loads(data) builds, given the stack (recursion limit raised, a
    thread with 1 GiB of stack), computed in a child process."""
    code = textwrap.dedent("""
        import pickle, sys, threading
        data = sys.stdin.buffer.read()
        v = pickle.loads(data)
        sys.setrecursionlimit(10 ** 7)
        threading.stack_size(1 << 30)
        out = []
        def run():
            for q in range(6):
                out.append(pickle.dumps(v, q))
        t = threading.Thread(target=run)
        t.start()
        t.join()
        if len(out) != 6:
            sys.exit("CPython's pickler failed even with the stack")
        for b in out:
            sys.stdout.buffer.write(len(b).to_bytes(8, "little") + b)
    """)
    p = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("deep dump child failed: %s" % p.stderr.decode("utf-8", "replace")[-500:])
    out, pos = {}, 0
    for q in PROTOCOLS:
        n = int.from_bytes(p.stdout[pos:pos + 8], "little")
        out[q] = p.stdout[pos + 8:pos + 8 + n]
        pos += 8 + n
    return out


def json_chain(kind, depth):
    """show --json of `depth` containers of `kind`, each holding the next."""
    nodes = ['{"t": "%s", "items": [%d]}' % (kind, i + 1) for i in range(depth - 1)]
    nodes.append('{"t": "%s", "items": []}' % kind)
    return ('{"root": 0, "nodes": [' + ", ".join(nodes) + "]}\n").encode()


# ---------------------------------------------------------------------------
# One case per entry: (run, entry) -> None, asserting through run.


def case_codecs_not_evaluated(run, e):
    data = divergences.input_bytes(e)
    run.expect("kept as an inert call", ["show", "-"], data, 0, b"Reduce(_codecs.encode, ('ab', 'utf16'))\n")
    run.expect_recodes("written back as the call",
                       data, {q: pickle.dumps(CallOf(_codecs.encode, ("ab", "utf16")), q) for q in PROTOCOLS})
    run.check("the oracle's classifier names it", divergences.known_divergence(data) == e["id"])
    # The evaluated codecs, every alias, and bytes()/bytearray() alike.
    for enc in ("utf-8", "UTF8", "latin1", "iso-8859-1", "ascii", "us-ascii"):
        call = pickle.dumps(CallOf(_codecs.encode, ("ab", enc)), 2)
        run.expect("evaluated: %s" % enc, ["show", "-"], call, 0, b"b'ab'\n")
        run.check("not classified: %s" % enc, divergences.known_divergence(call) is None)
    run.expect("bytes(s, 'utf16') kept", ["show", "-"], pickle.dumps(CallOf(bytes, ("ab", "utf16")), 2), 0,
               b"Reduce(builtins.bytes, ('ab', 'utf16'))\n")
    # A non-strict error handler that matters: kept; one that does not: evaluated.
    kept = pickle.dumps(CallOf(_codecs.encode, ("\xe9", "ascii", "ignore")), 2)
    run.expect("error handler needed: kept", ["show", "-"], kept, 0,
               "Reduce(_codecs.encode, ('\xe9', 'ascii', 'ignore'))\n".encode("utf-8"))
    run.expect("error handler unused: evaluated", ["show", "-"],
               pickle.dumps(CallOf(_codecs.encode, ("ab", "ascii", "ignore")), 2), 0, b"b'ab'\n")
    # A name codecs.lookup() rejects: CPython's LookupError.
    bad = pickle.dumps(CallOf(_codecs.encode, ("ab", "nosuch")), 2)
    run.expect_error("unknown codec", ["show", "-"], bad, cpython_error(bad), len(bad) - 4, "REDUCE")


def case_memo_huge_sparse_index(run, e):
    data = divergences.input_bytes(e)
    bound = 64 * MIB + 64 * len(data)
    run.expect("loads, memory bounded", ["show", "-"], data, 0, b"None\n", max_rss=bound)
    run.expect_recodes("recode", data, {q: pickle.dumps(None, q) for q in PROTOCOLS})
    top = b"\x80\x04Nr\xff\xff\xff\xffj\xff\xff\xff\xff\x86."   # LONG_BINPUT/LONG_BINGET 2^32-1
    run.expect("index 2^32-1, memory bounded", ["show", "-"], top, 0, b"(None, None)\n",
               max_rss=64 * MIB + 64 * len(top))
    # The budget counts distinct entries (strict: 2^16).
    n = 1 << 16

    def entries(k):
        return b"\x80\x04" + b"".join(b"Nr" + i.to_bytes(4, "little") + b"0" for i in range(k)) + b"N."
    run.expect("2^16 entries, strict", ["show", "--strict-limits", "-"], entries(n), 0, b"None\n")
    run.expect_error("2^16 + 1 entries, strict", ["show", "--strict-limits", "-"], entries(n + 1),
                     "the memo exceeds 65536 entries (max_memo_entries)", 2 + 7 * n + 1, "LONG_BINPUT")


def case_deep_nesting_dump_recursion(run, e):
    data = divergences.input_bytes(e)
    depth = 100000
    run.check("input is %d lists deep" % depth, data == divergences.deep_list_input(depth))
    run.expect("decodes", ["show", "--json", "-"], data, 0, json_chain("list", depth))
    run.expect("decodes under the strict budget (it counts MARKs)", ["show", "--json", "--strict-limits", "-"],
               data, 0, json_chain("list", depth))
    run.expect_recodes("CPython's bytes given the stack", data, deep_dumps(data))


def case_int_over_4300_digits_load(run, e):
    data = divergences.input_bytes(e)
    # pickletool's budget is the default: CPython's 4300 digits, CPython's words.
    run.expect_error("refused as CPython", ["show", "-"], data, cpython_error(data), 0, "LONG")
    run.expect_error("refused as CPython", ["recode", "--protocol", "0"], data, cpython_error(data), 0, "LONG")
    at = divergences.long_decimal_input(4300)
    run.expect("4300 digits", ["show", "-"], at, 0, b"1" * 4300 + b"\n")
    run.expect_recodes("4300 digits", at, {q: pickle.dumps(pickle.loads(at), q) for q in PROTOCOLS})
    over = divergences.long_decimal_input(4301)
    run.expect_error("4301 digits", ["show", "-"], over, cpython_error(over), 0, "LONG")
    text_int = b"I" + b"1" * 4301 + b"\n."
    run.expect_error("INT with 4301 digits", ["show", "-"], text_int, cpython_error(text_int), 0, "INT")


def case_marks_over_max_depth(run, e):
    data = divergences.input_bytes(e)
    depth = 100001
    run.check("input has %d MARKs" % depth, data == divergences.deep_marks_input(depth))
    msg = "more than 100000 open MARKs (max_depth)"
    run.expect_error("refused at the MARK over the budget", ["show", "-"], data, msg, 100000, "MARK")
    run.expect_error("refused at the MARK over the budget", ["recode", "--protocol", "2"], data, msg, 100000,
                     "MARK")
    at = divergences.deep_marks_input(100000)
    run.expect("100000 MARKs", ["show", "--json", "-"], at, 0, json_chain("tuple", 100000))
    run.expect_recodes("100000 MARKs: CPython's bytes given the stack", at, deep_dumps(at))
    strict = "more than 2000 open MARKs (max_depth)"
    run.expect("2000 MARKs, strict", ["show", "--json", "--strict-limits", "-"], divergences.deep_marks_input(2000),
               0, json_chain("tuple", 2000))
    run.expect_error("2001 MARKs, strict", ["show", "--strict-limits", "-"], divergences.deep_marks_input(2001),
                     strict, 2000, "MARK")


def case_frame_crossing(run, e):
    data = divergences.input_bytes(e)
    run.check("CPython's C unpickler gives 1", pickle.loads(data) == 1)
    run.expect("accepted as the C unpickler does", ["show", "-"], data, 0, b"1\n")
    run.expect_recodes("recode", data, {q: pickle.dumps(1, q) for q in PROTOCOLS})


def case_frame_file_vs_buffer(run, e):
    import io
    data = divergences.input_bytes(e)
    buffered = io.BufferedReader(io.BytesIO(data))
    values = [pickle.load(buffered), pickle.load(buffered)]
    run.check("pickle.load with peek() gives 1, 2", values == [1, 2])
    run.expect("frames read as hints: 1 then 2", ["show", "-"], data, 0, b"1\n2\n")
    run.expect_recodes("recode", data, {q: pickle.dumps(1, q) + pickle.dumps(2, q) for q in PROTOCOLS})


def case_builtins_module_string(run, e):
    data = divergences.input_bytes(e)
    run.expect("show", ["show", "-"], data, 0, b"[<global builtins.set>, <global builtins.len>]\n")
    one = (b'\x80\x04\x95"\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x08builtins\x94\x8c\x03set\x94\x93\x94'
           b'h\x01\x8c\x03len\x94\x93\x94e.')
    expected = {q: pickle.dumps([set, len], q) for q in range(4)}   # GLOBAL text: no divergence
    expected[4] = one
    expected[5] = b"\x80\x05" + one[2:]
    run.expect_recodes("one memoized module string", data, expected)
    for q in (4, 5):
        run.check("protocol %d: the oracle's stand-ins write the same" % q,
                  inert.redump(data, [q])[0][1][q] == (True, expected[q]))
        run.check("protocol %d: real CPython writes 'builtins' twice" % q,
                  pickle.dumps([set, len], q).count(b"\x8c\x08builtins") == 2)


def case_persid_text_of_object(run, e):
    data = divergences.input_bytes(e)
    run.expect("decodes", ["show", "-"], data, 0, b"PersId((Object(m.C, ()),))\n")
    line = b"pickletool: error: cannot write a persistent id of type 'object' at protocol 0\n"
    run.expect("refused at protocol 0", ["recode", "--protocol", "0"], data, 1, b"", line)
    cpython = inert.redump(data, PROTOCOLS)[0][1]
    run.check("CPython writes an address at protocol 0", cpython[0][0] and b" at 0x" in cpython[0][1],
              repr(cpython[0]))
    for q in PROTOCOLS[1:]:
        run.expect("CPython's bytes at protocol %d" % q, ["recode", "--protocol", str(q)], data, 0, cpython[q][1])
    run.check("classified from both answers", divergences.known_divergence(
        data, ("reject", line.decode().strip()), ("accept", cpython[0][1])) == e["id"])


def case_empty_component_module(run, e):
    data = divergences.input_bytes(e)
    run.expect("decodes", ["show", "-"], data, 0, b"<global os..b.C>\n")
    line = b"pickletool: error: Can't pickle <class 'os..b.C'>: import of module 'os..b' failed\n"
    for q in PROTOCOLS:
        run.expect("refused at protocol %d" % q, ["recode", "--protocol", str(q)], data, 1, b"", line)
    for name in (b"s.", b"a..b", b"os.x..b"):   # every such name, whatever its top level
        other = b"c" + name + b"\nC\n."
        run.expect("refused: %s" % name.decode(), ["recode", "--protocol", "0"], other, 1, b"",
                   b"pickletool: error: Can't pickle <class '" + name + b".C'>: import of module '" + name +
                   b"' failed\n")
    run.check("classified from both answers", divergences.known_divergence(
        data, ("reject", line.decode().strip()), ("accept", b"cos..b\nC\np0\n.")) == e["id"])
    # A name holding a quote is quoted the other way ("os.'."; found by fuzz_diff_cpython).
    quoted = b"cos.'.\n7\n."
    qline = "pickletool: error: Can't pickle <class 'os.'..7'>: import of module \"os.'.\" failed\n"
    run.expect("refused: os.'.", ["recode", "--protocol", "0"], quoted, 1, b"", qline.encode())
    run.check("classified with the name in double quotes", divergences.known_divergence(
        quoted, ("reject", qline.strip()), ("accept", b"cos.'.\n7\np0\n.")) == e["id"])


def case_container_over_max_len(run, e):
    n = divergences.STRICT_CONTAINER_LEN
    data = divergences.input_bytes(e)
    run.check("input is a list of 2^20 + 1 items", data == divergences.long_list_input(n + 1))
    run.expect_error("2^20 + 1 items, strict", ["show", "--strict-limits", "-"], data,
                     "a container exceeds %d items (max_container_len)" % n, 4 + n + 1, "APPENDS")
    run.expect_recodes("2^20 + 1 items, default budget", data, {4: pickle.dumps([None] * (n + 1), 4)})
    at = divergences.long_list_input(n)
    run.expect("2^20 items, strict", ["recode", "--strict-limits", "--protocol", "4"], at, 0,
               pickle.dumps([None] * n, 4))


def case_graph_over_max_total_bytes(run, e):
    limit = divergences.STRICT_TOTAL_BYTES
    data = divergences.input_bytes(e)
    run.check("input is bytes(2^28)", data == divergences.big_bytes_call_input(limit))
    run.expect_error("bytes(2^28), strict", ["show", "--strict-limits", "-"], data,
                     "the graph exceeds the memory budget (max_total_bytes)", 24, "REDUCE")
    run.expect_recodes("bytes(2^28), default budget", data, {5: pickle.dumps(bytes(limit), 5)})
    below = divergences.big_bytes_call_input(limit - 4096)
    run.expect("bytes(2^28 - 4096), strict", ["recode", "--strict-limits", "--protocol", "5"], below, 0,
               pickle.dumps(bytes(limit - 4096), 5))


def case_input_over_max_input_bytes(run, e):
    limit = divergences.STRICT_INPUT_BYTES
    data = divergences.input_bytes(e)
    run.check("input is 2^24 + 1 bytes", len(data) == limit + 1)
    run.expect_error("2^24 + 1 bytes, strict", ["show", "--strict-limits", "-"], data,
                     "the pickle exceeds the input budget (max_input_bytes)", limit, "BINBYTES")
    run.expect_recodes("2^24 + 1 bytes, default budget", data, {4: pickle.dumps(pickle.loads(data), 4)})
    at = divergences.long_input(limit)
    run.expect("2^24 bytes, strict", ["recode", "--strict-limits", "--protocol", "4"], at, 0,
               pickle.dumps(pickle.loads(at), 4))


def real_class_case(run, e, show, disagree):
    """The codec writes the inert reference's bytes at every protocol, and the
    real-class reference (oracle/realclass.py, under Debian's python3 with
    the libraries) judges them allowed under this entry exactly where the two
    references disagree, agreeing elsewhere."""
    import realclass
    data = divergences.input_bytes(e)
    run.expect("decodes", ["show", "-"], data, 0, show)
    inert_bytes = {q: b"".join(inert.dumps(r.value, q) for r in inert.load_stream(data)) for q in PROTOCOLS}
    run.expect_recodes("the inert reference's bytes", data, inert_bytes)
    codec = {}
    for q in PROTOCOLS:
        rc, out, err, _ = run.pickletool(["recode", "--protocol", str(q), "-"], data)
        codec[q] = ("accept", out) if rc == 0 else ("reject", err.decode("utf-8", "replace"))
    why = realclass.available()
    if why:
        run.fail("the real-class reference", why)
        return
    oracle = realclass.RealClassOracle(300)
    try:
        req = {"op": "judge", "data": __import__("base64").b64encode(data).decode(), "protocols": list(PROTOCOLS),
               "codec": {str(q): (k, __import__("base64").b64encode(v).decode() if k == "accept" else v)
                         for q, (k, v) in codec.items()},
               "inert_agrees": {str(q): codec[q] == ("accept", inert_bytes[q]) for q in PROTOCOLS},
               "trusted": True}
        ans = oracle.request(req)
    finally:
        oracle.close()
    if not ans.get("ok") or "cannot" in ans["verdict"]:
        run.fail("the real-class reference answers", str(ans)[:300])
        return
    got = {int(q): v.get("divergence") or v["status"] for q, v in ans["verdict"].items()}
    want = {q: e["id"] if q in disagree else "agree" for q in PROTOCOLS}
    run.check("judged %s at %s, agree elsewhere" % (e["id"], ",".join(map(str, disagree))), got == want,
              "got %r" % got)


def case_real_class_reduction(run, e):
    real_class_case(run, e, b"""Reduce(
  numpy.core.multiarray._reconstruct,
  (<global numpy.ndarray>, (0,), b'b'),
  state=(
    1,
    (2,),
    Reduce(
      numpy.dtype,
      ('u1', False, True),
      state=(3, '|', None, None, None, -1, -1, 0),
    ),
    False,
    b'\\x00\\x01',
  ),
)
""", [5])


def case_real_class_dump_refused(run, e):
    real_class_case(run, e, None, list(PROTOCOLS))


def case_real_class_load_refused(run, e):
    real_class_case(run, e, b"Reduce(decimal.Decimal, ('one',))\n", list(PROTOCOLS))


def expect_oracle_recodes(run, e, data):
    """The codec's recode is the oracle's (CPython's) at every protocol."""
    cpython = inert.redump(data, PROTOCOLS)[0][1]
    run.expect_recodes("CPython's bytes", data, {q: cpython[q][1] for q in PROTOCOLS})


def case_set_item_order(run, e):
    import verdict
    data = divergences.input_bytes(e)
    run.expect("decodes in the input's order", ["show", "-"], data, 0, b"{2, 1}\n")
    codec = b"\x80\x04\x95\t" + b"\x00" * 7 + b"\x8f\x94(K\x02K\x01\x90."
    run.expect("written in the stored order", ["recode", "--protocol", "4"], data, 0, codec)
    v = pickle.loads(data)
    cpython = pickle.dumps(v, 4)
    run.check("CPython writes another order", cpython != codec)
    run.check("the verdict: same up to set order", verdict.set_order(v, 4, cpython, codec)[0] is True)
    run.check("not the same for other bytes", verdict.set_order(v, 4, cpython, codec.replace(b"K\x01", b"K\x03"))[0]
              is False)


def case_oracle_cannot_answer(run, e):
    import verdict
    data = divergences.input_bytes(e)
    run.expect("decodes", ["show", "-"], data, 0, b"[b'\\x9f', <global _codecs.encode.x>]\n")
    run.expect("written as the global it is", ["recode", "--protocol", "4"], data, 0,
               b"\x80\x04\x95 \x00\x00\x00\x00\x00\x00\x00]\x94(C\x01\x9f\x94\x8c\x07_codecs\x94"
               b"\x8c\x08encode.x\x94\x93\x94e.")
    pickles = [(r.ok, r.error, r.value if r.ok else None, per) for r, per in inert.redump(data, PROTOCOLS)]
    for q in PROTOCOLS:
        v = verdict.recode(data, q, pickles, ("accept", b""))
        run.check("protocol %d: no verdict" % q, (v.status, v.divergence) == (verdict.CANNOT, e["id"]), repr(v))


def loses_case(show, protocols):
    """The codec writes what CPython writes at every protocol (the loss is
    pickle's), and the entry's predicate applies at `protocols`."""
    def case(run, e):
        data = divergences.input_bytes(e)
        run.expect("decodes", ["show", "-"], data, 0, show)
        expect_oracle_recodes(run, e, data)
        rule = e["rules"][0]
        run.check("predicate at protocols %s" % (protocols,), rule["rule"] == "graph-predicate" and
                  tuple(rule["protocols"]) == protocols, repr(rule))
    return case


case_equal_one_byte_bytes = loses_case(b"[b'a', b'a']\n", (0, 2))
case_global_name_unstable = loses_case(b"<global copy_reg._reconstructor>\n", (0, 3))
case_newobj_ex_below_4 = loses_case(b"Object(m.C, (), kwargs={'a': 1})\n", (2, 3))
case_nan_payload_protocol_0 = loses_case(b"nan\n", (0, 0))
case_call_in_own_args = loses_case(b"Reduce(m.f, (Reduce(m.X, (), state=None, state_setter=m.f), None))\n", (0, 5))


CASES = {
    "codecs-not-evaluated": case_codecs_not_evaluated,
    "memo-huge-sparse-index": case_memo_huge_sparse_index,
    "deep-nesting-dump-recursion": case_deep_nesting_dump_recursion,
    "int-over-4300-digits-protocol-0-load": case_int_over_4300_digits_load,
    "marks-over-max-depth": case_marks_over_max_depth,
    "opcode-argument-crossing-frame-end": case_frame_crossing,
    "frame-read-file-vs-buffer": case_frame_file_vs_buffer,
    "builtins-module-string-memo": case_builtins_module_string,
    "empty-component-module-dump": case_empty_component_module,
    "persid-text-of-object": case_persid_text_of_object,
    "container-over-max-len": case_container_over_max_len,
    "graph-over-max-total-bytes": case_graph_over_max_total_bytes,
    "input-over-max-input-bytes": case_input_over_max_input_bytes,
    "real-class-reduction": case_real_class_reduction,
    "real-class-dump-refused": case_real_class_dump_refused,
    "real-class-load-refused": case_real_class_load_refused,
    "set-item-order": case_set_item_order,
    "oracle-cannot-answer": case_oracle_cannot_answer,
    "equal-one-byte-bytes-below-3": case_equal_one_byte_bytes,
    "global-name-unstable": case_global_name_unstable,
    "newobj-ex-below-4": case_newobj_ex_below_4,
    "nan-payload-protocol-0": case_nan_payload_protocol_0,
    "call-reached-in-its-own-args": case_call_in_own_args,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    run = Run(args.bin, args.verbose)
    ids = [e["id"] for e in divergences.DIVERGENCES]
    run.entry = "(table)"
    missing = [i for i in ids if i not in CASES]
    stale = [i for i in CASES if i not in ids]
    run.check("every entry has a codec-side case", not missing, "no case for %s" % ", ".join(missing))
    run.check("every case has an entry", not stale, "no entry for %s" % ", ".join(stale))
    run.check("ids are unique", len(ids) == len(set(ids)), "duplicate ids")
    for e in divergences.DIVERGENCES:
        case = CASES.get(e["id"])
        if case is None:
            continue
        run.entry = e["id"]
        before = run.failed
        try:
            case(run, e)
        except Exception as ex:  # noqa: BLE001 - a broken case is a failure, not a crash
            run.fail("case raised", "%s: %s" % (type(ex).__name__, ex))
        if run.failed == before and not run.verbose:
            print("ok   %s" % e["id"])
    if not run.check_memory:
        print("(sanitizer build: memory bounds not checked)")
    print("divergences: %d entries, %d checks passed, %d failed" % (len(ids), run.passed, run.failed))
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
