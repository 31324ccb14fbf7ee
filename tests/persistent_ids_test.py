#!/usr/bin/env python3
"""persistent_ids_test: pickletool on pickles with persistent ids (a PyTorch
checkpoint's data.pkl, ZODB records: corpus/persid/, oracle/gen_persid.py).

For every file of corpus/persid/:
  - `pickletool show` prints it, persistent ids as PersId(...), and `show
    --json` carries them as "persid" nodes (docs/graph-json.md);
  - `--persistent-id error` refuses it with CPython's message;
  - `pickletool recode --protocol q`, q in 0..5, is byte for byte CPython's
    re-dump with an Unpickler whose persistent_load returns a marker holding
    the pid and a Pickler whose persistent_id gives that pid back (the inert
    reference, oracle/inert.py: its globals are stand-ins);
  - ZODB records, under /usr/bin/python3 with `persistent`: the same with the
    real classes (persistent.mapping.PersistentMapping);
  - torch, under /usr/bin/python3 with torch: a fresh torch.save archive whose
    data.pkl is replaced by its recode at q in 1..5 loads with torch.load
    into the same tensors, the view still sharing its base's storage
    (protocol 0 writes a pid as its str(), which torch's loader cannot use).
Without torch or persistent those parts are skipped, saying so.

    python3 tests/persistent_ids_test.py --bin build/release/bin
"""
import argparse
import io
import json
import os
import pickle
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "corpus", "persid")
sys.path.insert(0, os.path.join(ROOT, "oracle"))
import inert  # noqa: E402

PROTOCOLS = range(6)
LIBRARY_PYTHON = "/usr/bin/python3"

# Under LIBRARY_PYTHON: ZODB records re-dumped by CPython with the real
# classes, persistent ids kept (stdin: the record; stdout: JSON {q: hex}).
REAL_ZODB = r'''
import io, json, pickle, sys
data = sys.stdin.buffer.read()
class Marker(object):
    def __init__(self, pid):
        self.pid = pid
class Loader(pickle.Unpickler):
    def persistent_load(self, pid):
        return Marker(pid)
class Dumper(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if type(obj) is Marker else None
f = io.BytesIO(data)
objs = []
while f.tell() < len(data):
    objs.append(Loader(f).load())
out = {}
for q in range(6):
    parts = []
    for o in objs:
        b = io.BytesIO()
        try:
            Dumper(b, q).dump(o)
            parts.append(b.getvalue())
        except Exception as e:
            parts = None
            out[q] = "error: %s: %s" % (type(e).__name__, e)
            break
    if parts is not None:
        out[q] = b"".join(parts).hex()
print(json.dumps(out))
'''

# Under LIBRARY_PYTHON with torch: torch.load of a fresh torch.save archive
# whose data.pkl is replaced by each recode (argv: pickletool, protocols).
TORCH_LOAD = r'''
import io, subprocess, sys, zipfile
sys.path.insert(0, sys.argv[1])
import torch, gen_persid
tool, protocols = sys.argv[2], [int(q) for q in sys.argv[3].split(",")]
original = gen_persid.checkpoint(torch)
for p in gen_persid.TORCH_PROTOCOLS:
    data, archive = gen_persid.torch_data_pkl(torch, original, p)
    for q in protocols:
        r = subprocess.run([tool, "recode", "--protocol", str(q), "-", "-"], input=data, capture_output=True)
        if r.returncode != 0:
            print("FAIL from %d at %d: recode: %s" % (p, q, r.stderr.decode().strip())); continue
        src = zipfile.ZipFile(io.BytesIO(archive))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                body = r.stdout if info.filename.endswith("/data.pkl") else src.read(info.filename)
                dst.writestr(info, body)
        back = torch.load(io.BytesIO(out.getvalue()))
        m, mo = back["model"], original["model"]
        same = (all(torch.equal(m[k], mo[k]) and m[k].dtype == mo[k].dtype for k in mo)
                and torch.equal(back["row"], original["row"])
                and back["row"].storage().data_ptr() == m["weight"].storage().data_ptr()
                and (back["epoch"], back["name"]) == (original["epoch"], original["name"]))
        print(("ok" if same else "FAIL") + " from %d at %d: torch.load of the recode%s"
              % (p, q, "" if same else " differs: %r" % (back,)))
'''


