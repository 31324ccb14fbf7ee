#!/usr/bin/env python3
"""The conformance gate: every build, every check, one report.

Run through ci/gate (which installs what is missing first). Steps run in
order; a failed build skips the steps that need it. Each step's status,
time and figures go to build/gate/report.json and report.md, and a summary
table is printed at the end. Exit status is non-zero if any step failed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE_DIR = os.path.join(ROOT, "build", "gate")
THRESHOLD_FILE = os.path.join(ROOT, "ci", "coverage-threshold.json")


class Gate:
    def __init__(self, args):
        self.args = args
        self.steps = []
        self.failed_builds = set()
        os.makedirs(GATE_DIR, exist_ok=True)

    def run(self, name, cmd, needs=(), env=None, figures=None, timeout=None):
        """Runs one step; `figures(output)` extracts numbers for the report."""
        missing = [b for b in needs if b in self.failed_builds]
        if missing:
            self.record(name, "skipped", 0.0, {"reason": "build failed: " + ", ".join(missing)})
            return False
        print("\n=== gate: %s\n$ %s" % (name, cmd if isinstance(cmd, str) else " ".join(cmd)),
              flush=True)
        log_path = os.path.join(GATE_DIR, re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".log")
        start = time.monotonic()
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, shell=isinstance(cmd, str), cwd=ROOT, env=full_env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    errors="replace")
            output = []
            for line in proc.stdout:
                log.write(line)
                output.append(line)
                if self.args.verbose:
                    sys.stdout.write(line)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = -9
        elapsed = time.monotonic() - start
        text = "".join(output)
        if not self.args.verbose:
            sys.stdout.write("".join(output[-15:]))
        figs = {}
        if figures:
            try:
                figs = figures(text) or {}
            except Exception as e:  # a figure parser must not hide the step's result
                figs = {"figure_error": str(e)}
        ok = rc == 0 and not figs.get("fail")
        figs.pop("fail", None)
        figs["log"] = os.path.relpath(log_path, ROOT)
        self.record(name, "pass" if ok else "fail", elapsed, figs)
        return ok

    def build(self, preset, targets=None):
        cmd = "cmake --preset %s >/dev/null && cmake --build --preset %s -j %d" % (
            preset, preset, os.cpu_count() or 2)
        if targets:
            cmd += " --target " + " ".join(targets)
        if not self.run("build " + preset, cmd):
            self.failed_builds.add(preset)

    def record(self, name, status, seconds, figures):
        self.steps.append({"step": name, "status": status, "seconds": round(seconds, 1),
                           "figures": figures})

    def report(self):
        ok = all(s["status"] != "fail" for s in self.steps)
        doc = {"ok": ok, "quick": self.args.quick, "steps": self.steps,
               "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        with open(os.path.join(GATE_DIR, "report.json"), "w") as f:
            json.dump(doc, f, indent=2)
        lines = ["# Gate report", "",
                 "%s, %s gate: **%s**" % (doc["finished"], "quick" if self.args.quick else "full",
                                          "PASS" if ok else "FAIL"), "",
                 "| step | status | seconds | figures |", "|---|---|---|---|"]
        for s in self.steps:
            figs = ", ".join("%s=%s" % (k, v) for k, v in s["figures"].items() if k != "log")
            lines.append("| %s | %s | %.1f | %s |" % (s["step"], s["status"], s["seconds"], figs))
        with open(os.path.join(GATE_DIR, "report.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines[4:]))
        print("\nreport: build/gate/report.md, build/gate/report.json")
        return ok


def ctest_figures(text):
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    if not m:
        return {"fail": True, "tests": 0}
    return {"tests": int(m.group(3)), "failed": int(m.group(2))}


def coverage_step(gate):
    """Runs the suite under the coverage build and checks codec/ coverage."""
    build = os.path.join(ROOT, "build", "coverage")
    prof_dir = os.path.join(build, "profiles")
    shutil.rmtree(prof_dir, ignore_errors=True)
    os.makedirs(prof_dir)
    env = {"LLVM_PROFILE_FILE": os.path.join(prof_dir, "%p-%m.profraw")}
    label = "-L 'unit|corpus|script'" if gate.args.quick else ""
    gate.run("tests under coverage", "ctest --test-dir build/coverage -j %d %s --timeout 900"
             % (os.cpu_count() or 2, label), needs=["coverage"], env=env, figures=ctest_figures)
    if "coverage" in gate.failed_builds:
        return
    objects = [os.path.join(build, "bin", b) for b in sorted(os.listdir(os.path.join(build, "bin")))]
    objects = [o for o in objects if os.access(o, os.X_OK) and not o.endswith(".py")]
    with open(THRESHOLD_FILE) as f:
        threshold = json.load(f)
    html = os.path.join(GATE_DIR, "coverage-html")
    obj_args = " ".join(objects[:1] + ["-object " + o for o in objects[1:]])
    src = os.path.join(ROOT, "codec")
    cmd = ("llvm-profdata-14 merge -sparse {prof}/*.profraw -o {build}/merged.profdata && "
           "llvm-cov-14 show {objs} -instr-profile={build}/merged.profdata -format=html "
           "-output-dir={html} {src} >/dev/null && "
           "llvm-cov-14 report {objs} -instr-profile={build}/merged.profdata {src}").format(
               prof=prof_dir, build=build, objs=obj_args, html=html, src=src)

    def figures(text):
        total = [l for l in text.splitlines() if l.startswith("TOTAL")]
        if not total:
            return {"fail": True}
        cols = total[-1].split()
        # TOTAL regions missed cover% functions missed executed% lines missed cover% branches missed cover%
        lines_pct = float(cols[9].rstrip("%"))
        branch_pct = float(cols[12].rstrip("%"))
        return {"lines%": lines_pct, "branches%": branch_pct,
                "min_lines%": threshold["lines"], "min_branches%": threshold["branches"],
                "html": os.path.relpath(os.path.join(html, "index.html"), ROOT),
                "fail": lines_pct < threshold["lines"] or branch_pct < threshold["branches"]}

    gate.run("coverage of codec/", cmd, needs=["coverage"], figures=figures)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a subset in under 3 minutes")
    ap.add_argument("--fuzz-seconds", type=int, default=60, help="per fuzz target (full gate)")
    ap.add_argument("--verbose", action="store_true", help="stream every step's output")
    args = ap.parse_args()
    gate = Gate(args)
    jobs = os.cpu_count() or 2

    gate.build("release")
    gate.run("unit, script and oracle tests (release)",
             "ctest --preset release -j %d --timeout 600" % jobs + (" -LE slow" if args.quick else ""),
             needs=["release"], figures=ctest_figures)
    diff_cmd = "python3 ci/diffcheck --bin build/release/bin" + (" --quick" if args.quick else " --all-pythons")
    gate.run("differential check against CPython", diff_cmd, needs=["release"],
             figures=lambda t: {"summary": (re.findall(r"^diffcheck: .*$", t, re.M) or ["?"])[-1]})
    if not args.quick:
        gate.build("asan-ubsan")
        gate.run("tests under ASan+UBSan", "ctest --preset asan-ubsan -j %d --timeout 900" % jobs,
                 needs=["asan-ubsan"], figures=ctest_figures)
        gate.build("fuzz")
        gate.run("fuzz campaign (%d s per target)" % args.fuzz_seconds,
                 "ci/fuzz --minutes %g --jobs %d --no-merge" % (args.fuzz_seconds / 60.0, jobs),
                 needs=["fuzz"],
                 figures=lambda t: {"summary": (re.findall(r"^fuzz: .*$", t, re.M) or ["?"])[-1]})
    gate.build("coverage")
    coverage_step(gate)
    return 0 if gate.report() else 1


if __name__ == "__main__":
    sys.exit(main())
