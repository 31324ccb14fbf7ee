"""Open bugs of the codec that the real-library corpus found (issue 15), each
with a minimal reproduction.  They are not divergences (nothing allows them):
tests/realworld_test.py and ci/diffcheck count and print them as "open"
instead of failing, and the test fails when one no longer occurs, so that an
entry goes when its bug is fixed.

Each entry: (file pattern, check, what the failure says, the bug), where
check is "real" (the real-class reference, oracle/realclass.py) or "show"
(`pickletool show`), the pattern is matched against the file's name
(fnmatch) and the text against the verdict's note or pickletool's error.
"""
import fnmatch
import os

KNOWN_OPEN = [
]


def match(path, check, text):
    """The index of the KNOWN_OPEN entry this failure is, or None."""
    name = os.path.basename(path)
    for i, (pattern, what, says, _) in enumerate(KNOWN_OPEN):
        if what == check and fnmatch.fnmatch(name, pattern) and says in (text or ""):
            return i
    return None
