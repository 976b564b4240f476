"""Fractal-RMO sandbox launcher.

Runs inside the sandbox (under bubblewrap when available). It waits for ONE program on stdin
(a JSON header line, then the Python source), runs it in a forked child with rlimits applied and,
when started as root, under an unprivileged uid; enforces the wall-clock timeout by killing every
process of the sandbox; and prints one JSON line describing what happened on its own stdout.
Started ahead of time with --warm it pre-imports common modules so the program starts at once.
"""
import json
import os
import resource
import select
import signal
import sys
import time

if "--warm" in sys.argv:
    # the cheap, commonly imported ones (≈ 10 ms of CPU per launcher); heavier ones (random,
    # fractions, statistics, hashlib: ≈ 20 ms more) would cost every run CPU to save a few.
    for _m in ("math", "re", "typing", "collections", "itertools", "functools", "heapq", "bisect"):
        try:
            __import__(_m)
        except Exception:  # a missing optional module must not stop the launcher
            pass

FILENAME = "main.py"


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def _report(fd, exc):
    try:
        import traceback  # only failing runs pay for it
        line = None
        if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
            line = exc.lineno
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        msg = str(exc)
        if isinstance(exc, SyntaxError):
            msg = exc.msg or msg
        doc = {"type": type(exc).__name__, "message": msg[:4000], "traceback": text[-16000:], "line": line}
    except BaseException:
        doc = {"type": type(exc).__name__, "message": "", "traceback": None, "line": None}
    data = json.dumps(doc).encode()
    try:
        os.write(fd, data)
    except OSError:
        pass


def _strip_launcher_frame(exc):
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename != FILENAME:
        exc.__traceback__ = tb.tb_next


