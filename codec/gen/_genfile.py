"""The write-or-check step every table generator in codec/gen/ ends with.

    python3 codec/gen/gen_X.py            # rewrite the table
    python3 codec/gen/gen_X.py --check    # exit 1 if it is stale or missing
"""
import os
import sys


def emit(out_path, text):
    """Write text to out_path, or with --check compare; returns the exit code."""
    if "--check" not in sys.argv:
        with open(out_path, "w") as f:
            f.write(text)
        return 0
    try:
        with open(out_path) as f:
            current = f.read()
    except OSError:
        current = None
    if current != text:
        script = os.path.relpath(os.path.abspath(sys.argv[0]))
        print("%s is stale: run python3 %s" % (os.path.basename(out_path), script))
        return 1
    return 0
