"""Oracle server: one long-lived CPython process answering framed JSON requests.

Frame (both directions): 4-byte little-endian unsigned length, then that many
bytes of UTF-8 JSON.  Requests are objects with an "op"; every request gets
exactly one answer, {"ok": true, ...} or {"ok": false, "error": {...}} --
an exception in a request is answered, never fatal.

ops:
  version                                  -> {"version": sys.version, "hexversion"}
  redump    data(b64), protocols[, load options] -> {"pickles": [per pickle]}
            per pickle: {"accepted", "start", "end", "error"?: {type, module, message},
                         "dumps": {"<q>": {"ok", "data"(b64) | "error"}}}
  load_graph data(b64)[, load options]     -> {"pickles": [{"accepted", "graph"|"error"}]}
  build_dump graph, protocols[, buffers(b64 list), oob] ->
            {"dumps": {"<q>": {"ok", "data", "buffers"} | {"ok": false, "error"}}}
  setstate_calls graph, protocol           -> {"data", "accepted", "count", "calls": [graph]}
  load_hooks data(b64), graph              -> {"accepted", "error"?, "calls": [graph]}: data loaded
            with the hook classes graph's instance nodes define, as setstate_calls loads
  verdict   data(b64), protocol, codec: {"accept": b64} | {"reject": message, "written": b64}
            [, load options]               -> the one verdict (oracle/verdict.py) on the codec's
            recode of data at protocol: {"status": same|allowed|different|cannot,
            "divergence", "kind", "note", "offset", "set_order"}
  classify  data(b64), codec, cpython (answer texts) -> {"divergence": id | null}: the table's
            rules that need only the answers (oracle/verdict.py classify)
  quit                                     -> {"bye": true}, then exit
load options: persistent (bool, default true), encoding, errors,
  fix_imports, buffers (b64 list, for NEXT_BUFFER), extensions ([[module, name, code]]).
"""

import base64
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import builder  # noqa: E402
import inert  # noqa: E402
import streammode  # noqa: E402
import verdict  # noqa: E402


def _b64(b):
    return base64.b64encode(b).decode("ascii")


def _unb64(s):
    return base64.b64decode(s.encode("ascii") if isinstance(s, str) else s, validate=True)


def _err(t):
    return {"type": t[0], "module": t[1], "message": t[2]}


def _load_options(req):
    kw = {}
    for k in ("persistent", "encoding", "errors", "fix_imports", "extensions"):
        if k in req:
            kw[k] = req[k]
    if "buffers" in req:
        kw["buffers"] = [_unb64(b) for b in req["buffers"]]
    return kw


def op_version(req):
    return {"version": sys.version, "hexversion": sys.hexversion}


def op_redump(req):
    data = _unb64(req["data"])
    protocols = [int(q) for q in req.get("protocols", [0, 1, 2, 3, 4, 5])]
    out = []
    for r, per in inert.redump(data, protocols, **_load_options(req)):
        item = {"accepted": r.ok, "start": r.start, "end": r.end}
        if not r.ok:
            item["error"] = _err(r.error)
        else:
            item["dumps"] = {str(q): ({"ok": True, "data": _b64(v)} if ok else {"ok": False, "error": _err(v)})
                             for q, (ok, v) in per.items()}
        out.append(item)
    return {"pickles": out}


def op_load_graph(req):
    data = _unb64(req["data"])
    opts = _load_options(req)
    out = []
    for r in inert.load_stream(data, **opts):
        item = {"accepted": r.ok, "start": r.start, "end": r.end}
        if r.ok:
            item["graph"] = builder.graph_of(r.value, opts.get("buffers"))
        else:
            item["error"] = _err(r.error)
        out.append(item)
    return {"pickles": out}


def op_build_dump(req):
    protocols = [int(q) for q in req.get("protocols", [0, 1, 2, 3, 4, 5])]
    buffers = [_unb64(b) for b in req.get("buffers", [])]
    res = builder.build_dump(req["graph"], protocols, buffers=buffers, oob=bool(req.get("oob")))
    dumps = {}
    for q, (ok, v, oob) in res.items():
        dumps[str(q)] = ({"ok": True, "data": _b64(v), "buffers": [_b64(b) for b in oob]}
                         if ok else {"ok": False, "error": _err(v)})
    return {"dumps": dumps}


def op_setstate_calls(req):
    data, res, calls = builder.setstate_calls(req["graph"], int(req["protocol"]))
    out = {"data": _b64(data), "accepted": res.ok, "count": len(calls), "calls": calls}
    if not res.ok:
        out["error"] = _err(res.error)
    return out


def op_load_hooks(req):
    res, calls = builder.load_hooks(req["graph"], _unb64(req["data"]))
    out = {"accepted": res.ok, "calls": calls}
    if not res.ok:
        out["error"] = _err(res.error)
    return out


def op_verdict(req):
    data = _unb64(req["data"])
    q = int(req["protocol"])
    codec = req["codec"]
    if "accept" in codec:
        answer = ("accept", _unb64(codec["accept"]))
    else:
        answer = ("reject", str(codec["reject"]), _unb64(codec.get("written", "")))
    opts = _load_options(req)
    pickles = verdict.oracle_answer(data, [q], **opts)
    v = verdict.recode(data, q, pickles, answer,
                       lambda: verdict.oracle_answer(data, [q], streammode.load_stream_peek, **opts))
    return dict(v._asdict())


def op_classify(req):
    return {"divergence": verdict.classify(_unb64(req["data"]), str(req.get("codec", "")),
                                           str(req.get("cpython", "")))}


OPS = {"version": op_version, "verdict": op_verdict, "classify": op_classify, "redump": op_redump, "load_graph": op_load_graph,
       "build_dump": op_build_dump, "setstate_calls": op_setstate_calls, "load_hooks": op_load_hooks}


def _read_exact(f, n):
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def write_frame(f, obj):
    payload = json.dumps(obj, ensure_ascii=True).encode("utf-8")
    f.write(struct.pack("<I", len(payload)) + payload)
    f.flush()


def read_frame(f):
    head = _read_exact(f, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    payload = _read_exact(f, n)
    if payload is None:
        raise EOFError("truncated frame")
    return payload


def handle(payload):
    try:
        req = json.loads(payload.decode("utf-8"))
        if not isinstance(req, dict):
            raise ValueError("request must be a JSON object")
        op = req.get("op")
        if op == "quit":
            return {"ok": True, "bye": True}, True
        fn = OPS.get(op)
        if fn is None:
            raise ValueError("unknown op %r" % (op,))
        res = fn(req)
        res["ok"] = True
        if "id" in req:
            res["id"] = req["id"]
        return res, False
    except BaseException as e:  # answered, never fatal (RecursionError, MemoryError, ...)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return {"ok": False, "error": _err(inert.describe_exception(e))}, False


def serve(fin, fout):
    # Deep graphs: the C pickler recurses; give it room (as a plain process would).
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    while True:
        payload = read_frame(fin)
        if payload is None:
            return
        res, stop = handle(payload)
        try:
            write_frame(fout, res)
        except (TypeError, ValueError) as e:   # e.g. a graph JSON cannot hold
            write_frame(fout, {"ok": False, "error": _err(inert.describe_exception(e))})
        if stop:
            return


def main():
    fin = sys.stdin.buffer
    fout = sys.stdout.buffer
    # Nothing else may write to the protocol stream.
    sys.stdout = sys.stderr
    serve(fin, fout)


if __name__ == "__main__":
    main()
