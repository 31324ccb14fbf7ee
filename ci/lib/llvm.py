"""The llvm coverage tools, found one way, and their totals read one way."""
import glob
import json
import os
import re
import shutil

import lib.proc as proc


def tool(name):
    """llvm-cov / llvm-profdata: the version clang 14 writes profiles for
    (name-14), else the highest versioned one on PATH, else the plain name.
    Raises LookupError (Debian: apt-get install llvm-14)."""
    if shutil.which(name + "-14"):
        return name + "-14"
    versions = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        for p in glob.glob(os.path.join(d, name + "-[0-9]*")):
            m = re.search(r"-(\d+)$", p)
            if m and os.access(p, os.X_OK):
                versions.append((int(m.group(1)), os.path.basename(p)))
    if versions:
        return max(versions)[1]
    if shutil.which(name):
        return name
    raise LookupError("%s not found (Debian: apt-get install llvm-14)" % name)


def totals(export_json):
    """Totals of `llvm-cov export -summary-only`: {kind: percent} and
    {kind + "_count": (covered, count)} for lines, branches, functions, regions."""
    t = json.loads(export_json)["data"][0]["totals"]
    out = {}
    for k in ("lines", "branches", "functions", "regions"):
        out[k] = t[k]["percent"]
        out[k + "_count"] = (t[k]["covered"], t[k]["count"])
    return out


def objects_args(binaries):
    """llvm-cov's way of naming several binaries: the first, then -object each."""
    args = [binaries[0]]
    for b in binaries[1:]:
        args += ["-object", b]
    return args


def export_totals(profile, binaries, sources, env=None):
    """totals() of the binaries' coverage of `sources` under a merged profile."""
    r = proc.run([tool("llvm-cov"), "export", "-summary-only", "-instr-profile", profile] +
                 objects_args(binaries) + list(sources), env=env, stdout=__import__("subprocess").PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("llvm-cov export failed")
    return totals(r.stdout)


def merge(out, raws, env=None):
    """llvm-profdata merge -sparse of the raw profiles into `out`; -> True if it worked."""
    return proc.run([tool("llvm-profdata"), "merge", "-sparse", "-o", out] + list(raws), env=env).returncode == 0


def show_html(profile, binaries, sources, out_dir, env=None):
    import subprocess
    return proc.run([tool("llvm-cov"), "show", "-format=html", "-output-dir", out_dir, "-instr-profile", profile] +
                    objects_args(binaries) + list(sources), env=env, stdout=subprocess.DEVNULL).returncode == 0
