"""Find every CPython on the machine and run snippets under each.

Sources: every `$(pyenv root)/versions/*/bin/python`, Debian's
/usr/bin/python3, and `python3` on PATH.  Duplicates (same real path) are
dropped; absent or broken interpreters are skipped, never fatal.

    python3 oracle/pythons.py            # list them
"""

import glob
import os
import shutil
import subprocess
import sys

_PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"


class Python(object):
    __slots__ = ("path", "version", "source")

    def __init__(self, path, version, source):
        self.path, self.version, self.source = path, version, source

    @property
    def short(self):
        """'2.7', '3.11' ..."""
        return ".".join(self.version.split(".")[:2])

    @property
    def version_tuple(self):
        return tuple(int(x) for x in self.version.split("."))

    def __repr__(self):
        return "Python(%s %s [%s])" % (self.version, self.path, self.source)


def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root and os.path.isdir(root):
        return root
    exe = shutil.which("pyenv")
    if exe:
        try:
            out = subprocess.run([exe, "root"], capture_output=True, text=True, timeout=20)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def _candidates():
    root = pyenv_root()
    if root:
        for p in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))):
            yield p, "pyenv"
    yield "/usr/bin/python3", "debian"
    p = shutil.which("python3")
    if p:
        yield p, "PATH"


def _probe(path):
    try:
        out = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=30,
                             env=clean_env())
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    lines = out.stdout.split()
    return lines[0] if lines else None


def clean_env(extra=None):
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(k, None)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


_CACHE = []


def find_pythons():
    """List of Python objects, sorted by version then source, real paths unique."""
    if _CACHE:
        return list(_CACHE)
    seen = set()
    found = []
    for path, source in _candidates():
        if not os.path.exists(path):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        version = _probe(path)
        if version is None:
            continue
        seen.add(real)
        found.append(Python(path, version, source))
    order = {"pyenv": 0, "debian": 1, "PATH": 2}
    found.sort(key=lambda p: (p.version_tuple, order.get(p.source, 3)))
    _CACHE.extend(found)
    return list(found)


def run_snippet(python, code, args=(), cwd=None, env=None, timeout=600, input_bytes=None):
    """Run `code` under `python` (a Python object or a path); CompletedProcess (bytes)."""
    path = python.path if isinstance(python, Python) else python
    return subprocess.run([path, "-c", code] + list(args), cwd=cwd, env=clean_env(env),
                          capture_output=True, timeout=timeout, input=input_bytes)


def run_everywhere(code, args=(), **kw):
    """[(Python, CompletedProcess)] for every interpreter found."""
    return [(p, run_snippet(p, code, args, **kw)) for p in find_pythons()]


if __name__ == "__main__":
    for p in find_pythons():
        print("%-8s %-7s %s" % (p.version, p.source, p.path))
