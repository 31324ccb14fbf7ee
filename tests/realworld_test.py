#!/usr/bin/env python3
"""The real-library corpus (corpus/realworld, oracle/gen_realworld.py) against both references.

For every file of corpus/realworld/MANIFEST.tsv (pickles written by numpy,
pandas, scikit-learn, torch.save, cloudpickle, zodbpickle and the standard
library at protocols 0-5), and for a few large arrays and frames made here
by Debian's python3 (not committed):

  - `pickletool dis` prints exactly what pickletools.dis prints (the
    expectation of tests/dis_test.py);
  - `pickletool show` and `show --json` succeed;
  - `pickletool recode --protocol q`, q = 0..5, equals the inert reference
    (oracle/inert.py) and the real-class reference (oracle/realclass.py:
    CPython with the real classes), or is a listed divergence of
    oracle/divergences.py; both through `ci/diffcheck --realworld` (its two
    workers; ~20 s of CPU on a release build).

A difference that is a known open bug of the codec (oracle/known_open.py,
each one with a minimal reproduction) is counted and printed, not failed;
the list is strict: an entry that no longer occurs fails the test until it
is removed.  Anything else failing exits 1.

    python3 tests/realworld_test.py --bin build/bin
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REALWORLD = os.path.join(ROOT, "corpus", "realworld")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "oracle"))
import dis_test  # noqa: E402 - its expectation of `pickletool dis`
import known_open  # noqa: E402
import realclass  # noqa: E402

# Open bugs of the codec this corpus found: oracle/known_open.py.
KNOWN_OPEN = known_open.KNOWN_OPEN

# Made at test time by Debian's python3 (too big to commit): name, code
# giving `obj`, protocols it is written at.
LARGE = [
    ("numpy_float64_4MiB", "import numpy as np\nobj = np.linspace(0.0, 1.0, 1 << 19)", (2, 5)),
    ("numpy_uint8_fortran_1MiB", "import numpy as np\n"
     "obj = np.asfortranarray(np.arange(1 << 20, dtype=np.uint8).reshape(1024, 1024))", (0, 4)),
    ("pandas_frame_65536_rows", "import numpy as np, pandas as pd\n"
     "obj = pd.DataFrame({'i': np.arange(1 << 16), 'f': np.arange(1 << 16) / 7.0,"
     " 'c': pd.Categorical(np.arange(1 << 16) % 5)})", (2, 5)),
]


def make_large(directory):
    code = ("import pickle, sys\n%s\nfor name, src, qs in %r:\n"
            "    ns = {}\n    exec(src, ns)\n"
            "    for q in qs:\n"
            "        with open('%s/%%s.p%%d.pickle' %% (name, q), 'wb') as f:\n"
            "            f.write(pickle.dumps(ns['obj'], q))\n") % ("", LARGE, directory)
    p = subprocess.run([realclass.LIBRARY_PYTHON, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONHASHSEED="0"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-500:])
    return sorted(os.path.join(directory, f) for f in os.listdir(directory))


def manifest():
    """file name -> its row of corpus/realworld/MANIFEST.tsv."""
    with open(os.path.join(REALWORLD, "MANIFEST.tsv"), encoding="utf-8") as f:
        keys = f.readline().rstrip("\n").split("\t")
        return {r["file"]: r for r in (dict(zip(keys, ln.rstrip("\n").split("\t"))) for ln in f)}


def encoding_of(path, rows):
    return rows.get(os.path.basename(path), {}).get("encoding", "ASCII")


def encoding_args(encoding):
    return [] if encoding == "ASCII" else ["--encoding", encoding.lower()]


def check_dis_show(tool, paths, rows):
    """-> (dis passed, show passed, [problems]).  show decodes Python 2
    str with the encoding the manifest names."""
    dis_ok = show_ok = 0
    problems = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        want_out, want_err = dis_test.expected_for(data)
        rc, out, err = dis_test.run_tool(tool, path)
        if out != want_out.encode("utf-8") or (rc != 0) != (want_err is not None):
            problems.append((path, "dis: output differs from pickletools (exit %d)" % rc))
        else:
            dis_ok += 1
        bad = []
        for args in (["show"], ["show", "--json"]):
            args = args + encoding_args(encoding_of(path, rows))
            r = subprocess.run([tool] + args + [path], capture_output=True, timeout=120)
            if r.returncode != 0:
                bad.append("%s exit %d: %s" % (" ".join(args), r.returncode, r.stderr[:200]))
        if bad:
            problems.append((path, "; ".join(bad)))
        else:
            show_ok += 1
    return dis_ok, show_ok, problems


def diffcheck(bin_dir, work, extra):
    cmd = [sys.executable, os.path.join(ROOT, "ci", "diffcheck"), "--bin", bin_dir, "--real-classes", "on",
           "--work", work, "--max-listed", "20"] + extra
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    last = [ln for ln in p.stdout.splitlines() if ln.startswith("diffcheck: ")]
    print("\n".join(last[-2:]))
    with open(os.path.join(work, "report.json")) as f:
        report = json.load(f)
    return p.returncode, p.stdout, report


def open_entry(path, check, text):
    return known_open.match(path, check, text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory holding pickletool")
    ap.add_argument("--no-large", action="store_true", help="leave out the arrays made at test time")
    args = ap.parse_args()
    tool = os.path.join(os.path.abspath(args.bin), "pickletool")
    if not os.access(tool, os.X_OK):
        print("realworld: no pickletool in %s" % args.bin)
        return 1
    why = realclass.available()
    if why:
        print("realworld: FAIL: the real-class reference is unavailable: %s (ci/deps --libraries)" % why)
        return 1
    failures = []
    with tempfile.TemporaryDirectory(prefix="realworld_") as tmp:
        large_dir = os.path.join(tmp, "large")
        os.makedirs(large_dir)
        large = [] if args.no_large else make_large(large_dir)
        corpus = sorted(os.path.join(REALWORLD, f) for f in os.listdir(REALWORLD) if f.endswith(".pickle"))
        rows = manifest()
        dis_ok, show_ok, problems = check_dis_show(tool, corpus + large, rows)
        print("realworld: %d files (%d committed, %d made now): dis %d equal to pickletools, show %d succeed"
              % (len(corpus) + len(large), len(corpus), len(large), dis_ok, show_ok))
        print("realworld: recode at 0-5 against both references, by ci/diffcheck (pickle.loads' default "
              "ASCII), and with the manifest's encoding for %d files" % sum(
                  1 for p in corpus if encoding_of(p, rows) != "ASCII"), flush=True)

        checks = []      # (path, check record)
        rc, out, report = diffcheck(args.bin, os.path.join(tmp, "dc"), ["--realworld"])
        checks += report_checks(report, os.path.join(tmp, "dc"))
        if large:
            rc2, out2, report2 = diffcheck(args.bin, os.path.join(tmp, "dcl"),
                                           sum((["--input", p] for p in large), []))
            checks += report_checks(report2, os.path.join(tmp, "dcl"))
        # diffcheck decodes Python 2 str as ASCII, as pickle.loads does by
        # default; the files that need another encoding again, with it.
        for path in corpus:
            enc = encoding_of(path, rows)
            if enc != "ASCII":
                checks += encoding_checks(tool, path, enc)

    counts = {"inert": {}, "real": {}}
    opened = {}
    for path, text in problems:
        i = open_entry(path, "show", text)
        if i is None:
            failures.append("%s: %s" % (os.path.relpath(path, ROOT), text))
        else:
            opened[i] = opened.get(i, 0) + 1
    for path, c in checks:
        for ref, rec in (("inert", c), ("real", c.get("real"))):
            if rec is None:
                counts[ref]["no answer"] = counts[ref].get("no answer", 0) + 1
                continue
            st = rec["status"]
            if st == "differ":
                i = open_entry(path, ref, rec.get("note", ""))
                if i is not None:
                    opened[i] = opened.get(i, 0) + 1
                    st = "open"
                else:
                    failures.append("%s q=%d, %s reference: %s" % (os.path.relpath(path, ROOT), c["q"], ref,
                                                                 rec.get("note", rec.get("kind", ""))[:300]))
            counts[ref][st] = counts[ref].get(st, 0) + 1
    for i, (pattern, what, says, _) in enumerate(KNOWN_OPEN):
        if i not in opened:
            failures.append("KNOWN_OPEN %s (%s: %s) no longer occurs: remove it" % (pattern, what, says))
    for ref in ("inert", "real"):
        print("realworld: %s reference: %d checks: %s" % (ref, sum(counts[ref].values()), ", ".join(
            "%d %s" % (n, k) for k, n in sorted(counts[ref].items()))))
    for i, (pattern, what, says, why) in enumerate(KNOWN_OPEN):
        if i in opened:
            print("realworld: OPEN, %d %s checks of %s: %s" % (opened[i], what, pattern, why))
    for f in failures[:40]:
        print("FAIL " + f)
    print("realworld: %s" % ("FAIL (%d problems)" % len(failures) if failures else "PASS"))
    return 1 if failures else 0


def encoding_checks(tool, path, encoding):
    """recode --encoding E at 0..5 against both references loading with
    encoding=E: [(path, check)] with "status" (inert) and "real" verdicts."""
    import verdict
    with open(path, "rb") as f:
        data = f.read()
    pickles = verdict.oracle_answer(data, range(6), encoding=encoding)
    codec, inert_ok = {}, {}
    out = []
    for q in range(6):
        p = subprocess.run([tool, "recode", "--protocol", str(q)] + encoding_args(encoding) + [path],
                           capture_output=True)
        codec[q] = ("accept", p.stdout) if p.returncode == 0 else ("reject", p.stderr.decode("utf-8", "replace"))
        v = verdict.recode(data, q, pickles, codec[q] + ((p.stdout,) if p.returncode else ()))
        inert_ok[q] = v.status == verdict.SAME
        status = {verdict.SAME: "agree", verdict.ALLOWED: "allowed", verdict.CANNOT: "cannot"}.get(v.status, "differ")
        out.append({"q": q, "status": status, "divergence": v.divergence,
                    "note": "" if inert_ok[q] else "recode --encoding %s against the inert reference: %s" % (
                        encoding, v.note)})
    oracle = realclass.RealClassOracle()
    try:
        real = oracle.judge(data, range(6), codec, inert_ok, encoding=encoding)
    finally:
        oracle.close()
    for c in out:
        c["real"] = {"status": "cannot", "note": real["cannot"]} if "cannot" in real else real[c["q"]]
    return [(path, c) for c in out]


def report_checks(report, work):
    """Every check of a diffcheck run, with its input's path: diffcheck's
    report.json keeps only differences, so it also writes checks.json."""
    with open(os.path.join(work, "checks.json")) as f:
        rows = json.load(f)
    return [(r["path"], c) for r in rows for c in r["checks"]]


if __name__ == "__main__":
    sys.exit(main())
