"""Figures of the gate's steps, each parser a dict from a step's output
("fail": <why> fails the step), and the coverage threshold's logic."""
import json
import math
import os
import re

import lib.llvm as llvm

THRESHOLD_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "coverage-threshold.json")


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


def ctest_figures(text, groups=None, excluded=(), order=None):
    """Figures of a ctest run; with `groups` ({test: group}), a passed/total count per
    group, listed in `order`."""
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
        order = list(order or []) + ["other tests"]
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
    return llvm.totals(export_json)


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
