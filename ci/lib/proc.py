"""Running a step: a process group of its own, killed whole on a timeout,
with its wall and CPU seconds (RUSAGE_CHILDREN: the machine's other load
does not count)."""
import collections
import os
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# rc: exit status (negative: a signal); output: what it wrote (stdout and
# stderr together); seconds, cpu: wall and CPU seconds; timed_out.
Step = collections.namedtuple("Step", "rc output seconds cpu timed_out")


def show_command(cmd, env=None):
    """The command as one can paste it into a shell at the top of the tree."""
    assign = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted((env or {}).items()))
    if isinstance(cmd, str):
        return "(export %s; %s)" % (assign, cmd) if assign else cmd
    return (assign + " " if assign else "") + " ".join(shlex.quote(c) for c in cmd)


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_step(cmd, log_path=None, env=None, timeout=3600, echo=False, cwd=ROOT):
    """Run `cmd` (a list, or a string for the shell) with `env` added to the
    environment; its output goes line by line to `log_path` (tail -f works)
    and, with echo, to stdout. -> Step."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    start, cpu0 = time.monotonic(), children_cpu()
    timed_out = []
    output = []
    log = open(log_path, "w", buffering=1) if log_path else None
    try:
        if log:
            log.write("$ %s\n" % show_command(cmd, env))
        proc = subprocess.Popen(cmd, shell=isinstance(cmd, str), cwd=cwd, env=full_env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)

        def kill():
            timed_out.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            for line in proc.stdout:
                output.append(line)
                if log:
                    log.write(line)
                if echo:
                    sys.stdout.write(line)
                    sys.stdout.flush()
            rc = proc.wait()
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            timer.cancel()
    finally:
        if log:
            log.close()
    return Step(rc, "".join(output), time.monotonic() - start, children_cpu() - cpu0, bool(timed_out))


def run(cmd, timeout=None, cwd=ROOT, env=None, **kw):
    """subprocess.run in a process group of its own; on timeout the whole
    group is killed and TimeoutExpired raised. -> CompletedProcess."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)
