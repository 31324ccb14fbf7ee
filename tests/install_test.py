#!/usr/bin/env python3
"""The installed package works for a program outside the project.

Installs the build (`cmake --install BUILD --prefix TMP`), then configures,
builds and runs tests/install_consumer with find_package(picklecodec), as
the README tells users to. Fails if the package lacks an include path or a
link dependency (both happened: the include path was empty because
GNUInstallDirs was read after the target).

    tests/install_test.py --bin BUILD/bin
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the build's runtime output directory (BUILD/bin)")
    build = os.path.dirname(os.path.abspath(ap.parse_args().bin))
    with tempfile.TemporaryDirectory() as tmp:
        prefix, consumer = os.path.join(tmp, "prefix"), os.path.join(tmp, "build")
        run(["cmake", "--install", build, "--prefix", prefix])
        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        run(["cmake", "-S", os.path.join(HERE, "install_consumer"), "-B", consumer, *gen,
             f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", consumer])
        out = run([os.path.join(consumer, "consumer")])
    if out != "same dangerous\n":
        sys.exit(f"FAIL: the consumer printed {out!r}, expected 'same dangerous\\n'")
    print("ok: installed package found, built against and run")


if __name__ == "__main__":
    main()
