#!/usr/bin/env python3
"""pickletool scan against CPython's ground truth.

1. corpus/scan (oracle/gen_scan_corpus.py, fresh): each sample gets the
   verdict its manifest names. Each sample that is a plain pickle is loaded
   by CPython in a subprocess under three loaders (pickle.loads on bytes; a C
   Unpickler on a file that can peek, loading until the stream ends; the
   pure-Python pickle._Unpickler likewise), with an audit hook that records
   every pickle.find_class and refuses process, file, socket and code events
   before they happen (so the payloads run nothing). Every global CPython
   resolved must be among the scanner's imports, and a refused dangerous
   event needs the verdict dangerous: no false negative, under any loader.
2. corpus/realworld: no benign file is dangerous; under its library's
   profile each is clean (false-positive rate 0 per profile, printed);
   cloudpickle's functions and classes are reported as code.
"""
import argparse
import csv
import json
import os
import pty
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCAN = os.path.join(ROOT, "corpus", "scan")
REAL = os.path.join(ROOT, "corpus", "realworld")

# Runs in the CPython subprocess: prints a JSON list of find_class names and
# refused events. argv: loader, file.
GROUND_TRUTH = r'''
import io, json, pickle, sys
loader, path = sys.argv[1], sys.argv[2]
found, refused = [], []
BLOCK = ("os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "subprocess.Popen", "socket.",
         "exec", "compile", "os.putenv", "os.remove", "os.unlink")
class Refused(Exception):
    pass
def hook(event, args):
    if event == "pickle.find_class":
        found.append([args[0], args[1]])
        return
    if event.startswith(BLOCK) or (event == "open" and "pickletool-scan" in str(args[0])):
        refused.append(event)
        raise Refused(event)
data = open(path, "rb").read()
if len(sys.argv) > 3:  # a joblib file: what loading it imports, imported before the hook (an import is an exec)
    import joblib, numpy, sklearn.preprocessing, sklearn.tree, encodings.latin_1
sys.addaudithook(hook)
try:
    if loader == "joblib":
        joblib.load(path)
    elif loader == "loads":
        pickle.loads(data)
    else:
        f = io.BufferedReader(io.BytesIO(data))
        u = (pickle.Unpickler if loader == "file" else pickle._Unpickler)(f)
        while True:
            u.load()
except BaseException as e:
    pass
print(json.dumps({"found": found, "refused": refused}))
'''

LOADERS = ["loads", "file", "python"]
# joblib's files: joblib.load (its pure-Python unpickler reading arrays
# inside the stream) and the plain loaders, under /usr/bin/python3 (which
# has joblib, numpy and scikit-learn: ci/deps).
JOBLIB_LOADERS = ["joblib"] + LOADERS
JOBLIB_PYTHON = "/usr/bin/python3"


def scan(bin_dir, files, *extra):
    p = subprocess.run([os.path.join(bin_dir, "pickletool"), "scan", "--json", "--quiet", *extra, *files],
                       capture_output=True, text=True)
    assert p.returncode in (0, 1, 3), (p.returncode, p.stderr)
    doc = json.loads(p.stdout)
    assert doc["schema"] == "pickletool-scan" and doc["version"] == 1
    return {os.path.basename(r["path"]): r for r in doc["reports"]}


def mapped(module, name):
    """find_class's names after fix_imports (protocol < 3), as the scanner reports them."""
    import _compat_pickle as c
    if (module, name) in c.NAME_MAPPING:
        return c.NAME_MAPPING[(module, name)]
    return c.IMPORT_MAPPING.get(module, module), name


