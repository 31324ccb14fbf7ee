#!/usr/bin/env python3
"""mutate_test: ci/mutate's mutator, sampling and private copy, without a build.

The operators make exactly the expected mutants of a small C++ sample
(and none inside strings, comments or preprocessor lines); sampling is
deterministic for a seed, spread over files in proportion to their mutable
lines; a whole run (with a stand-in suite instead of CMake and ctest) on a
throwaway git repository leaves its working tree, index and HEAD untouched,
restores the private copy after every mutant, records a resumable log and
reports killed, survived, timed-out, equivalent and uncompilable mutants.

    python3 tests/mutate_test.py [--bin DIR]   (--bin is accepted and unused)
"""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
loader = importlib.machinery.SourceFileLoader("ci_mutate", os.path.join(ROOT, "ci", "mutate"))
spec = importlib.util.spec_from_loader("ci_mutate", loader)
mutate = importlib.util.module_from_spec(spec)
loader.exec_module(mutate)

SAMPLE = r'''// a sample
#include <vector>
#define TWICE(x) ((x) + (x))
bool f(int a, int b) {
  if (a < b && b != 0) return true;
  const char* s = "a < b && c";  /* a + b */
  x = a + 1;
  g(x);
  return a >= b;
}
'''


def mutants_of(text, path="codec/src/sample.cpp"):
    return mutate.file_mutants(path, text.split("\n"))


def changes(text):
    """{line: sorted [(op, mutated line)]}"""
    return {no: sorted((m.op, m.mutated) for m in ms) for no, ms in mutants_of(text).items()}


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def git(repo, *args):
    return subprocess.run(["git", "-C", repo] + list(args), check=True, capture_output=True, text=True).stdout


class Operators(unittest.TestCase):
    def test_sample_file(self):
        got = changes(SAMPLE)
        self.assertEqual(sorted(got), [5, 7, 8, 9])  # not the comment, #include, #define, nor the string
        self.assertEqual(got[5], sorted([
            ("relational", "  if (a >= b && b != 0) return true;"),
            ("boundary", "  if (a <= b && b != 0) return true;"),
            ("equality", "  if (a < b && b == 0) return true;"),
            ("logical", "  if (a < b || b != 0) return true;"),
            ("constant", "  if (a < b && b != 1) return true;"),
            ("constant", "  if (a < b && b != 0) return false;"),
        ]))
        self.assertEqual(got[7], sorted([
            ("arithmetic", "  x = a - 1;"),
            ("constant", "  x = a + 2;"),
            ("constant", "  x = a + 0;"),
            ("statement", "  ;"),
        ]))
        self.assertEqual(got[8], [("statement", "  ;")])
        self.assertEqual(got[9], sorted([
            ("relational", "  return a < b;"),
            ("boundary", "  return a > b;"),
            ("return", "  return !(a >= b);"),
        ]))

    def test_returns_and_negation(self):
        got = changes("int f() {\n  return 0;\n}\nbool g() {\n  if (!ok) return false;\n  return 7u;\n}\n")
        self.assertIn(("return", "  return 1;"), got[2])
        self.assertIn(("negation", "  if (ok) return false;"), got[5])
        self.assertIn(("constant", "  if (!ok) return true;"), got[5])
        self.assertIn(("return", "  return 0u;"), got[6])
        self.assertIn(("constant", "  return 8u;"), got[6])
        self.assertIn(("constant", "  return 6u;"), got[6])

    def test_no_mutants_in_literals_comments_and_declarations(self):
        text = ('  auto s = R"x(a < b)x";\n  int y = 1;\n  /* a < b\n  c > d */\n  T() = default;\n'
                '  char c = \'<\';\n  std::vector<int> v;\n  p->q = 1\'000;\n  size_t k = uint8_t(3) - 2;\n'
                '  call(a,\n       b < c);\n')
        got = changes(text)
        self.assertNotIn(1, got)   # a raw string
        self.assertEqual(got[2], sorted([("constant", "  int y = 2;"), ("constant", "  int y = 0;")]))  # no deletion
        self.assertNotIn(3, got)   # a block comment
        self.assertNotIn(4, got)
        self.assertNotIn(5, got)   # = default is a declaration
        self.assertNotIn(6, got)   # a character literal
        self.assertNotIn(7, got)   # template brackets
        self.assertIn(("constant", "  p->q = 1001;"), got[8])
        self.assertIn(("statement", "  ;"), got[8])
        self.assertEqual(sorted(op for op, _ in got[9]), ["arithmetic", "constant", "constant", "constant",
                                                          "constant"])  # uint8_t's 8 is a name
        self.assertIn(("boundary", "       b <= c);"), got[11])
        self.assertNotIn(("statement", "  ;"), got.get(11, []))  # the end of a statement, not one

    def test_no_minus_beside_a_string_literal(self):
        got = changes('  out += ", ";\n  x = "a" + s + "b";\n  y = a + b;\n')
        self.assertEqual(got[1], [("statement", "  ;")])
        self.assertEqual(got[2], [("statement", "  ;")])
        self.assertIn(("arithmetic", "  y = a - b;"), got[3])

    def test_hex_literals_keep_their_form(self):
        got = changes("  x = 0xff;\n")
        self.assertIn(("constant", "  x = 0x100;"), got[1])
        self.assertIn(("constant", "  x = 0xfe;"), got[1])

    def test_ids_follow_the_line_not_its_number(self):
        a = mutants_of(SAMPLE)
        b = mutants_of("\n\n" + SAMPLE)
        ids_a = sorted(m.id for ms in a.values() for m in ms)
        ids_b = sorted(m.id for ms in b.values() for m in ms)
        self.assertEqual(ids_a, ids_b)
        self.assertEqual(len(ids_a), len(set(ids_a)))
        self.assertNotEqual(ids_a, sorted(m.id for ms in mutants_of(SAMPLE, "codec/src/other.cpp").values()
                                          for m in ms))


