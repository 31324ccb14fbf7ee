#!/usr/bin/python3
"""Write corpus/persid/: pickles with persistent ids, as PyTorch and ZODB
write them, + MANIFEST.tsv. Runs under Debian's /usr/bin/python3 (torch,
zodbpickle and persistent are Debian packages there).

  torch_checkpoint.pN.pickle  the data.pkl of torch.save(CHECKPOINT,
                              pickle_protocol=N): every storage a persistent
                              id ('storage', <storage class>, key, location,
                              numel), one storage shared by two tensors
  zodb_record.pN.pickle       a ZODB record (ObjectWriter.serialize's format):
                              the class pickle, then the state pickle whose
                              persistent references are (oid, class) tuples

tests/persistent_ids_test.py checks `pickletool show` and `recode` on them
(and, with torch, that torch.load reads back what recode writes).

    /usr/bin/python3 oracle/gen_persid.py

Without torch or zodbpickle it says so and leaves those files as they are.
"""
import hashlib
import io
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "corpus", "persid")
TORCH_PROTOCOLS = (1, 2, 3, 4, 5)
ZODB_PROTOCOLS = (1, 2, 3)   # ZODB 5 writes protocol 3 (Python 2 databases: 1 or 2)


def checkpoint(torch):
    """A small training checkpoint: tensors of three dtypes, a view sharing
    its base's storage, plain values beside them."""
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    return {"model": {"weight": w, "bias": torch.tensor([0.5, -1.0], dtype=torch.float64),
                      "steps": torch.tensor([3], dtype=torch.int64)},
            "row": w[1], "epoch": 7, "name": "layer"}


def torch_data_pkl(torch, obj, protocol):
    """The data.pkl entry of torch.save(obj)'s zip archive, and the archive."""
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        return z.read(name), buf.getvalue()


def zodb_record(protocol):
    """ObjectWriter.serialize(root): the class pickle, then the state pickle
    (a PersistentMapping holding two persistent objects and plain values)."""
    from persistent.mapping import PersistentMapping
    try:
        from zodbpickle import pickle as zpickle   # what ZODB pickles with
    except ImportError:  # pragma: no cover - Debian has it
        import pickle as zpickle

    class Ref(object):
        def __init__(self, oid, klass):
            self.oid, self.klass = oid, klass

    class Writer(zpickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Ref):
                return (obj.oid, obj.klass)   # ZODB's reference with the class
            return None

    f = io.BytesIO()
    w = Writer(f, protocol)
    w.dump(PersistentMapping)
    w.clear_memo()
    w.dump({"data": {"left": Ref(b"\x00" * 7 + b"\x01", PersistentMapping),
                     "right": Ref(b"\x00" * 7 + b"\x02", PersistentMapping),
                     "count": 2, "title": "root"}})
    return f.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = {}
    manifest = os.path.join(OUT, "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest) as f:
            for line in list(f)[1:]:
                rows[line.split("\t", 1)[0]] = line.rstrip("\n")

    def put(name, writer, protocol, what, data):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        rows[name] = "\t".join([name, writer, str(protocol), what, hashlib.sha256(data).hexdigest()])

    try:
        import torch
    except ImportError:
        print("gen_persid: torch is not importable here; torch files left as they are")
    else:
        for p in TORCH_PROTOCOLS:
            data, _ = torch_data_pkl(torch, checkpoint(torch), p)
            put("torch_checkpoint.p%d.pickle" % p, "torch.save (torch %s)" % torch.__version__, p,
                "data.pkl of torch.save(checkpoint): storages as persistent ids, one shared by a view", data)
    try:
        import persistent  # noqa: F401
    except ImportError:
        print("gen_persid: persistent is not importable here; ZODB records left as they are")
    else:
        for p in ZODB_PROTOCOLS:
            put("zodb_record.p%d.pickle" % p, "zodbpickle", p,
                "ZODB record: class pickle, then state pickle with (oid, class) persistent references",
                zodb_record(p))
    with open(manifest, "w") as f:
        f.write("file\twriter\tprotocol\tdescription\tsha256\n")
        for name in sorted(rows):
            f.write(rows[name] + "\n")
    print("gen_persid: %d files in %s" % (len(rows), os.path.relpath(OUT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
