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
import os
import re
import shlex
import subprocess
import sys
import time

from lib import llvm, proc
from lib.figures import (THRESHOLD_FILE, check_coverage, coverage_totals, ctest_figures, diffcheck_figures,
                         format_figures, fuzz_figures, gtest_figures, load_threshold, mutate_figures,
                         raised_threshold)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE_DIR = os.path.join(ROOT, "build", "gate")

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
        shown = proc.show_command(cmd, env)
        print("\n=== gate: %s\n$ %s" % (name, shown), flush=True)
        if self.args.dry_run:
            return True
        log_path = os.path.join(GATE_DIR, re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".log")
        step = proc.run_step(cmd, log_path, env=env, timeout=timeout, echo=self.args.verbose)
        rc, text, elapsed, cpu = step.rc, step.output, step.seconds, step.cpu
        if not self.args.verbose:
            sys.stdout.write("".join(text.splitlines(True)[-12:]))
        figs = {}
        if figures:
            try:
                figs = figures(text) or {}
            except Exception as e:  # a figure parser must not hide the step's result
                figs = {"fail": "figures unreadable: %s: %s" % (type(e).__name__, e)}
        why = figs.pop("fail", None)
        if step.timed_out:
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
             figures=lambda text: ctest_figures(text, groups, drop, [n for n, _ in TEST_GROUPS]))


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
               profdata=llvm.tool("llvm-profdata"), cov=llvm.tool("llvm-cov"), b=build, prof=rel(prof_dir), merged=build + "/merged.profdata",
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


def self_test():
    """The gate's parsers and threshold logic (ci/lib/test_gate.py)."""
    import unittest
    suite = unittest.defaultTestLoader.discover(os.path.join(ROOT, "ci", "lib"), pattern="test_*.py",
                                                top_level_dir=os.path.join(ROOT, "ci"))
    return 0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