def test_corpus(bin_dir):
    fresh = subprocess.run([sys.executable, os.path.join(ROOT, "oracle", "gen_scan_corpus.py"), "--check"])
    assert fresh.returncode == 0, "corpus/scan is stale: run oracle/gen_scan_corpus.py"
    rows = list(csv.DictReader(open(os.path.join(SCAN, "MANIFEST.tsv")), delimiter="\t"))

    def profile(r):  # the benign controls are clean under their library's profiles
        if r["file"].startswith("benign"):
            return ("--profile", "stdlib")
        if r["technique"] == "control: joblib":
            return ("--profile", "sklearn", "--profile", "joblib")
        return ()
    plain = {}
    for prof in sorted({profile(r) for r in rows}):
        plain.update(scan(bin_dir, [os.path.join(SCAN, r["file"]) for r in rows if profile(r) == prof], *prof))
    failures, checked = [], 0
    for r in rows:
        rep = plain[r["file"]]
        if rep["verdict"] != r["expect"]:
            failures.append(f"{r['file']}: verdict {rep['verdict']}, expected {r['expect']}")
        if r["loads"] not in ("yes", "joblib"):
            continue
        imports = {s["target"] for s in rep["steps"] if s["what"] in ("import", "getattr")}
        rules = {f["rule"] for f in rep["findings"]}
        seen = {}
        python, loaders = (sys.executable, LOADERS) if r["loads"] == "yes" else (JOBLIB_PYTHON, JOBLIB_LOADERS)
        for loader in loaders:
            p = subprocess.run([python, "-I", "-c", GROUND_TRUTH, loader, os.path.join(SCAN, r["file"]),
                                *(["joblib"] if r["loads"] == "joblib" else [])],
                               capture_output=True, text=True, timeout=60)
            truth = json.loads(p.stdout.strip().splitlines()[-1])
            checked += 1
            seen[loader] = sorted(map(tuple, truth["found"]))
            for module, name in truth["found"]:
                if f"{module}.{name}" not in imports and "%s.%s" % mapped(module, name) not in imports:
                    failures.append(f"{r['file']} ({loader}): CPython resolved {module}.{name}, the scan did not report it")
            if truth["refused"] and rep["verdict"] != "dangerous":
                failures.append(f"{r['file']} ({loader}): CPython reached {truth['refused']}, verdict {rep['verdict']}")
        # Loaders that resolve different globals: the scan names the reason
        # (loads reads one pickle; the pure-Python unpickler refuses frame tricks;
        # joblib.load reads arrays inside the stream, the others read their bytes as opcodes;
        # a compressed file, joblib < 0.10's ZF among them, is read by joblib.load alone).
        if len({tuple(v) for v in seen.values()}) > 1 and rep["container"] in ("pickle", "joblib") and not rules & {
                "loader-difference", "several-pickles", "trailing-data", "joblib-arrays"}:
            failures.append(f"{r['file']}: the loaders resolve different globals {seen}, the scan reports no difference")
    print(f"corpus/scan: {len(rows)} samples, {checked} CPython loads compared, {len(failures)} failures")
    return failures


PROFILE_OF = {"numpy": "numpy", "pandas": "pandas", "sklearn": "sklearn", "torch": "torch",
              "python": "stdlib", "python2": "stdlib"}


def scan_real(bin_dir, rows, files, *extra):
    """Scans with the encoding each file loads with (its manifest says)."""
    out = {}
    enc = {r["file"]: (r["encoding"] or "ASCII").lower() for r in rows}
    for e in sorted({enc[f] for f in files}):
        group = [os.path.join(REAL, f) for f in files if enc[f] == e]
        out.update(scan(bin_dir, group, "--encoding", e, *extra))
    return out


def test_realworld(bin_dir):
    rows = list(csv.DictReader(open(os.path.join(REAL, "MANIFEST.tsv")), delimiter="\t"))
    failures = []
    by_lib = {}
    for r in rows:
        by_lib.setdefault(r["library"].split()[0], []).append(r["file"])
    base = scan_real(bin_dir, rows, sum(by_lib.values(), []))
    for lib, files in sorted(by_lib.items()):
        if lib in PROFILE_OF:
            for f in files:
                if base[f]["verdict"] == "dangerous":
                    failures.append(f"{f}: dangerous with no allowlist")
            prof = scan_real(bin_dir, rows, files, "--profile", PROFILE_OF[lib])
            fp = [f for f in files if prof[f]["verdict"] != "clean"]
            print(f"profile {PROFILE_OF[lib]:8} on {lib:8}: {len(fp)}/{len(files)} not clean "
                  f"(false-positive rate {100.0 * len(fp) / len(files):.1f}%)")
            failures += [f"{f}: {prof[f]['verdict']} under --profile {PROFILE_OF[lib]}" for f in fp]
        elif lib == "cloudpickle":
            for f in files:
                cats = {x["category"] for x in base[f]["findings"]}
                if base[f]["verdict"] != "dangerous" or "code-object" not in cats:
                    failures.append(f"{f}: cloudpickle code not reported as code ({base[f]['verdict']})")
    return failures


