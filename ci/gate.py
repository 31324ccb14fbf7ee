#!/usr/bin/env python3
"""The conformance gate: every build, every check, one report.

Run through ci/gate (which installs what is missing first):

    ci/gate [--quick] [--fuzz-seconds N] [--property-cases N] [--jobs J] [--verbose] [--dry-run]
    ci/gate --raise-threshold     ... and raise ci/coverage-threshold.json to what this run reached
    python3 ci/gate.py --self-test   the gate's own checks (figure parsers, threshold logic)

The full gate, in order (a failed build skips the steps that need it):

  1. g++ release build; its tests by group (unit, property, corpus replay,
     examples against Python, script/oracle/table tests); the differential
     check against every CPython on the machine (ci/diffcheck --all-pythons);
     mutation testing of codec/ on a fixed sample (ci/mutate --quick).
  2. clang ASan+UBSan build; the same test groups under it.
  3. clang libFuzzer build; ci/fuzz, every target for --fuzz-seconds (60).
  4. clang coverage build; the whole ctest suite, the differential check and
     the replay of the fuzz campaign's corpora under it; llvm-cov over codec/:
     HTML report, summary table, and the threshold of ci/coverage-threshold.json.

--quick: the release build, its tests and ci/diffcheck --quick; no
sanitizer, fuzz or coverage build.

Each step's status, wall time, CPU time and figures go to
build/gate/report.json and report.md (each step's output to
build/gate/<step>.log), and a summary table is printed at the end. The exit
status is 1 if any step failed, 0 otherwise.
"""
import argparse
import glob
import json
import math
import os
import re
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE_DIR = os.path.join(ROOT, "build", "gate")
THRESHOLD_FILE = os.path.join(ROOT, "ci", "coverage-threshold.json")
LLVM_PROFDATA = "llvm-profdata-14"
LLVM_COV = "llvm-cov-14"

# Property tests run at their own case counts (150/150/150/80/80/60/100/100,
# property/README.md): the "gate-sized" run; --property-cases N changes them.

# The ctest suite's groups, for the report: a test counts in the first group
# that selects it (ctest -L/-R options), or in "other tests". The GoogleTest
# unit binaries run in a step of their own, each once, in one process: ctest
# runs them one process per test (580 process starts, minutes under ASan and
# coverage). Every other test runs in one ctest run (-j cores), so that the
# long ones (dis_test, Property.Streams, corpus_fuzz_structured) overlap.
TEST_GROUPS = [
    ("unit tests", ["-L", "^unit$"]),
    ("property tests", ["-L", "^property$"]),
    ("corpus replay", ["-L", "^corpus$"]),
    ("examples against Python", ["-R", "^examples_test$"]),
    ("script, oracle and table tests", ["-L", "^(script|oracle|tables)$"]),
]

# Tests that run under the release build only, with the reason.
RELEASE_ONLY = {
    "show_bounds_test": "its time bound (1 s per MB of input, wall clock) is the optimized build's; "
                        "ASan and -O0 coverage builds exceed it on hostile inputs",
}

# Tests --quick leaves to its own steps.
QUICK_SKIPS = {
    "diffcheck_quick_test": "the differential check step runs the same ci/diffcheck --quick",
}

# Sanitizer reports exit with 86, not 1 (which pickletool uses for "input
# rejected"), so a test that accepts exit status 1 cannot take a sanitizer
# report for a rejection. Only the exit code: any other flag given here would
# override the targets' own __asan_default_options (fuzz_diff_cpython turns
# leak detection off for the embedded CPython).
SANITIZER_ENV = {
    "ASAN_OPTIONS": "exitcode=86",
    "UBSAN_OPTIONS": "exitcode=86:print_stacktrace=1",
    "LSAN_OPTIONS": "exitcode=86",
}


def show_command(cmd, env=None):
    """The step's command as one can paste it into a shell at the top of the tree."""
    assign = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted((env or {}).items()))
    if isinstance(cmd, str):
        return "(export %s; %s)" % (assign, cmd) if assign else cmd
    return (assign + " " if assign else "") + " ".join(shlex.quote(c) for c in cmd)


