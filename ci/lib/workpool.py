"""A pool of worker processes fed one task at a time over JSON lines, each
task with a deadline; a worker that dies or overruns is replaced and its
task answered {"died": status | "timeout"}."""
import json
import os
import selectors
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Pool(object):
    """N worker processes (python3 ci/diffcheck --worker ...) fed one input at a time."""

    def __init__(self, n, argv, deadline_fn, log_path):
        self.argv = argv
        self.log = open(log_path, "ab")
        self.deadline_fn = deadline_fn
        self.sel = selectors.DefaultSelector()
        self.procs = [self._spawn() for _ in range(n)]

    def _spawn(self):
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                             stderr=self.log, cwd=ROOT, bufsize=0)
        st = {"proc": p, "buf": b"", "task": None, "deadline": None, "oracle_done": False}
        self.sel.register(p.stdout, selectors.EVENT_READ, st)
        return st

    def _kill(self, st):
        self.sel.unregister(st["proc"].stdout)
        try:
            st["proc"].kill()
        except OSError:
            pass
        st["proc"].wait()

    def run(self, tasks, on_result):
        queue = list(tasks)
        pending = 0
        while queue or pending:
            for i, st in enumerate(self.procs):
                if st["task"] is None and queue:
                    t = queue.pop(0)
                    st["task"] = t
                    st["oracle_done"] = False
                    st["deadline"] = time.monotonic() + self.deadline_fn(t)
                    try:
                        st["proc"].stdin.write((json.dumps(t) + "\n").encode())
                    except OSError:
                        pass
                    pending += 1
            now = time.monotonic()
            timeout = max(0.05, min([st["deadline"] - now for st in self.procs if st["task"]] or [1.0]))
            for key, _ in self.sel.select(timeout):
                st = key.data
                chunk = os.read(st["proc"].stdout.fileno(), 1 << 20)
                if not chunk:               # the worker died
                    t = st["task"]
                    rc = st["proc"].wait()
                    self._replace(st)
                    if t is not None:
                        pending -= 1
                        on_result(t, {"id": t["id"], "died": rc, "oracle_done": st["oracle_done"]})
                    continue
                st["buf"] += chunk
                while b"\n" in st["buf"]:
                    line, st["buf"] = st["buf"].split(b"\n", 1)
                    msg = json.loads(line)
                    if msg.get("stage") == "oracle":
                        st["oracle_done"] = True
                        continue
                    t = st["task"]
                    st["task"] = None
                    pending -= 1
                    on_result(t, msg)
            now = time.monotonic()
            for st in list(self.procs):
                if st["task"] is not None and now > st["deadline"]:
                    t = st["task"]
                    self._kill(st)
                    self._replace(st, killed=True)
                    pending -= 1
                    on_result(t, {"id": t["id"], "died": "timeout", "oracle_done": st["oracle_done"]})

    def _replace(self, st, killed=False):
        if not killed:
            try:
                self.sel.unregister(st["proc"].stdout)
            except (KeyError, ValueError):
                pass
        i = self.procs.index(st)
        self.procs[i] = self._spawn()

    def close(self):
        for st in self.procs:
            try:
                st["proc"].stdin.close()
            except OSError:
                pass
        for st in self.procs:
            try:
                st["proc"].wait(timeout=10)
            except subprocess.TimeoutExpired:
                st["proc"].kill()
