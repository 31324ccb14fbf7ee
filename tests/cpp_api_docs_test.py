#!/usr/bin/env python3
"""cpp_api_docs_test: every C++ snippet of docs/cpp-api.md is code that is
compiled and run. A snippet follows a line `<!-- snippet: FILE TAG -->` and
must equal the lines between `// [doc:TAG]` and `// [/doc:TAG]` of FILE
(dedented), a program that ctest builds and runs (examples/cpp_api_*.cpp).

    python3 tests/cpp_api_docs_test.py [--bin DIR]   (--bin is accepted, unused)
"""
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "cpp-api.md")


def region(path, tag):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    m = re.search(r"^[ \t]*// \[doc:%s\]\n(.*?)^[ \t]*// \[/doc:%s\]\n" % (re.escape(tag), re.escape(tag)), text,
                  re.S | re.M)
    if not m:
        raise SystemExit("%s: no region [doc:%s]" % (path, tag))
    return textwrap.dedent(m.group(1)).rstrip("\n")


def main():
    with open(DOC) as f:
        doc = f.read()
    snippets = re.findall(r"<!-- snippet: (\S+) (\S+) -->\n```cpp\n(.*?)\n```", doc, re.S)
    blocks = len(re.findall(r"^```cpp", doc, re.M))
    failures = []
    if blocks != len(snippets):
        failures.append("%d cpp blocks, %d of them marked as snippets of a compiled file" % (blocks, len(snippets)))
    for path, tag, body in snippets:
        want = region(path, tag)
        if body != want:
            failures.append("%s [doc:%s] differs from the document:\n--- doc\n%s\n--- file\n%s" % (path, tag, body, want))
    for f in failures:
        print("FAIL:", f)
    print("%d snippets checked, %d failures" % (len(snippets), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