def test_cli(bin_dir):
    """Exit codes 0/1/2/3, --fail-on, --allow, --sarif's shape."""
    failures = []
    tool = os.path.join(bin_dir, "pickletool")

    def rc(*args):
        return subprocess.run([tool, "scan", "--quiet", *args], capture_output=True, text=True)
    benign = os.path.join(SCAN, "benign_ordereddict.pkl")
    evil = os.path.join(SCAN, "reduce_global.pkl")
    broken = os.path.join(SCAN, "stack_global_nonstr.pkl")
    cases = [
        ((benign,), 1),                                   # unknown >= default fail-on
        (("--profile", "stdlib", benign), 0),             # clean
        (("--fail-on", "dangerous", benign), 0),          # unknown < dangerous
        ((evil,), 1),
        (("--fail-on", "error", evil), 0),
        ((broken,), 3),                                   # could not analyse
        (("--fail-on", "bogus", benign), 2),
        (("--profile", "nonesuch", benign), 2),
    ]
    for args, want in cases:
        got = rc(*args).returncode
        if got != want:
            failures.append(f"scan {' '.join(args)}: exit {got}, expected {want}")
    # Progress (several files, no --quiet) on a terminal only: a log or a
    # pipe gets no carriage returns and escapes.
    piped = subprocess.run([tool, "scan", benign, evil], capture_output=True)
    if piped.stderr:
        failures.append(f"scan of 2 files into a pipe wrote progress to stderr: {piped.stderr!r}")
    primary, secondary = pty.openpty()
    try:
        subprocess.run([tool, "scan", benign, evil], stdout=subprocess.DEVNULL, stderr=secondary)
        os.close(secondary)
        secondary = -1
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal's other end closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if secondary >= 0:
            os.close(secondary)
        os.close(primary)
    if seen != b"\rscan: 1/2 " + benign.encode() + b"\x1b[K\rscan: 2/2 " + evil.encode() + b"\x1b[K\rscan: 2 files\x1b[K\r\n":
        failures.append(f"scan of 2 files on a terminal: progress {seen!r}")
    allow = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"scan_test_allow_{os.getpid()}.txt")
    with open(allow, "w") as f:
        f.write("# OrderedDict called and built\ncollections OrderedDict icb\n")
    if rc("--allow", allow, benign).returncode != 0:
        failures.append("--allow FILE does not make the OrderedDict sample clean")
    with open(allow, "w") as f:
        f.write("collections * icb\n")
    if rc("--allow", allow, benign).returncode != 2:
        failures.append("a wildcard in --allow FILE is not refused")
    os.unlink(allow)
    # Standard input, piped, as every pickletool command reads it: the same
    # verdict and findings as the file, under the name "-".
    for path in (evil, benign):
        with open(path, "rb") as f:
            data = f.read()
        piped = subprocess.run(["sh", "-c", 'cat | "$0" scan --json --quiet -', tool], input=data,
                               capture_output=True)
        direct = subprocess.run([tool, "scan", "--json", "--quiet", path], capture_output=True)
        a, b = json.loads(piped.stdout)["reports"][0], json.loads(direct.stdout)["reports"][0]
        if (piped.returncode, a["path"], a["verdict"], a["findings"]) != (direct.returncode, "-", b["verdict"],
                                                                          b["findings"]):
            failures.append(f"scan - of a pipe from {os.path.basename(path)} differs from scanning the file")
    p = rc("--sarif", evil, benign)
    doc = json.loads(p.stdout)
    results = doc["runs"][0]["results"]
    if doc["version"] != "2.1.0" or not any(r["ruleId"] == "dangerous-callable" and r["level"] == "error"
                                            for r in results):
        failures.append("--sarif: no SARIF 2.1.0 error result for the payload")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    failures = test_corpus(a.bin) + test_realworld(a.bin) + test_cli(a.bin)
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