class Gate:
    def __init__(self, args):
        self.args = args
        self.steps = []
        self.failed_builds = set()
        self.ran_builds = set()
        self.start = time.monotonic()
        self.load_start = os.getloadavg()
        if not args.dry_run:
            os.makedirs(GATE_DIR, exist_ok=True)

    def selected(self, name):
        return not self.args.only or re.search(self.args.only, name) is not None

    def run(self, name, cmd, needs=(), env=None, figures=None, timeout=3600):
        """Runs one step (in its own process group, killed with it on
        timeout); `figures(output)` extracts numbers for the report and may
        fail the step by returning "fail": <why>. -> True if it passed."""
        if not self.selected(name):
            return True
        missing = [b for b in needs if b in self.failed_builds]
        if missing:
            self.record(name, "skipped", 0.0, 0.0, {"reason": "build failed: " + ", ".join(missing)})
            return False
        shown = show_command(cmd, env)
        print("\n=== gate: %s\n$ %s" % (name, shown), flush=True)
        if self.args.dry_run:
            return True
        log_path = os.path.join(GATE_DIR, re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".log")
        full_env = dict(os.environ)
        full_env.update(env or {})
        start = time.monotonic()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        timed_out = []
        output = []
        with open(log_path, "w", buffering=1) as log:  # line-buffered: tail -f works
            log.write("$ %s\n" % shown)
            proc = subprocess.Popen(cmd, shell=isinstance(cmd, str), cwd=ROOT, env=full_env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace",
                                    start_new_session=True)

            def kill():
                timed_out.append(True)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                for line in proc.stdout:
                    log.write(line)
                    output.append(line)
                    if self.args.verbose:
                        sys.stdout.write(line)
                        sys.stdout.flush()
                rc = proc.wait()
            except KeyboardInterrupt:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
            finally:
                timer.cancel()
        elapsed = time.monotonic() - start
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        text = "".join(output)
        if not self.args.verbose:
            sys.stdout.write("".join(output[-12:]))
        figs = {}
        if figures:
            try:
                figs = figures(text) or {}
            except Exception as e:  # a figure parser must not hide the step's result
                figs = {"fail": "figures unreadable: %s: %s" % (type(e).__name__, e)}
        why = figs.pop("fail", None)
        if timed_out:
            why = "timed out after %d s" % timeout
        elif rc != 0:
            why = "%s (exit status %d)" % (why, rc) if why else "exit status %d" % rc
        if why:
            figs["failure"] = why
        figs["log"] = os.path.relpath(log_path, ROOT)
        self.record(name, "fail" if why else "pass", elapsed, cpu, figs)
        print("--- %s: %s (%.0f s, %.0f s CPU)%s" % (name, "FAIL" if why else "pass", elapsed, cpu,
                                                   ": " + why if why else ""), flush=True)
        return not why

    def build(self, preset, targets=None):
        cmd = "cmake --preset %s >/dev/null && cmake --build --preset %s -j %d" % (preset, preset, self.args.jobs)
        if targets:
            cmd += " --target " + " ".join(targets)
        if not self.selected("build " + preset):
            return
        if self.run("build " + preset, cmd, timeout=3600):
            self.ran_builds.add(preset)
        else:
            self.failed_builds.add(preset)

    def record(self, name, status, seconds, cpu, figures):
        self.steps.append({"step": name, "status": status, "seconds": round(seconds, 1),
                           "cpu_seconds": round(cpu, 1), "figures": figures})

    def report(self):
        ok = all(s["status"] == "pass" for s in self.steps) and bool(self.steps)
        wall = time.monotonic() - self.start
        cpu = sum(s["cpu_seconds"] for s in self.steps)
        load_end = os.getloadavg()
        doc = {"ok": ok, "quick": self.args.quick, "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "cores": os.cpu_count(),
               "load_average": {"start": [round(x, 2) for x in self.load_start],
                                "end": [round(x, 2) for x in load_end]},
               "options": {"fuzz_seconds": self.args.fuzz_seconds, "property_cases": self.args.property_cases,
                           "jobs": self.args.jobs},
               "steps": self.steps}
        with open(os.path.join(GATE_DIR, "report.json"), "w") as f:
            json.dump(doc, f, indent=2)
        lines = ["# Gate report", "",
                 "%s, %s gate: **%s** in %.0f s (%.0f s CPU, %d cores; load average %.2f at the start, %.2f at the end)"
                 % (doc["finished"], "quick" if self.args.quick else "full", "PASS" if ok else "FAIL",
                    wall, cpu, os.cpu_count() or 0, self.load_start[0], load_end[0]), "",
                 "| step | status | seconds | CPU s | figures |", "|---|---|---|---|---|"]
        for s in self.steps:
            lines.append("| %s | %s | %.1f | %.1f | %s |" % (s["step"], s["status"], s["seconds"], s["cpu_seconds"],
                                                            format_figures(s["figures"])))
        summary = os.path.join(GATE_DIR, "coverage-summary.txt")
        if any(s["step"] == "coverage of codec/" and s["status"] != "skipped" for s in self.steps) \
                and os.path.exists(summary):
            lines += ["", "Coverage of codec/ (llvm-cov report; HTML: build/gate/coverage-html/index.html):",
                      "", "```"] + open(summary).read().rstrip("\n").splitlines() + ["```"]
        with open(os.path.join(GATE_DIR, "report.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines[2:]))
        print("\nreport: build/gate/report.md, build/gate/report.json; logs: build/gate/*.log")
        return ok


def format_figures(figs):
    out = []
    for k, v in figs.items():
        if k == "log":
            continue
        if isinstance(v, dict):
            v = ", ".join("%s %s" % kv for kv in v.items())
        elif isinstance(v, list):
            v = ", ".join(map(str, v))
        out.append("%s: %s" % (k, str(v).replace("|", "\\|")))
    return "; ".join(out)


# ---------------------------------------------------------------------------
# Figures: each parser returns a dict; "fail": <why> fails the step.

CTEST_RESULT = re.compile(r"^\s*\d+/\d+ Test +#\d+: (.+?) \.*\s*(?:\*+)?(Passed|Failed|Timeout|Not Run|Exception: .+?|\S+)\s+[\d.]+ sec",
                          re.M)


def ctest_figures(text, groups=None, excluded=()):
    """Figures of a ctest run; with `groups` ({test: group}), a passed/total count per group."""
    m = re.search(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", text)
    if not m:
        return {"fail": "no ctest summary line"}
    figs = {"tests": int(m.group(3)), "failed": int(m.group(2))}
    results = {name.strip(): status for name, status in CTEST_RESULT.findall(text)}
    failed = [n for n, st in results.items() if st != "Passed"]
    if "The following tests FAILED:" in text:
        failed = ["%s (%s)" % f for f in re.findall(r"^\s*\d+ - (.+?) \(([^)]*)\)\s*$",
                                                    text.split("The following tests FAILED:")[-1], re.M)]
    if groups:
        per = {}
        for name, group in groups.items():
            ok, total = per.get(group, (0, 0))
            per[group] = (ok + (results.get(name) == "Passed"), total + 1)
        order = [n for n, _ in TEST_GROUPS] + ["other tests"]
        for group in sorted(per, key=lambda g: order.index(g) if g in order else len(order)):
            figs[group] = "%d/%d passed" % per[group]
        missing = [n for n in groups if n not in results]
        if missing and not figs["failed"]:
            figs["fail"] = "tests that did not run: " + ", ".join(sorted(missing)[:10])
    if excluded:
        figs["excluded"] = ", ".join(excluded)
    if failed:
        figs["failed_tests"] = failed[:10] + (["..."] if len(failed) > 10 else [])
    if figs["tests"] == 0:
        figs["fail"] = "no tests ran"
    elif figs["failed"]:
        figs["fail"] = "%d of %d tests failed" % (figs["failed"], figs["tests"])
    return figs


def diffcheck_figures(text):
    last = re.findall(r"^diffcheck: (\d+) checks, (\d+) agree, (\d+) differ, (\d+) allowed.*?; (\d+) inputs; .*?(PASS|FAIL)\s*$",
                      text, re.M)
    if not last:
        return {"fail": "no diffcheck summary line"}
    checks, agree, differ, allowed, inputs, verdict = last[-1]
    writers = re.findall(r"^== inputs written by CPython (\S+):", text, re.M)
    seed = re.findall(r"rerun with --seed (\d+)", text)
    figs = {"inputs": int(inputs), "checks": int(checks), "agree": int(agree), "differ": int(differ),
            "allowed": int(allowed), "writers": len(writers)}
    if seed:
        figs["seed"] = int(seed[-1])
    if int(checks) == 0:
        figs["fail"] = "no checks ran"
    elif int(differ) or verdict != "PASS":
        figs["fail"] = "%s differences" % differ
    return figs


FUZZ_ROW = re.compile(r"^\| (fuzz_\w+) \| (\d+)s \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| .*? \| ([^|]*) \| (\d+) \|\s*$", re.M)


def fuzz_figures(expected):
    def figures(text):
        rows = {m.group(1): m for m in FUZZ_ROW.finditer(text)}
        if not rows:
            return {"fail": "no ci/fuzz summary table"}
        figs = {"targets": len(rows),
                "execs": {t: int(m.group(3)) for t, m in rows.items()},
                "cov": {t: int(m.group(5)) for t, m in rows.items()}}
        new = [m.group(7).strip() for m in rows.values() if m.group(7).strip() not in ("none", "")]
        figs["new_findings"] = ", ".join(new) or "none"
        figs["known_findings"] = sum(int(m.group(8)) for m in rows.values())
        missing = [t for t in expected if t not in rows]
        idle = [t for t, m in rows.items() if int(m.group(3)) == 0]
        if missing:
            figs["fail"] = "targets not fuzzed: " + ", ".join(missing)
        elif idle:
            figs["fail"] = "targets that ran no input: " + ", ".join(idle)
        elif new:
            figs["fail"] = "new findings in corpus/regressions/: " + ", ".join(new)
        return figs
    return figures


def mutate_figures(text):
    """ci/mutate's summary line; the step fails below its target rate."""
    m = re.findall(r"^mutate: (\d+) mutants, (\d+) killed, (\d+) timeout, (\d+) survived, (\d+) equivalent, "
                   r"(\d+) uncompilable; kill rate ([\d.]+)% \(target ([\d.]+)%\): (PASS|FAIL)\s*$", text, re.M)
    if not m:
        return {"fail": "no ci/mutate summary line"}
    n, killed, timeout, survived, equivalent, uncompilable, rate, target, verdict = m[-1]
    figs = {"mutants": int(n), "killed": int(killed) + int(timeout), "survived": int(survived),
            "equivalent": int(equivalent), "uncompilable": int(uncompilable), "kill_rate%": float(rate)}
    if verdict != "PASS":
        figs["fail"] = "kill rate %s%% < %s%% (survivors: build/mutate/quick.md)" % (rate, target)
    return figs


def load_threshold(path=THRESHOLD_FILE):
    with open(path) as f:
        t = json.load(f)
    for k in ("lines", "branches"):
        if not isinstance(t.get(k), (int, float)) or not 0 <= t[k] <= 100:
            raise ValueError("%s: %r must be a percentage" % (path, k))
    return t


def floor1(x):
    """Rounded down to 0.1 (a threshold never exceeds what was measured)."""
    return math.floor(x * 10 + 1e-9) / 10


def check_coverage(measured, threshold):
    """-> list of shortfalls (empty: the gate passes)."""
    return ["%s %.2f%% < %.1f%%" % (k, measured[k], threshold[k])
            for k in ("lines", "branches") if measured[k] < threshold[k]]


def raised_threshold(measured, threshold):
    """The threshold raised to what was measured (rounded down), never lowered."""
    new = dict(threshold)
    for k in ("lines", "branches"):
        new[k] = max(threshold[k], floor1(measured[k]))
    return new


def coverage_totals(export_json):
    """lines and branches percentages (and counts) from `llvm-cov export -summary-only`."""
    totals = json.loads(export_json)["data"][0]["totals"]
    return {"lines": totals["lines"]["percent"], "branches": totals["branches"]["percent"],
            "lines_count": (totals["lines"]["covered"], totals["lines"]["count"]),
            "branches_count": (totals["branches"]["covered"], totals["branches"]["count"]),
            "functions": totals["functions"]["percent"], "regions": totals["regions"]["percent"]}


# ---------------------------------------------------------------------------
# Steps

def ctest_tests(build_dir):
    """ctest's tests of a build: [{"name", "labels", "command", "cwd", "disabled"}], or None."""
    try:
        out = subprocess.run(["ctest", "--test-dir", build_dir, "--show-only=json-v1"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300).stdout
        tests = []
        for t in json.loads(out)["tests"]:
            props = {p.get("name"): p.get("value") for p in t.get("properties", [])}
            tests.append({"name": t["name"], "labels": props.get("LABELS") or [],
                          "command": t.get("command") or [], "cwd": props.get("WORKING_DIRECTORY"),
                          "disabled": bool(props.get("DISABLED"))})
        return tests
    except Exception:
        return None


def selects(sel, test):
    """Whether ctest's -L/-R/-E options `sel` select `test`."""
    opts = dict(zip(sel[::2], sel[1::2]))
    if "-L" in opts and not any(re.search(opts["-L"], l) for l in test["labels"]):
        return False
    if "-R" in opts and not re.search(opts["-R"], test["name"]):
        return False
    return not ("-E" in opts and re.search(opts["-E"], test["name"]))


def ctest_plan(tests, exclude=()):
    """{test name: group}: each test in the first of TEST_GROUPS that selects
    it, or "other tests"; `exclude`d tests left out."""
    plan = {}
    for t in tests:
        if t["name"] not in exclude:
            plan[t["name"]] = next((name for name, sel in TEST_GROUPS if selects(sel, t)), "other tests")
    return plan


def gtest_figures(expected):
    def figures(text):
        ran = sum(int(n) for n in re.findall(r"^\[=+\] (\d+) tests? from \d+ test suites? ran", text, re.M))
        passed = sum(int(n) for n in re.findall(r"^\[  PASSED  \] (\d+) tests?", text, re.M))
        failed = re.findall(r"^\[  FAILED  \] (?!\d+ tests?, listed below)(\S+)", text, re.M)
        figs = {"tests": ran, "failed": len(set(failed))}
        if failed:
            figs["failed_tests"] = sorted(set(failed))[:10]
            figs["fail"] = "%d of %d tests failed" % (len(set(failed)), ran)
        elif ran == 0 or passed != ran:
            figs["fail"] = "%d tests ran, %d passed" % (ran, passed)
        elif ran < expected:
            figs["fail"] = "%d tests ran, ctest lists %d" % (ran, expected)
        return figs
    return figures


def test_steps(gate, preset, quick=False, env=None):
    """The ctest suite under one build, in two steps: the GoogleTest unit
    binaries, each in one process; then every other test in one ctest run
    (-j cores, so that its long tests overlap), with a count per group."""
    build_dir = os.path.join("build", preset)
    env = dict(env or {})
    if preset == "asan-ubsan":
        env.update(SANITIZER_ENV)
    if preset != "release":
        exclude = dict(RELEASE_ONLY)
    else:
        exclude = {}
    if quick:
        exclude.update(QUICK_SKIPS)
    suffix = " (%s)" % preset
    tests = None if gate.args.dry_run or preset in gate.failed_builds else ctest_tests(build_dir)

    # 1. Unit tests: each GoogleTest binary behind the label-unit tests, run once.
    unit = [t for t in tests if selects(TEST_GROUPS[0][1], t)] if tests is not None else None
    gtests = sorted({(t["command"][0], t["cwd"] or ROOT) for t in unit or [] if t["command"]})
    direct = unit is None or (bool(unit) and len(gtests) == len({g[0] for g in gtests}) and all(
        any(a.startswith("--gtest_filter") for a in t["command"][1:]) for t in unit))
    if direct:
        if unit is None:
            cmd, expected = "%s/bin/unit_tests --gtest_brief=1" % build_dir, 0
        else:
            parts = ["cd %s && %s --gtest_brief=1" % (shlex.quote(os.path.relpath(cwd, ROOT)),
                                                      shlex.quote(os.path.relpath(b, cwd))) for b, cwd in gtests]
            cmd = parts[0] if len(parts) == 1 else " && ".join("(%s)" % p for p in parts)
            expected = len([t for t in unit if not t["disabled"]])
        gate.run("unit tests" + suffix, cmd, needs=[preset], env=env, figures=gtest_figures(expected),
                 timeout=1800)

    # 2. Everything else in one ctest run.
    sel = ["-LE", TEST_GROUPS[0][1][1]] if direct else []
    if tests is None:
        drop = sorted(exclude)
        groups = None
    else:
        drop = sorted(t["name"] for t in tests if t["name"] in exclude)
        groups = {n: g for n, g in ctest_plan(tests, exclude).items() if not (direct and g == TEST_GROUPS[0][0])}
    if drop:
        sel += ["-E", "^(%s)$" % "|".join(re.escape(n) for n in drop)]
    if gate.args.property_cases:
        env["RC_PARAMS"] = "max_success=%d" % gate.args.property_cases
    cmd = ["ctest", "--test-dir", build_dir, "--output-on-failure", "--no-tests=error",
           "-j", str(gate.args.jobs), "--timeout", "900"] + sel
    gate.run(("property, corpus, examples, script tests" if direct else "ctest") + suffix, cmd,
             needs=[preset], env=env, timeout=3600,
             figures=lambda text: ctest_figures(text, groups, drop))


def fuzz_targets(bin_dir):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, bin_dir, "fuzz_*"))
                  if os.access(p, os.X_OK) and "." not in os.path.basename(p))


def coverage_steps(gate):
    """The test groups and the replay of the fuzz campaign's corpora under
    the coverage build (the differential check runs there as its quick
    slice, diffcheck_quick_test); then llvm-cov over codec/ and the threshold."""
    build = os.path.join("build", "coverage")
    prof_dir = os.path.join(ROOT, build, "profiles")
    if not gate.args.dry_run and "coverage" not in gate.failed_builds and gate.selected("unit tests (coverage)"):
        for f in glob.glob(os.path.join(prof_dir, "*.profraw")):
            os.remove(f)
        os.makedirs(prof_dir, exist_ok=True)
    # %4m: profiles merged online, a pool of 4 files per binary (not one per
    # process); absolute, as tests change directory.
    env = {"LLVM_PROFILE_FILE": os.path.join(prof_dir, "%4m.profraw")}
    test_steps(gate, "coverage", env=env)
    # Every campaign corpus (build/fuzz/campaign/<target>/corpus) through the
    # coverage build's replayer of that target.
    replay = ("n=0; for c in build/fuzz/campaign/*/corpus; do t=$(basename $(dirname $c)); "
              "[ -x {b}/bin/$t ] && [ -n \"$(ls -A $c)\" ] || continue; {b}/bin/$t $c || exit 1; n=$((n+1)); done; "
              "echo \"replayed $n campaign corpora\"").format(b=build)

    def replay_figures(text):
        runs = re.findall(r": replayed (\d+) inputs", text)
        figs = {"corpora": len(runs), "inputs": sum(map(int, runs))}
        if not runs and "fuzz" in gate.ran_builds:
            figs["fail"] = "no campaign corpus replayed"
        return figs
    gate.run("fuzz campaign corpora replay (coverage)", replay, needs=["coverage"], env=env,
             figures=replay_figures, timeout=3600)

    threshold = load_threshold()
    html = os.path.join(GATE_DIR, "coverage-html")
    summary = os.path.join(GATE_DIR, "coverage-summary.txt")
    export = os.path.join(GATE_DIR, "coverage-summary.json")
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
    # Every executable of the coverage build (the library is linked statically into each).
    cmd = ("rm -rf {html} && {profdata} merge -sparse {prof}/*.profraw -o {merged} && "
           "objs=$(for f in {b}/bin/*; do [ -f $f ] && [ -x $f ] && echo ${{objs+-object}} $f && objs=1; done) && "
           "{cov} show $objs -instr-profile={merged} -format=html -show-branches=count "
           "-output-dir={html} codec >/dev/null && "
           "{cov} export $objs -instr-profile={merged} -summary-only codec > {export} && "
           "{cov} report $objs -instr-profile={merged} codec > {summary} && cat {summary}").format(
               profdata=LLVM_PROFDATA, cov=LLVM_COV, b=build, prof=rel(prof_dir), merged=build + "/merged.profdata",
               html=rel(html), export=rel(export), summary=rel(summary))

    def figures(text):
        measured = coverage_totals(open(export).read())
        figs = {"lines%": round(measured["lines"], 2), "branches%": round(measured["branches"], 2),
                "lines": "%d/%d" % measured["lines_count"], "branches": "%d/%d" % measured["branches_count"],
                "functions%": round(measured["functions"], 2),
                "threshold": "lines %.1f%%, branches %.1f%%" % (threshold["lines"], threshold["branches"]),
                "html": os.path.relpath(os.path.join(html, "index.html"), ROOT)}
        short = check_coverage(measured, threshold)
        raised = raised_threshold(measured, threshold)
        if short:
            figs["fail"] = "below the threshold of ci/coverage-threshold.json: " + ", ".join(short)
        elif raised != threshold:
            figs["can_raise_to"] = "lines %.1f%%, branches %.1f%% (ci/gate --raise-threshold)" % (
                raised["lines"], raised["branches"])
            if gate.args.raise_threshold and not gate.args.quick:
                with open(THRESHOLD_FILE, "w") as f:
                    json.dump(raised, f, indent=2)
                    f.write("\n")
                figs["raised"] = "ci/coverage-threshold.json now lines %.1f%%, branches %.1f%%" % (
                    raised["lines"], raised["branches"])
        return figs

    gate.run("coverage of codec/", cmd, needs=["coverage"], figures=figures, timeout=1800)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="the release build, its tests and the quick differential check (under 3 minutes)")
    ap.add_argument("--fuzz-seconds", type=int, default=60, help="per fuzz target (default 60)")
    ap.add_argument("--property-cases", type=int, default=0,
                    help="RC_PARAMS=max_success=N for the property tests (default: their own gate-sized counts)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="build, ctest and fuzz jobs (default: cores)")
    ap.add_argument("--raise-threshold", action="store_true",
                    help="raise ci/coverage-threshold.json to what this run reached (never lowers it)")
    ap.add_argument("--only", metavar="REGEX", help="run only the steps whose names match (e.g. 'coverage of')")
    ap.add_argument("--verbose", action="store_true", help="stream every step's output")
    ap.add_argument("--dry-run", action="store_true", help="print each step's command, run nothing")
    ap.add_argument("--self-test", action="store_true", help="test the gate's parsers and threshold logic, then exit")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    gate = Gate(args)
    jobs = str(args.jobs)

    if not args.dry_run:
        gate.run("gate self-test", [sys.executable, os.path.abspath(__file__), "--self-test"], timeout=120)
    gate.build("release")
    test_steps(gate, "release", quick=args.quick)
    if args.quick:
        gate.diffcheck_args = ["--quick"]
    else:
        # A fresh seed each run, on the command line so that the log says how to rerun it.
        gate.diffcheck_args = ["--all-pythons", "--jobs", jobs, "--seed", str(int.from_bytes(os.urandom(3), "big"))]
    gate.run("differential check (release)", ["python3", "ci/diffcheck", "--bin", "build/release/bin"]
             + gate.diffcheck_args, needs=["release"], figures=diffcheck_figures, timeout=3600)
    if not args.quick:
        # A fixed sample of 12 mutants of codec/ in ci/mutate's own copy and build (build/mutate).
        gate.run("mutation testing (ci/mutate --quick)", ["python3", "ci/mutate", "--quick", "--jobs", jobs],
                 needs=["release"], figures=mutate_figures, timeout=7200)
        gate.build("asan-ubsan")
        test_steps(gate, "asan-ubsan")
        gate.build("fuzz", targets=["fuzz/all"])
        expected = fuzz_targets("build/fuzz/bin") if not args.dry_run else []
        gate.run("fuzz (%d s per target)" % args.fuzz_seconds,
                 ["python3", "ci/fuzz", "--minutes", "%g" % (args.fuzz_seconds / 60.0), "--jobs", jobs,
                  "--no-merge"] + expected,
                 needs=["fuzz"], figures=fuzz_figures(expected),
                 timeout=len(expected or [1]) * (args.fuzz_seconds + 900) + 600)
        gate.build("coverage")
        coverage_steps(gate)
    if args.dry_run:
        return 0
    return 0 if gate.report() else 1


# ---------------------------------------------------------------------------
# python3 ci/gate.py --self-test

def self_test():
    import tempfile
    import unittest

    class T(unittest.TestCase):
        def test_threshold_fails_below(self):
            th = {"lines": 90.0, "branches": 80.0}
            self.assertEqual(check_coverage({"lines": 90.0, "branches": 80.0}, th), [])
            self.assertEqual(check_coverage({"lines": 95.0, "branches": 85.5}, th), [])
            self.assertEqual(len(check_coverage({"lines": 89.99, "branches": 80.0}, th)), 1)
            self.assertEqual(len(check_coverage({"lines": 90.0, "branches": 79.9}, th)), 1)
            self.assertEqual(len(check_coverage({"lines": 10.0, "branches": 10.0}, th)), 2)

        def test_threshold_only_raised(self):
            th = {"lines": 90.0, "branches": 80.0, "note": "n"}
            self.assertEqual(raised_threshold({"lines": 92.37, "branches": 81.99}, th),
                             {"lines": 92.3, "branches": 81.9, "note": "n"})
            self.assertEqual(raised_threshold({"lines": 85.0, "branches": 70.0}, th), th)
            self.assertEqual(floor1(91.0), 91.0)
            self.assertEqual(floor1(91.09999), 91.0)
            self.assertEqual(floor1(88.8), 88.8)

        def test_threshold_file(self):
            t = load_threshold()
            self.assertGreater(t["lines"], 0)
            self.assertGreater(t["branches"], 0)
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                f.write('{"lines": "95", "branches": 90}')
            try:
                self.assertRaises(ValueError, load_threshold, f.name)
            finally:
                os.unlink(f.name)

        def test_coverage_totals(self):
            doc = {"data": [{"totals": {
                "lines": {"count": 1000, "covered": 951, "percent": 95.1},
                "branches": {"count": 400, "covered": 359, "percent": 89.75},
                "functions": {"count": 10, "covered": 10, "percent": 100.0},
                "regions": {"count": 10, "covered": 9, "percent": 90.0}}}]}
            m = coverage_totals(json.dumps(doc))
            self.assertEqual((m["lines"], m["branches"]), (95.1, 89.75))
            self.assertEqual(len(check_coverage(m, {"lines": 95.1, "branches": 89.8})), 1)

        def test_ctest(self):
            ok = "100% tests passed, 0 tests failed out of 580\n"
            self.assertEqual(ctest_figures(ok), {"tests": 580, "failed": 0})
            bad = ("99% tests passed, 1 tests failed out of 5\n\nThe following tests FAILED:\n"
                   "\t583 - examples_test (Failed)\n")
            f = ctest_figures(bad)
            self.assertIn("fail", f)
            self.assertEqual(f["failed_tests"], ["examples_test (Failed)"])
            self.assertIn("fail", ctest_figures("No tests were found!!!\n"))
            self.assertIn("fail", ctest_figures("0% tests passed, 0 tests failed out of 0\n"))

        def test_ctest_groups(self):
            t = lambda n, *l: {"name": n, "labels": list(l), "command": [], "cwd": None, "disabled": False}  # noqa: E731
            tests = [t("A.b", "unit"), t("Property.X", "property"), t("corpus_fuzz_diff_cpython", "corpus", "oracle"),
                     t("examples_test", "script"), t("dis_test", "script"), t("gen_x_fresh", "tables"),
                     t("show_bounds_test", "script"), t("lonely")]
            plan = ctest_plan(tests, {"show_bounds_test": "why"})
            self.assertEqual(plan, {"A.b": "unit tests", "Property.X": "property tests",
                                    "corpus_fuzz_diff_cpython": "corpus replay",
                                    "examples_test": "examples against Python",
                                    "dis_test": "script, oracle and table tests",
                                    "gen_x_fresh": "script, oracle and table tests", "lonely": "other tests"})
            out = ("1/3 Test #2: Property.X ......   Passed    1.00 sec\n"
                   "2/3 Test #4: examples_test ....***Failed    0.50 sec\n"
                   "3/3 Test #5: dis_test ...   Passed   30.10 sec\n"
                   "67% tests passed, 1 tests failed out of 3\n\nThe following tests FAILED:\n"
                   "\t  4 - examples_test (Failed)\nErrors while running CTest\n")
            groups = {"Property.X": "property tests", "examples_test": "examples against Python",
                      "dis_test": "script, oracle and table tests"}
            f = ctest_figures(out, groups, ["show_bounds_test"])
            self.assertEqual(f["examples against Python"], "0/1 passed")
            self.assertEqual(f["property tests"], "1/1 passed")
            self.assertEqual(f["failed_tests"], ["examples_test (Failed)"])
            self.assertIn("fail", f)
            ok = out.replace("***Failed", "   Passed").split("67%")[0] + "100% tests passed, 0 tests failed out of 3\n"
            self.assertNotIn("fail", ctest_figures(ok, groups))
            # a test of the plan that ctest did not run fails the step
            self.assertIn("fail", ctest_figures(ok, dict(groups, lonely="other tests")))

        def test_gtest(self):
            ok = "[==========] 581 tests from 40 test suites ran. (4000 ms total)\n[  PASSED  ] 581 tests.\n"
            self.assertNotIn("fail", gtest_figures(581)(ok))
            self.assertIn("fail", gtest_figures(600)(ok))
            bad = ("[  FAILED  ] Encode.X (1 ms)\n[==========] 581 tests from 40 test suites ran.\n"
                   "[  PASSED  ] 580 tests.\n[  FAILED  ] 1 test, listed below:\n[  FAILED  ] Encode.X\n")
            f = gtest_figures(581)(bad)
            self.assertEqual(f["failed_tests"], ["Encode.X"])
            self.assertIn("fail", f)
            self.assertIn("fail", gtest_figures(0)(""))

        def test_diffcheck(self):
            ok = ("diffcheck: fresh set (seed 7, rerun with --seed 7): 1 inputs\n"
                  "== inputs written by CPython 2.7.18: 20 inputs\n== inputs written by CPython 3.11.7: 9 inputs\n"
                  "diffcheck: 2994 checks, 2944 agree, 0 differ, 50 allowed (18 CPython cannot answer); "
                  "499 inputs; 14s; PASS\n")
            f = diffcheck_figures(ok)
            self.assertNotIn("fail", f)
            self.assertEqual((f["checks"], f["writers"], f["seed"]), (2994, 2, 7))
            bad = ok.replace("0 differ", "3 differ").replace("PASS", "FAIL")
            self.assertIn("fail", diffcheck_figures(bad))
            self.assertIn("fail", diffcheck_figures("diffcheck: no pickletool in x\n"))

        def test_mutate(self):
            line = ("mutate: 12 mutants, 10 killed, 1 timeout, 0 survived, 1 equivalent, 0 uncompilable; "
                    "kill rate 100.0% (target 95%): PASS\n")
            f = mutate_figures(line)
            self.assertEqual((f["mutants"], f["killed"], f["kill_rate%"]), (12, 11, 100.0))
            self.assertNotIn("fail", f)
            bad = line.replace("0 survived", "1 survived").replace("100.0%", "91.7%").replace("PASS", "FAIL")
            self.assertIn("fail", mutate_figures(bad))
            self.assertIn("fail", mutate_figures("ci/mutate: the suite fails without a mutant\n"))

        def test_fuzz(self):
            head = ("| target | time | execs | execs/s (avg) | cov | ft | corpus before -> after | new findings | known |\n"
                    "|---|---|---|---|---|---|---|---|---|\n")
            row = "| %s | 60s | %d | 100 | 900 | 2000 | 10 files 5 KB -> 10 files 5 KB | %s | 0 |\n"
            good = head + row % ("fuzz_decode", 6000, "none") + row % ("fuzz_stream", 5000, "none")
            f = fuzz_figures(["fuzz_decode", "fuzz_stream"])(good)
            self.assertNotIn("fail", f)
            self.assertEqual(f["execs"], {"fuzz_decode": 6000, "fuzz_stream": 5000})
            self.assertIn("fail", fuzz_figures(["fuzz_decode", "fuzz_stream", "fuzz_recode"])(good))
            idle = head + row % ("fuzz_decode", 0, "none")
            self.assertIn("fail", fuzz_figures(["fuzz_decode"])(idle))
            found = head + row % ("fuzz_decode", 10, "crash-0123456789ab")
            self.assertIn("crash-0123456789ab", fuzz_figures(["fuzz_decode"])(found)["fail"])

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(T)
    return 0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
