"""Python client for oracle/server.py (used by scripts and tests).

    with OracleClient() as c:
        c.redump(b"\\x80\\x04K\\x01.", [0, 5])
"""

import base64
import os
import struct
import subprocess
import sys
import json

HERE = os.path.dirname(os.path.abspath(__file__))


class OracleError(RuntimeError):
    pass


class OracleClient(object):
    def __init__(self, python=None, env=None):
        e = dict(os.environ)
        e["PYTHONHASHSEED"] = "0"   # deterministic str hashing (set order)
        e.update(env or {})
        self.proc = subprocess.Popen([python or sys.executable, os.path.join(HERE, "server.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=e)

    def request(self, req):
        payload = json.dumps(req).encode("utf-8")
        self.proc.stdin.write(struct.pack("<I", len(payload)) + payload)
        self.proc.stdin.flush()
        head = self.proc.stdout.read(4)
        if len(head) != 4:
            raise OracleError("server closed the stream")
        (n,) = struct.unpack("<I", head)
        res = json.loads(self.proc.stdout.read(n).decode("utf-8"))
        return res

    def call(self, op, **kw):
        kw["op"] = op
        res = self.request(kw)
        if not res.get("ok"):
            raise OracleError(res.get("error"))
        return res

    @staticmethod
    def b64(b):
        return base64.b64encode(b).decode("ascii")

    @staticmethod
    def unb64(s):
        return base64.b64decode(s)

    def version(self):
        return self.call("version")["version"]

    def redump(self, data, protocols=(0, 1, 2, 3, 4, 5), **opts):
        return self.call("redump", data=self.b64(data), protocols=list(protocols), **opts)["pickles"]

    def load_graph(self, data, **opts):
        return self.call("load_graph", data=self.b64(data), **opts)["pickles"]

    def build_dump(self, graph, protocols=(0, 1, 2, 3, 4, 5), **opts):
        return self.call("build_dump", graph=graph, protocols=list(protocols), **opts)["dumps"]

    def setstate_calls(self, graph, protocol):
        return self.call("setstate_calls", graph=graph, protocol=protocol)

    def load_hooks(self, data, graph):
        return self.call("load_hooks", data=self.b64(data), graph=graph)

    def verdict(self, data, protocol, codec, **opts):
        """The one verdict (oracle/verdict.py) on a recode: codec is ("accept", bytes)
        or ("reject", message, bytes written)."""
        c = ({"accept": self.b64(codec[1])} if codec[0] == "accept" else
             {"reject": codec[1], "written": self.b64(codec[2] if len(codec) > 2 else b"")})
        return self.call("verdict", data=self.b64(data), protocol=protocol, codec=c, **opts)

    def classify(self, data, codec, cpython):
        return self.call("classify", data=self.b64(data), codec=codec, cpython=cpython)["divergence"]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.request({"op": "quit"})
            except (OracleError, OSError, ValueError):
                pass
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
