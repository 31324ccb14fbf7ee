"""Helpers shared by the ci/ scripts (import as `from lib import proc, llvm`;
each script's own directory, ci/, is first on sys.path):

  proc     one way to run a step: its own process group (killed whole on a
           timeout), output to a log, wall and CPU seconds accounted
  llvm     the llvm tools (llvm-cov, llvm-profdata) found once, and their
           coverage totals read one way
  figures  the figures of a step's output (ctest, GoogleTest, ci/diffcheck,
           ci/fuzz, ci/mutate) and the coverage threshold
"""
