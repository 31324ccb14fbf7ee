"""The gate's own checks: figure parsers and threshold logic (run by
python3 ci/gate.py --self-test, the gate's first step)."""
import json
import os
import sys
import tempfile
import unittest

CI = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, CI)
from lib.figures import (check_coverage, coverage_totals, ctest_figures, diffcheck_figures,  # noqa: E402
                         floor1, fuzz_figures, gtest_figures, load_threshold, mutate_figures, raised_threshold)
from lib import llvm  # noqa: E402


def ctest_plan(*a):
    import importlib.util
    spec = importlib.util.spec_from_file_location("gate", os.path.join(CI, "gate.py"))
    gate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gate)
    return gate.ctest_plan(*a)


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

    def test_run_step_counts_cpu_and_logs(self):
        from lib import proc
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "step.log")
            step = proc.run_step([sys.executable, "-c", "import time\nt = time.process_time()\n"
                                  "while time.process_time() - t < 0.3: pass\nprint('done')"], log)
            self.assertEqual((step.rc, step.output, step.timed_out), (0, "done\n", False))
            self.assertGreaterEqual(step.cpu, 0.29)
            with open(log) as f:
                self.assertTrue(f.read().endswith("done\n"))

    def test_run_step_kills_the_group_on_timeout(self):
        from lib import proc
        step = proc.run_step("sleep 60 & sleep 60; echo never", timeout=0.5)
        self.assertTrue(step.timed_out)
        self.assertNotEqual(step.rc, 0)
        self.assertNotIn("never", step.output)

    def test_llvm_tool_found_or_named(self):
        try:
            name = llvm.tool("llvm-cov")
        except LookupError as e:
            self.assertIn("apt-get install llvm-14", str(e))
            return
        self.assertTrue(name.startswith("llvm-cov"))


if __name__ == "__main__":
    unittest.main()