class Sampling(unittest.TestCase):
    def tree(self):
        big = "".join("  x%d = y + %d;\n" % (i, i) for i in range(300))
        small = "".join("  z%d = w - %d;\n" % (i, i) for i in range(100))
        return {"codec/src/big.cpp": big, "codec/src/small.cpp": small,
                "codec/src/table.inc": "// GENERATED by gen.py\n  a = b + 1;\n",
                "codec/gen/gen.py": "x = 1 + 2\n", "tools/other.cpp": "  a = b + 1;\n"}

    def test_deterministic_for_a_seed(self):
        tree = self.tree()
        files = mutate.source_files(tree, mutate.DEFAULT_FILES)
        self.assertEqual(files, ["codec/src/big.cpp", "codec/src/small.cpp"])  # not generated, not Python
        muts = mutate.enumerate_mutants(tree, files)
        one = [m.id for m in mutate.sample(muts, 20, 7)]
        self.assertEqual(one, [m.id for m in mutate.sample(mutate.enumerate_mutants(tree, files), 20, 7)])
        self.assertNotEqual(one, [m.id for m in mutate.sample(muts, 20, 8)])
        self.assertEqual(len(one), 20)

    def test_spread_by_lines(self):
        tree = self.tree()
        files = mutate.source_files(tree, mutate.DEFAULT_FILES)
        chosen = mutate.sample(mutate.enumerate_mutants(tree, files), 20, 3)
        per = {f: [m.line for m in chosen if m.file == f] for f in files}
        self.assertEqual({f: len(v) for f, v in per.items()}, {"codec/src/big.cpp": 15, "codec/src/small.cpp": 5})
        # one line in each twentieth of big.cpp's 300 lines: one per stretch of 20
        self.assertEqual(sorted((line - 1) // 20 for line in per["codec/src/big.cpp"]), list(range(15)))
        self.assertEqual(len(set(per["codec/src/small.cpp"])), 5)

    def test_files_glob(self):
        tree = self.tree()
        self.assertEqual(mutate.source_files(tree, "codec/src/small*"), ["codec/src/small.cpp"])
        self.assertEqual(mutate.source_files(tree, "codec/src/small*, tools/*"),
                         ["codec/src/small.cpp", "tools/other.cpp"])

    def test_equivalent_file(self):
        eq = mutate.load_equivalent(os.path.join(ROOT, mutate.EQUIVALENT_FILE))
        for mid, why in eq.items():
            self.assertRegex(mid, r"^m[0-9a-f]{10}$")
            self.assertTrue(why.strip())
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# comment\nm0123456789 a reason\n\nm01234 short\n")
        try:
            self.assertRaises(ValueError, mutate.load_equivalent, f.name)
        finally:
            os.unlink(f.name)


class FakeSuite:
    """A suite whose build 'fails' on a line holding `broken`, and whose one
    step 'fails' when the copy's file holds `1 - 1`, 'hangs' (is over its
    CPU time) when it holds `>= 0`, and passes otherwise."""

    def __init__(self, src):
        self.src = src
        self.builds = 0
        self.seen = []

    def configure(self, log_dir):
        return True

    def compile(self, log_path, first=False):
        self.builds += 1
        text = read(os.path.join(self.src, "codec", "a.cpp"))
        self.seen.append(text)
        return "broken" not in text, 0.0

    def steps(self):
        check = ("import sys; t = open('codec/a.cpp').read(); "
                 "sys.exit(1 if '1 - 1' in t else 0) if '>= 0' not in t else [0 for _ in iter(int, 1)]")
        return [("unit", [sys.executable, "-c", check], self.src, {})]


class PrivateCopy(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = os.path.join(self.tmp.name, "repo")
        os.makedirs(os.path.join(self.repo, "codec"))
        self.text = "int f(int x) {\n  int y = 1 + 1;\n  if (x < 0) return 2;\n  return y;\n}\n"
        with open(os.path.join(self.repo, "codec", "a.cpp"), "w") as f:
            f.write(self.text)
        git(self.repo, "init", "-q")
        git(self.repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "codec/a.cpp")
        git(self.repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
        # uncommitted work in the tree: must survive, and must not be what is mutated
        with open(os.path.join(self.repo, "codec", "a.cpp"), "a") as f:
            f.write("// work in progress\n")
        with open(os.path.join(self.repo, "notes.txt"), "w") as f:
            f.write("untracked\n")
        self.work = os.path.join(self.tmp.name, "work")

    def tearDown(self):
        self.tmp.cleanup()

    def state(self):
        files = {}
        for d, _, names in os.walk(self.repo):
            if ".git" in d.split(os.sep):
                continue
            for n in names:
                p = os.path.join(d, n)
                files[os.path.relpath(p, self.repo)] = (read(p, "rb"), os.stat(p).st_mtime_ns)
        return files, git(self.repo, "status", "--porcelain"), git(self.repo, "rev-parse", "HEAD"), \
            read(os.path.join(self.repo, ".git", "index"), "rb")

    def test_run_leaves_the_tree_alone(self):
        before = self.state()
        src = os.path.join(self.work, "src")
        suite = FakeSuite(src)
        run = mutate.Run(self.repo, self.work, suite, log_name="t", say=lambda m: None)
        self.assertIsNotNone(run.prepare())
        run.baseline = {"unit": 0.1}  # the stand-in hang is cut at CPU_MIN (1 s here)
        lines = self.text.split("\n")
        def m(no, op, new):
            return mutate.Mutant("m%010x" % len(made), "codec/a.cpp", no, op, lines[no - 1], new)
        made = []
        for args in [(2, "arithmetic", "  int y = 1 - 1;"),            # killed
                     (3, "boundary", "  if (x <= 0) return 2;"),       # survives
                     (3, "constant", "  if (x < 0) return broken;"),   # does not compile
                     (4, "return", "  return y;  // >= 0")]:           # hangs: a timeout
            made.append(m(*args))
        mutants = made
        old_min = mutate.CPU_MIN
        mutate.CPU_MIN = 1
        try:
            recs = run.execute(mutants, resume=False)
        finally:
            mutate.CPU_MIN = old_min
        self.assertEqual([r["status"] for r in recs], ["killed", "survived", "uncompilable", "timeout"])
        self.assertEqual(self.state(), before)  # tree, index and HEAD untouched
        # the copy holds HEAD, restored after every mutant
        self.assertEqual(read(os.path.join(src, "codec", "a.cpp")), self.text)
        self.assertFalse(os.path.exists(os.path.join(src, "notes.txt")))
        self.assertEqual(suite.seen[1:], ["\n".join(lines[:n.line - 1] + [n.mutated] + lines[n.line:])
                                          for n in mutants])
        # the log is resumable: nothing runs again
        builds = suite.builds
        again = run.execute(mutants, resume=True)
        self.assertEqual(suite.builds, builds)
        self.assertEqual([r["status"] for r in again], [r["status"] for r in recs])
        logged = [json.loads(l) for l in read(run.log_path).splitlines()]
        run.unlock()
        self.assertEqual([r["id"] for r in logged], [x.id for x in mutants])
        # the report: the rate over non-equivalent mutants that compiled
        text, t = mutate.report(recs, {mutants[1].id: "x is never 0 here"}, "ci/mutate --x", run.commit, 3, 95)
        self.assertEqual((t["killed"], t["timeout"], t["survived"], t["equivalent"], t["uncompilable"]),
                         (1, 1, 0, 1, 1))
        self.assertEqual(t["rate"], 100.0)
        self.assertIn("x is never 0 here", text)
        text, t = mutate.report(recs, {}, "ci/mutate --x", run.commit, 3, 95)
        self.assertAlmostEqual(t["rate"], 200 / 3)
        self.assertIn("| codec/a.cpp:3 | boundary | `if (x < 0) return 2;` | `if (x <= 0) return 2;` |", text)

    def test_interrupted_mutant_is_restored_by_the_next_run(self):
        src = os.path.join(self.work, "src")
        mutate.sync_copy(self.repo, "HEAD", src)
        with open(os.path.join(src, "codec", "a.cpp"), "w") as f:
            f.write("left by a killed run\n")
        with open(os.path.join(src, "stale.txt"), "w") as f:
            f.write("x\n")
        mutate.sync_copy(self.repo, "HEAD", src)
        self.assertEqual(read(os.path.join(src, "codec", "a.cpp")), self.text)
        self.assertFalse(os.path.exists(os.path.join(src, "stale.txt")))


if __name__ == "__main__":
    argv = [a for i, a in enumerate(sys.argv) if a != "--bin" and (i == 0 or sys.argv[i - 1] != "--bin")]
    unittest.main(argv=argv, verbosity=1)