class Run(object):
    def __init__(self, bin_dir):
        self.tool = os.path.join(os.path.abspath(bin_dir), "pickletool")
        self.passed = self.failed = 0

    def tool_run(self, args, data):
        p = subprocess.run([self.tool] + args, input=data, capture_output=True, timeout=120)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, ": " + detail if detail else ""))


def library_python_has(module):
    if not os.path.exists(LIBRARY_PYTHON):
        return False
    return subprocess.run([LIBRARY_PYTHON, "-c", "import " + module], capture_output=True).returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    run = Run(args.bin)
    with open(os.path.join(CORPUS, "MANIFEST.tsv")) as f:
        files = [line.split("\t")[0] for line in list(f)[1:]]
    run.check("corpus/persid/MANIFEST.tsv lists files", bool(files))
    refusal = "A load persistent id instruction was encountered,\\nbut no persistent_load function was specified."
    has_persistent = library_python_has("persistent")
    for name in files:
        with open(os.path.join(CORPUS, name), "rb") as f:
            data = f.read()
        rc, out, err = run.tool_run(["show", "-"], data)
        run.check("%s: show" % name, rc == 0 and b"PersId(" in out, "exit %d %s" % (rc, err.strip()))
        rc, out, err = run.tool_run(["show", "--json", "-"], data)
        try:
            graphs = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        except ValueError as e:
            graphs = []
            err += str(e)
        run.check("%s: show --json" % name, rc == 0 and graphs and any(
            n.get("t") == "persid" for g in graphs for n in g["nodes"]), "exit %d %s" % (rc, err.strip()))
        for cmd in (["show"], ["recode", "--protocol", "2"]):
            rc, out, err = run.tool_run(cmd + ["--persistent-id", "error", "-"], data)
            run.check("%s: %s --persistent-id error" % (name, cmd[0]),
                      rc == 1 and err.startswith("pickletool: error: " + refusal), "exit %d %r" % (rc, err))
        results = inert.redump(data, PROTOCOLS)
        run.check("%s: the inert reference loads it" % name, all(r.ok for r, _ in results), str(results))
        real = None
        if name.startswith("zodb") and has_persistent:
            p = subprocess.run([LIBRARY_PYTHON, "-c", REAL_ZODB], input=data, capture_output=True, timeout=120)
            real = json.loads(p.stdout) if p.returncode == 0 else {}
            run.check("%s: the real-class reference answers" % name, p.returncode == 0, p.stderr.decode()[-300:])
        for q in PROTOCOLS:
            want = b"".join(per[q][1] for _, per in results if per[q][0])
            rc, out, err = run.tool_run(["recode", "--protocol", str(q), "-", "-"], data)
            run.check("%s q=%d: recode is the inert reference's re-dump" % (name, q),
                      rc == 0 and out == want and all(per[q][0] for _, per in results),
                      "exit %d %s\n   codec:   %r\n   CPython: %r" % (rc, err.strip(), out[:120], want[:120]))
            if real is not None:
                run.check("%s q=%d: recode is CPython's re-dump with the real classes" % (name, q),
                          real.get(str(q)) == out.hex(), "CPython: %r" % (real.get(str(q)),))
    if not has_persistent:
        print("SKIP the ZODB real-class reference: `persistent` is not importable under %s" % LIBRARY_PYTHON)
    if library_python_has("torch"):
        p = subprocess.run([LIBRARY_PYTHON, "-c", TORCH_LOAD, os.path.join(ROOT, "oracle"), run.tool, "1,2,3,4,5"],
                           capture_output=True, timeout=600)
        lines = p.stdout.decode().splitlines()
        run.check("torch.load of the recodes ran", p.returncode == 0 and lines, p.stderr.decode()[-500:])
        for line in lines:
            run.check(line[5:], line.startswith("ok "), line)
    else:
        print("SKIP torch.load of the recodes: torch is not importable under %s" % LIBRARY_PYTHON)
    print("persistent-ids: %d passed, %d failed" % (run.passed, run.failed))
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
