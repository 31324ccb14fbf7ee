#!/usr/bin/env python3
"""cli_test: pickletool's command line, each flag against what CPython does.

  - exit codes: 0 success, 1 input rejected (one `pickletool: error:` line),
    2 usage error; --help exits 0 for every command;
  - --encoding ascii|latin1|bytes (any case) decodes Python 2 str as
    pickle.loads(encoding=...) does (show and recode);
  - --no-fix-imports keeps Python 2 names, as fix_imports=False;
  - --strict-limits rejects what the default budget accepts;
  - a missing file is exit 1 with the OS's reason;
  - an empty file or pipe is exit 1 in every command, in CPython's words;
  - recode from a pipe answers each pickle as soon as it has arrived.

    python3 tests/cli_test.py --bin build/release/bin
"""
import argparse
import json
import os
import pickle
import select
import subprocess
import sys
import tempfile


FAILS = []


def check(what, cond, detail=""):
    if not cond:
        FAILS.append("%s %s" % (what, detail))


def run(tool, args, data=b""):
    p = subprocess.run([tool] + args, input=data, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def one_error_line(err):
    return err.startswith("pickletool: error: ") and err.count("\n") == 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    tool = os.path.join(ap.parse_args().bin, "pickletool")

    # --help everywhere; usage errors are 2.
    for cmd in ([], ["dis"], ["show"], ["recode"]):
        rc, out, _ = run(tool, cmd + ["--help"])
        check("help %s" % cmd, rc == 0 and b"Usage" in out, "rc=%d" % rc)
    for args in (["frobnicate"], ["show"], ["recode", "--protocol", "6"],
                 ["show", "--encoding", "utf8", "-"], ["show", "--width", "0", "-"]):
        rc, _, err = run(tool, args)
        check("usage %s" % args, rc == 2, "rc=%d %r" % (rc, err[:100]))

    # Python 2 str: SHORT_BINSTRING '\xe9\xe9', under each encoding and spelling.
    py2 = b"\x80\x02U\x02\xe9\xe9q\x00."
    for enc, spelled in (("latin1", "latin1"), ("latin1", "LATIN1"), ("bytes", "Bytes"), ("ASCII", "ascii")):
        try:
            value = pickle.loads(py2, encoding=enc)
        except UnicodeDecodeError as e:
            value = e
        rc, out, err = run(tool, ["show", "--encoding", spelled, "-"], py2)
        if isinstance(value, Exception):
            check("show --encoding %s" % spelled, rc == 1 and one_error_line(err) and "'ascii' codec can't decode" in err,
                  "rc=%d %r" % (rc, err))
        else:
            check("show --encoding %s" % spelled, rc == 0 and out.decode() == repr(value) + "\n",
                  "rc=%d out=%r want %r" % (rc, out, repr(value)))
        if not isinstance(value, Exception):
            rc, out, err = run(tool, ["recode", "--protocol", "2", "--encoding", spelled], py2)
            check("recode --encoding %s" % spelled, rc == 0 and out == pickle.dumps(value, 2),
                  "rc=%d out=%r" % (rc, out))

    # fix_imports: a Python 2 name, recoded at protocol 2 with and without.
    old = b"c__builtin__\nlist\np0\n."
    for flag, fix in (([], True), (["--no-fix-imports"], False)):
        rc, out, err = run(tool, ["recode", "--protocol", "2"] + flag, old)
        want = pickle.dumps(pickle.loads(old, fix_imports=fix), 2, fix_imports=fix) if fix else None
        if fix:
            check("recode fix_imports", rc == 0 and out == want, "rc=%d out=%r want=%r" % (rc, out, want))
        else:
            # Without the mapping the name stays __builtin__.list, written as it was read.
            check("recode --no-fix-imports", rc == 0 and b"__builtin__" in out and b"builtins" not in out,
                  "rc=%d out=%r %s" % (rc, out, err))

    # --strict-limits: 3,000 open MARKs (tuples nested 3,000 deep) are fine by
    # default, too deep for the strict budget's 2,000.
    big = b"\x80\x02" + b"(" * 3000 + b"t" * 3000 + b"."
    rc, _, err = run(tool, ["show", "-"], big)
    check("show default budget", rc == 0, "rc=%d %r" % (rc, err[:200]))
    rc, _, err = run(tool, ["show", "--strict-limits", "-"], big)
    check("show --strict-limits", rc == 1 and one_error_line(err), "rc=%d %r" % (rc, err[:200]))
    rc, _, err = run(tool, ["recode", "--strict-limits"], big)
    check("recode --strict-limits", rc == 1 and one_error_line(err), "rc=%d %r" % (rc, err[:200]))

    # Big ints: show prints repr() up to CPython's 4300 digits (beyond it
    # repr raises, and decimal conversion is quadratic), then hex.
    sys.set_int_max_str_digits(0)
    for v in (2 ** 64, -(2 ** 64) - 1, 10 ** 4299, -(10 ** 4299), 10 ** 4300, -(10 ** 4300), 2 ** 14280 + 1, 7 ** 40000):
        want = str(v) if len(str(abs(v))) <= 4300 else hex(v)
        data = pickle.dumps(v, 2)
        rc, out, err = run(tool, ["show", "-"], data)
        check("show int of %d digits" % len(str(abs(v))), rc == 0 and out.decode() == want + "\n",
              "rc=%d %r... want %r..." % (rc, out[:40], want[:40]))
        rc, out, err = run(tool, ["show", "--json", "-"], data)
        check("show --json int of %d digits" % len(str(abs(v))),
              rc == 0 and json.loads(out)["nodes"][0] == {"t": "int", "v": want}, "rc=%d %r" % (rc, out[:80]))
    sys.set_int_max_str_digits(4300)

    # Protocols 0-1 write ints as decimal text: past 4300 digits CPython's
    # dumps raises ValueError, and so does recode (no quadratic conversion:
    # a 1 MB int is refused at once).
    for v in (10 ** 4299, -(10 ** 4299), 10 ** 4300, 2 ** 8000000):
        data = pickle.dumps(v, 2)
        for q in (0, 1):
            try:
                want, why = pickle.dumps(v, q), None
            except ValueError as e:
                want, why = None, str(e)
            rc, out, err = run(tool, ["recode", "--protocol", str(q)], data)
            if why is None:
                check("recode -p %d of a %d-bit int" % (q, v.bit_length()), rc == 0 and out == want, "rc=%d" % rc)
            else:
                check("recode -p %d of a %d-bit int" % (q, v.bit_length()),
                      rc == 1 and one_error_line(err) and ("pickletool: error: " + why) in err, "rc=%d %r" % (rc, err))

    # An empty input, from a file or a pipe: no pickle at all is an error in
    # every command (a stream may end cleanly after its first pickle, not
    # before), each in its reference's words: pickle.load's EOFError for show
    # and recode, `python3 -m pickletools`' ValueError for dis.
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.pkl")
        open(empty, "wb").close()
        with open(empty, "rb") as f:
            try:
                pickle.load(f)
                load_says = None
            except EOFError as e:
                load_says = str(e)
        dis_says = subprocess.run([sys.executable, "-m", "pickletools", empty],
                                  capture_output=True).stderr.decode().strip().splitlines()[-1]
        check("CPython on an empty file", load_says == "Ran out of input" and
              dis_says == "ValueError: pickle exhausted before seeing STOP", "%r %r" % (load_says, dis_says))
        for cmd, says in ((["show"], load_says), (["show", "--json"], load_says), (["recode"], load_says),
                          (["dis"], "pickle exhausted before seeing STOP")):
            for how, args in (("file", [empty]), ("pipe", ["-"])):
                rc, out, err = run(tool, cmd + args)
                check("empty %s %s" % (how, " ".join(cmd)),
                      rc == 1 and out == b"" and one_error_line(err) and ("pickletool: error: " + says) in err,
                      "rc=%d out=%r err=%r" % (rc, out, err))
        # One pickle, then a clean end: fine in a file and in a pipe.
        one = os.path.join(d, "one.pkl")
        with open(one, "wb") as f:
            f.write(pickle.dumps(1, 2))
        for how, args, data in (("file", [one], b""), ("pipe", ["-"], pickle.dumps(1, 2))):
            rc, out, err = run(tool, ["show"] + args, data)
            check("one pickle then the end, %s" % how, rc == 0 and out == b"1\n", "rc=%d %r %r" % (rc, out, err))

    # recode from a pipe writes each pickle as soon as its STOP has arrived
    # (pickletool reads its standard input ahead, but never waits for more
    # than a read(2) returns): the writer waits for each answer before it
    # sends the next pickle, protocol 0 text lines included.
    proc = subprocess.Popen([tool, "recode", "--protocol", "2", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    answers = []
    for v in ({"a": [1, 2.5]}, "x" * 100000, list(range(1000))):
        proc.stdin.write(pickle.dumps(v, 0))
        proc.stdin.flush()
        want = pickle.dumps(v, 2)
        got = b""
        ready = select.select([proc.stdout], [], [], 30)[0]
        while ready and len(got) < len(want):
            chunk = os.read(proc.stdout.fileno(), len(want) - len(got))
            if not chunk:
                break
            got += chunk
            ready = select.select([proc.stdout], [], [], 30)[0] if len(got) < len(want) else ready
        answers.append(got == want)
    proc.stdin.close()
    rest = proc.stdout.read()
    rc = proc.wait(60)
    check("recode streams from a pipe", answers == [True] * 3 and rest == b"" and rc == 0,
          "answers=%r rest=%r rc=%d" % (answers, rest[:40], rc))

    # A missing file, and an output file written whole.
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "missing.pkl")
        for cmd in (["dis", missing], ["show", missing], ["recode", missing]):
            rc, _, err = run(tool, cmd)
            check("missing file %s" % cmd[0], rc == 1 and one_error_line(err) and "No such file or directory" in err,
                  "rc=%d %r" % (rc, err))
        src, dst = os.path.join(d, "in.pkl"), os.path.join(d, "out.pkl")
        with open(src, "wb") as f:
            f.write(pickle.dumps({"a": [1, 2.5, "x"]}, 2))
        rc, _, err = run(tool, ["recode", "-p", "5", src, dst])
        with open(dst, "rb") as f:
            got = f.read()
        check("recode IN OUT", rc == 0 and got == pickle.dumps({"a": [1, 2.5, "x"]}, 5), "rc=%d %r" % (rc, got))

    for f in FAILS:
        print("FAIL", f)
    print("cli: %d failed" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