def _child(hdr, code, out_w, err_w, rep_w, to_close):
    try:
        os.setsid()
        for fd in to_close:
            os.close(fd)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        mem = int(hdr.get("memory_mb", 512)) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        fsize = int(hdr.get("file_size_bytes", 16 * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        cpu = int(hdr.get("cpu_seconds", 11))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        uid = hdr.get("uid")
        if os.getuid() == 0 and uid:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        nproc = int(hdr.get("max_processes", 64))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        os.chdir(hdr["workdir"])
        sys.argv = [FILENAME]
        sys.path[0] = hdr["workdir"]
    except BaseException as exc:  # sandbox set-up failed: report, never run unconfined
        _report(rep_w, exc)
        os._exit(121)
    glb = {"__name__": "__main__", "__file__": FILENAME, "__builtins__": __builtins__}
    rc = 0
    try:
        exec(compile(code, FILENAME, "exec"), glb)
    except SystemExit as exc:
        _strip_launcher_frame(exc)
        rc = _exit_code(exc)
        if rc != 0:
            _report(rep_w, exc)
    except BaseException as exc:
        _strip_launcher_frame(exc)
        try:
            import traceback
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass
        _report(rep_w, exc)
        rc = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(rc)


def _kill_sandbox(pid, own_pid_namespace, me):
    # the run's session/process group first, repeatedly: a fork racing the kill joins the group
    for _ in range(100):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            break
        time.sleep(0.001)
    if not own_pid_namespace:
        return
    # Every other process of this pid namespace belongs to the program: kill them all.
    for _ in range(200):
        alive = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            other = int(name)
            if other in (1, me):
                continue
            try:
                with open("/proc/%d/stat" % other, "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if state == b"Z":
                continue
            alive.append(other)
            try:
                os.kill(other, signal.SIGKILL)
            except OSError:
                pass
        if not alive:
            return
        time.sleep(0.002)


def main():
    sys.stdout.write("ready\n")  # the pool hands out only launchers that said so
    sys.stdout.flush()
    raw = sys.stdin.buffer.read()  # a warm launcher waits here for its program
    newline = raw.index(b"\n")
    hdr = json.loads(raw[:newline])
    code = raw[newline + 1:]
    workdir = hdr["workdir"]
    me = os.getpid()
    uid = hdr.get("uid")
    if os.getuid() == 0 and uid:
        os.chown(workdir, uid, uid)
        for extra in hdr.get("chown", []):
            try:
                os.chown(extra, uid, uid)
            except OSError:
                pass
    try:
        with open(os.path.join(workdir, FILENAME), "wb") as f:  # so tracebacks can quote the source
            f.write(code)
    except OSError:
        pass
    limit = int(hdr.get("max_output_bytes", 65536))
    timeout = int(hdr.get("timeout_ms", 10000)) / 1000.0

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)

    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(hdr, code, out_w, err_w, rep_w, [out_r, err_r, rep_r, wake_r, wake_w])
    os.close(out_w)
    os.close(err_w)
    os.close(rep_w)
    deadline = start + timeout
    kept = {out_r: bytearray(), err_r: bytearray(), rep_r: bytearray()}
    sizes = {out_r: 0, err_r: 0, rep_r: 0}
    bounds = {out_r: limit, err_r: limit, rep_r: 1 << 20}
    open_fds = [out_r, err_r, rep_r]
    status = None
    usage = None
    end = None
    timed_out = False
    drain_until = None
    while True:
        if status is None:
            waited, st, ru = os.wait4(pid, os.WNOHANG)
            if waited:
                status, usage, end = st, ru, time.monotonic()
                _kill_sandbox(pid, hdr.get("own_pid_namespace", False), me)
                drain_until = time.monotonic() + 0.2
        if status is not None and (not open_fds or time.monotonic() >= drain_until):
            break
        now = time.monotonic()
        if status is None and now >= deadline:
            timed_out = True
            end = now
            _kill_sandbox(pid, hdr.get("own_pid_namespace", False), me)
            _, status, usage = os.wait4(pid, 0)
            _kill_sandbox(pid, hdr.get("own_pid_namespace", False), me)
            drain_until = time.monotonic() + 0.2
            continue
        wait_for = (deadline - now) if status is None else max(0.0, drain_until - now)
        try:
            ready, _, _ = select.select(open_fds + [wake_r], [], [], max(0.0, wait_for))
        except InterruptedError:
            continue
        for fd in ready:
            if fd == wake_r:
                try:
                    os.read(wake_r, 512)
                except OSError:
                    pass
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            sizes[fd] += len(chunk)
            room = bounds[fd] - len(kept[fd])
            if room > 0:
                kept[fd] += chunk[:room]
    duration_ms = int(((end or time.monotonic()) - start) * 1000)
    error = None
    if kept[rep_r]:
        try:
            error = json.loads(bytes(kept[rep_r]).decode("utf-8", "replace"))
        except ValueError:
            error = None
    exit_code = None
    term_signal = None
    if status is not None:
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            term_signal = os.WTERMSIG(status)
            exit_code = 128 + term_signal
    if term_signal == signal.SIGXCPU and not timed_out:
        timed_out = True
        error = {"type": "TimeoutError", "message": "CPU time limit of %s s exceeded" % hdr.get("cpu_seconds"),
                 "traceback": None, "line": None}
    if timed_out and (error is None or error.get("type") != "TimeoutError"):
        error = {"type": "TimeoutError",
                 "message": "wall-clock limit of %d ms exceeded; every process of the run was killed"
                            % int(timeout * 1000),
                 "traceback": None, "line": None}
    if error is None and term_signal is not None:
        error = {"type": "KilledBySignal", "message": "killed by signal %s" % signal.Signals(term_signal).name,
                 "traceback": None, "line": None}
    result = {
        "exit_code": exit_code,
        "signal": term_signal,
        "timed_out": timed_out,
        "duration_ms": duration_ms,
        "peak_memory_kb": usage.ru_maxrss if usage is not None else None,
        "stdout": bytes(kept[out_r]).decode("utf-8", "replace"),
        "stdout_size": sizes[out_r],
        "stderr": bytes(kept[err_r]).decode("utf-8", "replace"),
        "stderr_size": sizes[err_r],
        "error": error,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
