"""Fractal-RMO sandbox launcher: confines one untrusted Python program and proves how far it got.

The launcher is trusted; the program it runs is not. Java starts it (inside bubblewrap when that
works) as a zygote: it imports what it needs, pre-imports common modules and pre-builds its
confinement (the seccomp program) ONCE, then forks a runner per run, one run at a time. A runner
prints a "ready" line describing what this kernel offers, reads ONE run (a JSON line: limits,
layers to apply, the program's parts) from stdin, forks the run's child, prints one JSON line
describing what happened and exits. The zygote itself never reads a run and never runs untrusted
code: a run's header, output and nonce live only in its runner (and the program's part in its
child), so no run inherits another's data. After each runner the zygote kills whatever the run
left (its process tree; with bubblewrap every process of the namespace but bwrap's init and
itself) and, with bubblewrap, empties the sandbox's tmpfs /work, /tmp and /dev/shm; it stops when
that fails. Java hands a zygote run after run only where each run's Landlock domain (its own
work dir; signals and abstract sockets scoped to the run) and seccomp filter are in force, since
those keep a run away from the zygote, from earlier runs and from their report channels; else it
uses a zygote for one run and ends it. Its input ending stops the zygote.

Confinement of the child, applied in this order before any untrusted byte runs, each layer
enforced by the kernel (bubblewrap, when used, is an outer layer of its own):
  workdir-tmpfs (without bubblewrap) the child enters a mount namespace of its own
                (as root a plain one; otherwise one owned by a user namespace that maps only the
                launcher's uid and gid, whose capabilities are dropped right after) and mounts a
                tmpfs of the work-dir bound over its work dir, so the kernel refuses a write past
                the bound (ENOSPC); it goes away with the run's last process.
  rlimits       address space, CPU seconds, file size, open files, no core dumps; processes per
                uid (after the uid change)
  uid           as root: a per-run unprivileged uid and gid, no supplementary groups
  no-new-privs  PR_SET_NO_NEW_PRIVS: no setuid/file-capability gain through execve
  landlock      read+execute beneath the read-only system paths Python needs, read-write only
                beneath the run's work dir, /dev/null; nothing else of the file system. TCP bind
                and connect denied (ABI >= 4). Abstract unix sockets and signals scoped to the
                run's own domain (ABI >= 6): it cannot signal the launcher, the worker or another
                run. The best ABI the kernel offers is used; audit logging of denials is off for
                the untrusted domain (ABI >= 7) so a program cannot flood the audit log.
  seccomp       a BPF filter, checked against the audit arch (x86_64 or aarch64; other arches:
                layer not in force), x32 syscalls denied. Denied: socket() for every family
                (AF_UNIX too: Landlock below ABI 9 does not restrict connecting to pathname unix
                sockets such as a container runtime's or a database's; socketpair() stays, it
                cannot reach anything), ptrace, process_vm_*, pidfd_getfd, kcmp, the mount family,
                unshare/setns, clone with namespace flags, clone3 (ENOSYS, so libc falls back to
                clone, whose flags the filter can see), keyctl/add_key/request_key, bpf,
                perf_event_open, userfaultfd, io_uring_* (it bypasses socket filters),
                kexec/module loading, reboot, swapon/off, personality changes,
                name_to_handle_at/open_by_handle_at, memfd_create/memfd_secret and SysV/POSIX IPC
                (memory outside RLIMIT_AS and the work-dir bound, persistent host objects),
                TIOCSTI/TIOCLINUX, kill(-1), and acting on another process's limits, priority
                or scheduling (prlimit64, setpriority, sched_set*, ioprio_set,
                migrate/move_pages: with the worker's own uid, as in a container, these would
                reach the worker).
  subreaper     the launcher is a child subreaper, so a process that calls setsid() and whose
                parent exits is re-parented to the launcher and killed at the deadline (bubblewrap
                adds a pid namespace: every process of it is killed).
Without the workdir-tmpfs layer (a container's root without CAP_SYS_ADMIN, no user namespaces)
the work dir is a host directory; its total size (files, also unlinked-but-open or O_TMPFILE ones,
and mapped deleted files) is measured by the launcher every few milliseconds and the run is killed
once it exceeds the bound: RLIMIT_FSIZE caps each file, but a fast writer can still pass the bound
by what it writes between two checks. With bubblewrap the work dir is a tmpfs of fixed size, which
bounds it hard, and the same check applies the per-run bound.

The harness (proof of completion). In the child, after confinement, the harness compiles the
solution. With tests it then forks the solution's process S BEFORE anything untrusted runs, and
before the tests exist in any process S is a copy of: a run's input is its header (length-prefixed,
read without read-ahead) followed by the tests, which the runner reads only after forking the child
and passes on through a pipe that the child reads only after forking S (S closes its end); S waits
for T's go-ahead, which T gives once the tests compiled. So the solution cannot read the assertions
it is judged by. The child itself (T, the process the runner judges) runs only the tests and alone
reports:
  S   keeps nothing of T's but its end of a stream socket pair to T and stdout/stderr (every other
      descriptor, the report channel first, is closed), makes a session of its own (kill(0) does
      not reach T), adds a nested Landlock domain of its own (Landlock denies ptrace and
      /proc/<T>/{mem,fd,...} across domains; with ABI >= 6 signals and abstract unix sockets are
      scoped to S's domain, so S cannot signal T either; without that scope a seccomp filter
      keeps T's pid and group out of kill()); seccomp already denies ptrace, process_vm_*,
      pidfd_getfd. Then it runs the solution module in a fresh __main__ and tells T the names its
      top level defines: callables, modules, plain values. Then it answers calls until T is done.
  T   builds the tests' namespace: each callable of the solution is a proxy that sends
      (name, args, kwargs) to S and returns S's answer; the solution's plain values are copied;
      the modules it imported are T's own copies (only those T has loaded or side-effect-free
      standard ones; T imports nothing from the work dir S can write, nor from the launcher's dir).
      It runs the tests and calls check(<entry point proxy>) itself when the tests define a
      callable check (check must be the function the tests' own code defined, called through a
      fresh function object of that code).
Values cross in a tagged JSON encoding that the receiver rebuilds from builtin types only (None,
bool, int of any size, float incl. inf/nan/-0.0, complex, str, bytes, list, tuple, set, frozenset,
dict): T never runs code S sent (no pickle). Anything else S returns (an object whose __eq__ is
always True, a generator) is an error of the solution ("UnreceivableValue"); an exception in S
comes back as its classes' names, message and traceback (main.py frames), raised in T as its own
builtin class, or the first builtin one it derives from, else RuntimeError naming it. The kernel
stamps every chunk T reads with the sender's pid, which must be S's (a forked copy of S holding
the same socket is not S). S ending, dying, breaking the protocol, returning what cannot cross,
raising SystemExit/KeyboardInterrupt, at any time: the run fails (phase SOLUTION before its module
finished, else TESTS), even when the tests catch what T raised for it.
The report channel is an AF_UNIX SOCK_SEQPACKET socket pair: messages are atomic, and the
launcher's end has SO_PASSCRED, so the kernel stamps every message with the sender's pid, which
must be T's. Every message carries a per-run nonce from os.urandom that the launcher made before
the fork, kept in a closure cell of the reporter only. A message with a wrong nonce, from another
process, out of order or duplicated voids the run's evidence ("ReportForged"). T exits itself
(os._exit) right after its last report; T ending early in any way leaves the evidence incomplete.

Why the tests' verdict cannot be forged: untrusted code never runs in T. S holds a copy of T's
memory from before the fork (the nonce among it) but no way to use it: it has no descriptor of the
report channel, cannot obtain one (pidfd_getfd and ptrace denied, /proc/<T>/fd across Landlock
domains denied, T never sends descriptors), and anything it sent would carry its own pid. Nor can it
read the tests: they were never in the memory it copied. All S can send T is data that T decodes into plain values. What S can do to T is end or kill it, which
is never success. Without Landlock and seccomp (the "unsafe" opt-in), T makes itself undumpable,
which keeps an unprivileged S of the same uid from ptrace and /proc/<T>/mem, not one running as
root.
Solution-only runs (no tests) run in one process: the harness attests solution_done after the
module, in the process the program can reach (it could find the reporter); that is a claim, not
proof. Only the tests' verdict is the unforgeable proof, and a success with tests needs it.
"""
import json
import os
import resource
import select
import signal
import socket
import struct
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

try:
    import ctypes
    _libc = ctypes.CDLL(None, use_errno=True)
except Exception:  # no ctypes: landlock, seccomp, no-new-privs and the subreaper are not in force
    ctypes = None
    _libc = None

SOLUTION_FILE = "main.py"
_LAUNCHER_FILE = __file__  # what its code objects name as their file
_LAUNCHER_DIR = os.path.dirname(os.path.abspath(__file__))
TESTS_FILE = "tests.py"

# prctl options
PR_SET_PDEATHSIG = 1
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
SECCOMP_MODE_FILTER = 2

# ---------------------------------------------------------------------------------------------
# Landlock
# ---------------------------------------------------------------------------------------------
SYS_LANDLOCK_CREATE_RULESET = 444  # same number on x86_64 and aarch64 (and every arch since 5.13)
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1


def _landlock_fs_rights(abi):
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def landlock_abi():
    if _libc is None:
        return 0
    abi = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return abi if abi > 0 else 0


if ctypes is not None:
    class _RulesetAttr(ctypes.Structure):
        _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                    ("scoped", ctypes.c_uint64)]

    class _PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    class _SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _oserror(what):
    err = ctypes.get_errno()
    return OSError(err, "%s: %s" % (what, os.strerror(err)))


def landlock_ruleset(abi, read_exec, read_write, device_files):
    """A ruleset fd: r+x beneath read_exec, everything beneath read_write, r/w on device_files."""
    fs = _landlock_fs_rights(abi)
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                       ctypes.c_uint32(0))
    if fd < 0:
        raise _oserror("landlock_create_ruleset")
    file_rights = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (FS_TRUNCATE if abi >= 3 else 0)
    rules = [(p, FS_EXECUTE | FS_READ_FILE | FS_READ_DIR) for p in read_exec]
    rules += [(p, fs & ~(FS_MAKE_CHAR | FS_MAKE_BLOCK)) for p in read_write]
    rules += [(p, FS_READ_FILE | FS_WRITE_FILE) for p in device_files]
    for path, rights in rules:
        try:
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # a path this system does not have
        try:
            if not os.path.isdir(path):
                rights &= file_rights
            rule = _PathBeneath(rights, pfd)
            if _libc.syscall(SYS_LANDLOCK_ADD_RULE, fd, LANDLOCK_RULE_PATH_BENEATH,
                             ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                raise _oserror("landlock_add_rule " + path)
        finally:
            os.close(pfd)
    return fd


def landlock_restrict(fd, abi):
    flags = LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF if abi >= 7 else 0
    if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, fd, ctypes.c_uint32(flags)) != 0:
        raise _oserror("landlock_restrict_self")
    os.close(fd)


# ---------------------------------------------------------------------------------------------
# seccomp
# ---------------------------------------------------------------------------------------------
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
# syscall numbers: x86_64 from asm/unistd_64.h, aarch64 from the generic table (asm-generic/unistd.h)
SYSCALLS = {
    "x86_64": dict(
        socket=41, clone=56, clone3=435, ioctl=16, personality=135, kill=62, tkill=200, tgkill=234,
        prlimit64=302, setpriority=141, sched_setaffinity=203, sched_setscheduler=144,
        sched_setparam=142, sched_setattr=314, ioprio_set=251, ptrace=101, process_vm_readv=310,
        process_vm_writev=311, process_madvise=440, pidfd_getfd=438, kcmp=312, mount=165,
        umount2=166, pivot_root=155, chroot=161, move_mount=429, open_tree=428, fsopen=430,
        fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, unshare=272, setns=308,
        keyctl=250, add_key=248, request_key=249, bpf=321, perf_event_open=298, userfaultfd=323,
        io_uring_setup=425, io_uring_enter=426, io_uring_register=427, kexec_load=246,
        kexec_file_load=320, init_module=175, finit_module=313, delete_module=176, reboot=169,
        swapon=167, swapoff=168, name_to_handle_at=303, open_by_handle_at=304, memfd_create=319,
        memfd_secret=447, shmget=29, shmat=30, shmctl=31, semget=64, semop=65, semctl=66,
        semtimedop=220, msgget=68, msgsnd=69, msgrcv=70, msgctl=71, mq_open=240, mq_unlink=241,
        mq_timedsend=242, mq_timedreceive=243, mq_notify=244, mq_getsetattr=245, acct=163,
        quotactl=179, quotactl_fd=443, syslog=103, vhangup=153, lookup_dcookie=212, iopl=172,
        ioperm=173, modify_ldt=154, uselib=134, ustat=136, sysfs=139, _sysctl=156,
        nfsservctl=180, fanotify_init=300, migrate_pages=256, move_pages=279, pidfd_open=434),
    "aarch64": dict(
        socket=198, clone=220, clone3=435, ioctl=29, personality=92, kill=129, tkill=130,
        tgkill=131, prlimit64=261, setpriority=140, sched_setaffinity=122, sched_setscheduler=119,
        sched_setparam=118, sched_setattr=274, ioprio_set=30, ptrace=117, process_vm_readv=270,
        process_vm_writev=271, process_madvise=440, pidfd_getfd=438, kcmp=272, mount=40,
        umount2=39, pivot_root=41, chroot=51, move_mount=429, open_tree=428, fsopen=430,
        fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, unshare=97, setns=268,
        keyctl=219, add_key=217, request_key=218, bpf=280, perf_event_open=241, userfaultfd=282,
        io_uring_setup=425, io_uring_enter=426, io_uring_register=427, kexec_load=104,
        kexec_file_load=294, init_module=105, finit_module=273, delete_module=106, reboot=142,
        swapon=224, swapoff=225, name_to_handle_at=264, open_by_handle_at=265, memfd_create=279,
        memfd_secret=447, shmget=194, shmat=196, shmctl=195, semget=190, semop=193, semctl=191,
        semtimedop=192, msgget=186, msgsnd=189, msgrcv=188, msgctl=187, mq_open=180,
        mq_unlink=181, mq_timedsend=182, mq_timedreceive=183, mq_notify=184, mq_getsetattr=185,
        acct=89, quotactl=60, quotactl_fd=443, syslog=116, vhangup=58, lookup_dcookie=18,
        nfsservctl=42, fanotify_init=262, migrate_pages=238, move_pages=239, pidfd_open=434),
}
DENIED = (
    "socket", "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
    "kcmp", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns", "keyctl", "add_key",
    "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "name_to_handle_at", "open_by_handle_at",
    "memfd_create", "memfd_secret", "shmget", "shmat", "shmctl", "semget", "semop", "semctl",
    "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr", "acct", "quotactl", "quotactl_fd", "syslog",
    "vhangup", "lookup_dcookie", "iopl", "ioperm", "modify_ldt", "uselib", "ustat", "sysfs",
    "_sysctl", "nfsservctl", "fanotify_init", "migrate_pages", "move_pages")
# arguments that must name the calling process itself (0)
SELF_ONLY = {"prlimit64": 0, "sched_setaffinity": 0, "sched_setscheduler": 0, "sched_setparam": 0,
             "sched_setattr": 0}
CLONE_NAMESPACES = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
EPERM = 1
ENOSYS = 38
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06


def seccomp_arch():
    machine = os.uname().machine
    return machine if machine in SYSCALLS else None


def seccomp_program(arch, guarded_pids=()):
    """The BPF filter as bytes (struct sock_filter[]); guarded_pids: never to be signalled."""
    nr = SYSCALLS[arch]
    out = []

    def ins(code, k, jt=0, jf=0):
        out.append(struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF))

    def arg(i):  # the low 32 bits of argument i (little endian: at 16 + 8 i)
        ins(_LD_W_ABS, 16 + 8 * i)

    def block(name, body):
        if name in nr:
            ins(_JEQ, nr[name], 0, len(body))
            out.extend(body)

    def assemble(f):
        start = len(out)
        f()
        body = out[start:]
        del out[start:]
        return body

    ins(_LD_W_ABS, 4)  # arch
    ins(_JEQ, AUDIT_ARCH[arch], 1, 0)
    ins(_RET, RET_KILL_PROCESS)
    ins(_LD_W_ABS, 0)  # syscall number
    if arch == "x86_64":
        ins(_JGE, X32_SYSCALL_BIT, 0, 1)
        ins(_RET, RET_ERRNO | EPERM)
    for name in DENIED:
        if name in nr:
            ins(_JEQ, nr[name], 0, 1)
            ins(_RET, RET_ERRNO | EPERM)
    if "clone3" in nr:
        ins(_JEQ, nr["clone3"], 0, 1)
        ins(_RET, RET_ERRNO | ENOSYS)

    def clone():
        arg(0)
        ins(_JSET, CLONE_NAMESPACES, 0, 1)
        ins(_RET, RET_ERRNO | EPERM)
        ins(_RET, RET_ALLOW)
    block("clone", assemble(clone))

    def personality():  # only the query (0xffffffff) and PER_LINUX (0)
        arg(0)
        ins(_JEQ, 0xFFFFFFFF, 2, 0)
        ins(_JEQ, 0, 1, 0)
        ins(_RET, RET_ERRNO | EPERM)
        ins(_RET, RET_ALLOW)
    block("personality", assemble(personality))

    def ioctl():  # the kernel reads the request as an unsigned int: the low word is all of it
        arg(1)
        ins(_JEQ, TIOCSTI, 2, 0)
        ins(_JEQ, TIOCLINUX, 1, 0)
        ins(_RET, RET_ALLOW)
        ins(_RET, RET_ERRNO | EPERM)
    block("ioctl", assemble(ioctl))

    for name, index in SELF_ONLY.items():
        def self_only(index=index):
            arg(index)
            ins(_JEQ, 0, 1, 0)
            ins(_RET, RET_ERRNO | EPERM)
            ins(_RET, RET_ALLOW)
        block(name, assemble(self_only))

    def which_who(which_self):  # setpriority / ioprio_set: only (which_self, 0), the caller
        def f():
            arg(0)
            ins(_JEQ, which_self, 0, 2)
            arg(1)
            ins(_JEQ, 0, 1, 0)
            ins(_RET, RET_ERRNO | EPERM)
            ins(_RET, RET_ALLOW)
        return f
    block("setpriority", assemble(which_who(0)))  # PRIO_PROCESS
    block("ioprio_set", assemble(which_who(1)))  # IOPRIO_WHO_PROCESS

    if not guarded_pids:
        def kill_all():  # kill(-1, ...): no run has a use for "every process I may signal"
            arg(0)
            ins(_JEQ, 0xFFFFFFFF, 1, 0)
            ins(_RET, RET_ALLOW)
            ins(_RET, RET_ERRNO | EPERM)
        block("kill", assemble(kill_all))
    else:
        # without Landlock's signal scope (ABI < 6): no process groups, no -1, not the guarded
        for name in ("kill", "tkill", "tgkill", "pidfd_open"):
            def guard(name=name):
                arg(0)
                if name == "kill":
                    ins(_JSET, 0x80000000, len(guarded_pids), 0)
                for i, pid in enumerate(guarded_pids):
                    ins(_JEQ, pid, len(guarded_pids) - i, 0)
                ins(_RET, RET_ALLOW)
                ins(_RET, RET_ERRNO | EPERM)
            block(name, assemble(guard))
    ins(_RET, RET_ALLOW)
    return b"".join(out)


def seccomp_install(program):
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise _oserror("seccomp")


def _prctl(option, value):
    if _libc is None or _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        raise _oserror("prctl %d" % option) if _libc is not None else OSError("no ctypes")


# ---------------------------------------------------------------------------------------------
# the harness (runs in the confined child)
# ---------------------------------------------------------------------------------------------
def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def _error_doc(exc, sources):
    try:
        import linecache  # only failing runs pay for it
        import traceback
        for name, text in sources.items():
            linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        line = None
        if isinstance(exc, SyntaxError) and exc.filename in sources:
            line = exc.lineno
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in sources:
                line = tb.tb_lineno
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        msg = str(exc)
        if isinstance(exc, SyntaxError):
            msg = exc.msg or msg
        return {"type": type(exc).__name__, "message": msg[:4000], "traceback": text[-16000:],
                "line": line}
    except BaseException:
        return {"type": type(exc).__name__, "message": "", "traceback": None, "line": None}


def _make_reporter(fd, nonce, pid):
    """The only holder of the nonce: a closure, so it sits in no module, dict or argument list."""
    write, dumps, getpid = os.write, json.dumps, os.getpid
    seq = [0]

    def report(event, **fields):
        if getpid() != pid:
            return  # a forked copy of the harness never speaks for the process judged
        seq[0] += 1
        fields.update(event=event, seq=seq[0], nonce=nonce.hex())
        try:
            write(fd, dumps(fields).encode())
        except OSError:
            pass  # the program closed or replaced the channel: the run stays unproven
    return report


# --- the boundary between the tests' process T and the solution's process S -----------------
# Values cross it in a tagged JSON encoding that the receiver rebuilds from builtin types only:
# decoding never calls code of the sender (no pickle, no classes, no __eq__/__hash__ of its own),
# so whatever S sends, T gets plain None/bool/int/float/complex/str/bytes/list/tuple/set/
# frozenset/dict values (or an error).
_MAX_MESSAGE = 64 << 20
_MAX_DEPTH = 200
_MAX_NAMES = 10000


class _Unencodable(Exception):
    """A value that cannot cross the boundary; args[0] is the offending type's name."""


def _encode(v, depth=0):
    if depth > _MAX_DEPTH:
        raise _Unencodable("a value nested deeper than %d levels" % _MAX_DEPTH)
    t = type(v)
    if v is None:
        return ["n"]
    if t is bool:
        return ["b", v]
    # subclasses of the builtin types (a namedtuple, a Counter, an IntEnum) travel as their base
    # type, read through the base type's own methods: the receiver gets the plain value
    if isinstance(v, int):
        return ["i", int.__format__(v, "x")]
    if isinstance(v, float):
        return ["f", float.hex(v)]
    if isinstance(v, complex):
        return ["c", float.hex(complex.__getattribute__(v, "real")),
                float.hex(complex.__getattribute__(v, "imag"))]
    if isinstance(v, str):
        return ["s", str.__str__(v)]
    if isinstance(v, bytes):
        return ["y", bytes.hex(v)]
    d = depth + 1
    if isinstance(v, list):
        return ["l", [_encode(x, d) for x in list.__iter__(v)]]
    if isinstance(v, tuple):
        return ["t", [_encode(x, d) for x in tuple.__iter__(v)]]
    if isinstance(v, frozenset):
        return ["F", [_encode(x, d) for x in frozenset.__iter__(v)]]
    if isinstance(v, set):
        return ["S", [_encode(x, d) for x in set.__iter__(v)]]
    if isinstance(v, dict):
        return ["d", [[_encode(k, d), _encode(x, d)] for k, x in dict.items(v)]]
    raise _Unencodable(getattr(t, "__qualname__", None) or t.__name__)


def _decode(x, depth=0):
    """Rebuilds a value from its encoding; ValueError/TypeError when it is not one."""
    if depth > _MAX_DEPTH + 1 or type(x) is not list or not x or type(x[0]) is not str:
        raise ValueError("not an encoded value")
    tag, n = x[0], len(x)
    if tag == "n" and n == 1:
        return None
    if tag == "b" and n == 2 and type(x[1]) is bool:
        return x[1]
    if n == 2 and type(x[1]) is str:
        if tag == "i":
            return int(x[1], 16)
        if tag == "f":
            return float.fromhex(x[1])
        if tag == "s":
            return x[1]
        if tag == "y":
            return bytes.fromhex(x[1])
    if tag == "c" and n == 3 and type(x[1]) is str and type(x[2]) is str:
        return complex(float.fromhex(x[1]), float.fromhex(x[2]))
    if n == 2 and type(x[1]) is list:
        d = depth + 1
        if tag == "l":
            return [_decode(e, d) for e in x[1]]
        if tag == "t":
            return tuple(_decode(e, d) for e in x[1])
        if tag == "S":
            return set(_decode(e, d) for e in x[1])
        if tag == "F":
            return frozenset(_decode(e, d) for e in x[1])
        if tag == "d":
            out = {}
            for pair in x[1]:
                if type(pair) is not list or len(pair) != 2:
                    raise ValueError("not an encoded pair")
                out[_decode(pair[0], d)] = _decode(pair[1], d)
            return out
    raise ValueError("not an encoded value")


def _send(sock, doc):
    data = json.dumps(doc).encode()
    sock.sendall(struct.pack("!Q", len(data)) + data)


def _recv_exact(sock, n, sender):
    """n bytes; with sender (the receiving end has SO_PASSCRED), every byte must come from that
    pid, which the kernel stamps on each chunk: a forked copy of S holding the same socket is not
    S."""
    buf = bytearray()
    while len(buf) < n:
        if sender is None:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
        else:
            chunk, anc, _, _ = sock.recvmsg(min(n - len(buf), 1 << 20), socket.CMSG_SPACE(12))
            pid = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= 12:
                    pid = struct.unpack("=iII", data[:12])[0]
            if chunk and pid != sender:
                raise ValueError("bytes from pid %s, not the solution's process %d" % (pid, sender))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _recv(sock, sender=None):
    """The next message as a dict; None at end of stream; ValueError for anything malformed."""
    head = _recv_exact(sock, 8, sender)
    if head is None:
        return None
    size = struct.unpack("!Q", head)[0]
    if size > _MAX_MESSAGE:
        raise ValueError("a message of %d bytes (more than %d)" % (size, _MAX_MESSAGE))
    data = _recv_exact(sock, size, sender)
    if data is None:
        return None
    doc = json.loads(data.decode("utf-8"))
    if type(doc) is not dict:
        raise ValueError("not a message")
    return doc


# standard-library modules the tests' process imports when the solution did (tests written for
# one process may use them without importing them): pure computation, nothing read at import
_SAFE_MODULES = frozenset((
    "math", "cmath", "re", "string", "random", "itertools", "functools", "collections", "heapq",
    "bisect", "statistics", "fractions", "decimal", "numbers", "operator", "typing", "copy",
    "hashlib", "json", "datetime", "time", "array", "struct", "textwrap", "unicodedata",
    "difflib", "enum", "dataclasses", "abc", "types", "sys", "os", "io", "base64", "binascii",
    "calendar", "keyword", "pprint", "queue", "contextlib", "inspect", "zlib"))


class SolutionProcessEnded(Exception):
    """The solution's process exited or died, or broke the protocol, while the tests needed it."""


class UnreceivableValue(Exception):
    """The solution returned a value that cannot cross to the tests (not a plain value)."""


def _flusher():
    """A flush of stdout/stderr bound now, before the program can replace sys.stdout or patch
    the stream class: the harness and S call it after untrusted code ran."""
    flush_stream, streams = type(sys.stdout).flush, (sys.stdout, sys.stderr)

    def flush():
        for s in streams:
            try:
                flush_stream(s)
            except BaseException:
                pass
    return flush


def _main_module(filename, workdir=None):
    """A fresh __main__ named filename, installed as the program expects to find it; with
    workdir, imports resolve there first (the solution's, never the tests')."""
    import builtins
    module = type(sys)("__main__")
    module.__file__ = filename
    module.__builtins__ = builtins
    sys.modules["__main__"] = module
    sys.argv = [filename]
    if workdir is not None:
        sys.path[0] = workdir
    sys.dont_write_bytecode = True
    return module


def _only_frames(exc, sources):
    """The traceback from the first frame of the program's own code, without the harness's own
    frames (none at all when the harness raised the error itself, e.g. for a missing entry
    point or a solution's process that ended)."""
    kept = []
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in sources or (kept and name != _LAUNCHER_FILE):
            kept.append(tb)
        tb = tb.tb_next
    for a, b in zip(kept, kept[1:] + [None]):
        a.tb_next = b
    exc.__traceback__ = kept[0] if kept else None


def _text(v, limit):
    return v[:limit] if type(v) is str else None


class _SolutionLink:
    """T's side: calls into the solution's process and rebuilds what comes back. Any fault of S
    (it ended, it broke the protocol, it returned a value the tests cannot receive, it raised
    SystemExit/KeyboardInterrupt) is kept in .fault and fails the run even when the tests catch
    the exception it raised."""

    def __init__(self, sock, pid, builtin_classes):
        import _thread
        self.sock, self.pid, self.classes = sock, pid, builtin_classes
        self.lock = _thread.allocate_lock()  # tests that call from threads: one call at a time
        self.fault = None
        self.status = None

    def _ended(self, doing):
        status = self._reap()
        if status is None:
            how = "stopped answering"
        elif os.WIFSIGNALED(status):
            how = "was killed by signal %s" % signal.Signals(os.WTERMSIG(status)).name
        else:
            how = "exited (status %d)" % os.WEXITSTATUS(status)
        return SolutionProcessEnded("the solution's process %s %s" % (how, doing))

    def _reap(self):
        """S's wait status once it has ended (waiting briefly), else kills it first."""
        if self.status is not None:
            return self.status
        deadline = time.monotonic() + 0.5
        while True:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                self.status = status
                return status
            if time.monotonic() >= deadline:
                self.kill()
                return None
            time.sleep(0.002)

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.status = os.waitpid(self.pid, 0)[1]
            except OSError:
                pass

    def receive(self, doing):
        try:
            doc = _recv(self.sock, self.pid)
        except (OSError, ValueError, RecursionError, MemoryError) as exc:
            self.sock.close()
            self.kill()
            raise SolutionProcessEnded("the solution's process broke the protocol %s (%s: %s)"
                                       % (doing, type(exc).__name__, str(exc)[:200]))
        if doc is None:
            raise self._ended(doing)
        return doc

    def call(self, name, args, kwargs):
        if self.fault is not None:
            raise self.fault
        try:
            payload = {"op": "call", "name": name, "args": _encode(args), "kwargs": _encode(kwargs)}
        except _Unencodable as exc:
            raise TypeError("the tests passed %s a value of type %s that the solution's process "
                            "cannot receive" % (name, exc.args[0])) from None
        doing = "while the tests called %s" % name
        try:
            with self.lock:
                _send(self.sock, payload)
                doc = self.receive(doing)
        except OSError:
            self.fault = self._ended(doing)
            raise self.fault from None
        except SolutionProcessEnded as exc:
            self.fault = exc
            raise
        try:
            if "ok" in doc:
                return _decode(doc["ok"])
            if "raised" in doc:
                exc = self._exception(doc["raised"])
            elif "unreceivable" in doc:
                exc = self.fault = UnreceivableValue(
                    "%s returned a value of type %s that the tests cannot receive (only None, "
                    "bool, int, float, complex, str, bytes, list, tuple, set, frozenset and dict "
                    "cross to the tests)" % (name, _text(doc["unreceivable"], 200)))
            else:
                raise ValueError("not a reply")
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError):
            self.kill()
            self.fault = SolutionProcessEnded("the solution's process sent what is not a value "
                                              "nor an exception " + doing)
            raise self.fault from None
        raise exc

    def _exception(self, r):
        """The builtin exception class the solution's exception derives from (first in its MRO),
        with its message; RuntimeError naming it when none is builtin."""
        if type(r) is not dict:
            raise ValueError("not an exception")
        names = [n for n in r.get("mro") or () if type(n) is str][:64]
        message = _text(r.get("message"), 4000) or ""
        own = names[0] if names else "Exception"
        exc = None
        for n in names:
            cls = self.classes.get(n)
            if cls is None or (n != own and n in ("Exception", "BaseException")):
                continue
            try:
                if cls is SystemExit:
                    code = r.get("code")
                    exc = SystemExit(code if type(code) is int or code is None else 1)
                elif n == own:
                    exc = cls(message)
                else:
                    exc = cls("%s: %s" % (own[:200], message))
                break
            except Exception:
                continue
        if exc is None:
            exc = RuntimeError("%s: %s" % (own[:200], message))
        exc._fractal_remote = {"traceback": _text(r.get("traceback"), 16000),
                               "line": r.get("line") if type(r.get("line")) is int else None}
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            self.fault = exc  # the solution tried to end the run: never a success
        return exc

    def end(self):
        """True when S answered to the end (it did not end or break the protocol meanwhile)."""
        if self.fault is None:
            try:
                _send(self.sock, {"op": "end"})
                doc = self.receive("before the tests ended")
                if doc.get("ok") != ["n"]:
                    raise SolutionProcessEnded("the solution's process broke the protocol before "
                                               "the tests ended")
            except OSError:
                self.fault = self._ended("before the tests ended")
            except SolutionProcessEnded as exc:
                self.fault = exc
        self.kill()
        return self.fault is None


def _proxy(link, name):
    def proxy(*args, **kwargs):
        return link.call(name, args, kwargs)
    proxy.__name__ = proxy.__qualname__ = name
    return proxy


def _remote_error_doc(r, sources_line=None):
    """An error document from what S sent about its own exception (strings only)."""
    if type(r) is not dict:
        r = {}
    return {"type": (_text(r.get("type"), 200) or "Exception"),
            "message": _text(r.get("message"), 4000) or "",
            "traceback": _text(r.get("traceback"), 16000),
            "line": r.get("line") if type(r.get("line")) is int else sources_line}


def _exception_doc(exc, sources):
    """What S sends about an exception of the solution: its classes' names, message, traceback."""
    try:
        _only_frames(exc, sources)
        doc = _error_doc(exc, sources)
        doc["mro"] = [c.__name__ for c in type(exc).__mro__ if isinstance(c.__name__, str)][:64]
        if isinstance(exc, SystemExit):
            doc["code"] = exc.code if type(exc.code) is int or exc.code is None else 1
        return doc
    except BaseException:
        return {"type": "Exception", "message": "", "traceback": None, "line": None,
                "mro": ["Exception"]}


def _confine_solution(hdr, prepared, applied, tests_pid):
    """S's own layers over T's: a nested Landlock domain (it cannot ptrace T, read T's /proc
    entries, nor, with ABI >= 6, signal T or reach its abstract sockets), and where Landlock
    cannot scope signals, a seccomp filter that keeps T's pid and process group out of kill()."""
    done = []
    abi = prepared["landlock_abi"]
    if "landlock" in applied:
        fd = landlock_ruleset(abi, hdr.get("read_exec", ()), [hdr["workdir"]],
                              ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"))
        landlock_restrict(fd, abi)
        done.append("landlock")
    if "seccomp" in applied and ("landlock" not in applied or abi < 6):
        seccomp_install(seccomp_program(prepared["arch"], (tests_pid,)))
        done.append("seccomp")
    return done


def _solution_process(sock, solution_code, sources, workdir):
    """S: runs the solution module, says which callables it defines, then answers calls until
    its input ends. Everything here runs as (or on behalf of) untrusted code."""
    _exit = os._exit
    flush = _flusher()
    g = _main_module(SOLUTION_FILE, workdir).__dict__
    try:
        go = _recv(sock)  # T compiled the tests (or it ended: then nothing runs)
    except (OSError, ValueError):
        go = None
    if go != {"op": "go"}:
        _exit(0)
    try:
        exec(solution_code, g)
    except BaseException as exc:
        doc = _exception_doc(exc, sources)
        flush()
        _send(sock, {"failed": doc})
        _exit(_exit_code(exc) if isinstance(exc, SystemExit) else 1)
    flush()
    names, modules, values, room = [], {}, {}, 1 << 20
    for n, v in list(g.items())[:_MAX_NAMES]:
        if type(n) is not str or not n.isidentifier() or (n.startswith("__") and n.endswith("__")):
            continue
        if isinstance(v, type(sys)):
            if type(getattr(v, "__name__", None)) is str:
                modules[n] = v.__name__
        elif callable(v):
            names.append(n)
        elif room > 0:
            try:
                enc = _encode(v)
                room -= len(json.dumps(enc))
                values[n] = enc
            except (_Unencodable, RecursionError, ValueError):
                pass
    _send(sock, {"ready": names, "modules": modules, "values": values})
    while True:
        msg = _recv(sock)
        if msg is None:
            _exit(0)
        if msg.get("op") == "end":
            flush()
            _send(sock, {"ok": ["n"]})
            _exit(0)
        try:
            f = g[msg["name"]]
            result = f(*_decode(msg["args"]), **_decode(msg["kwargs"]))
            try:
                reply = {"ok": _encode(result)}
            except _Unencodable as exc:
                reply = {"unreceivable": exc.args[0]}
            except RecursionError:
                reply = {"unreceivable": "a value nested too deep"}
        except BaseException as exc:
            reply = {"raised": _exception_doc(exc, sources)}
        flush()
        _send(sock, reply)


def _harness(report, hdr, prepared, applied):
    """Solution, then tests, then check(entry point); reports each completed part; never returns.
    With tests, the solution runs in a process of its own (S), the tests in this one (T)."""
    import builtins
    program, workdir = hdr["program"], hdr["workdir"]
    # what the harness itself calls, captured before the program can patch anything
    _exit, FunctionType = os._exit, type(_harness)
    _callable, _getattr, _hasattr, _isinstance = callable, getattr, hasattr, isinstance
    _compile, _exec, _dict = compile, exec, dict
    solution = program["solution"]
    tests_fd = hdr.get("tests_fd")  # the tests arrive on it, read only once S is forked
    entry = program.get("entry_point")
    sources = {SOLUTION_FILE: solution}
    flush = _flusher()

    def fail(phase, exc, code, doc=None):
        if doc is None:
            _only_frames(exc, sources)
            doc = _error_doc(exc, sources)
            remote = _getattr(exc, "_fractal_remote", None)
            if remote:
                if remote.get("traceback"):
                    doc["traceback"] = ((doc.get("traceback") or "") + "\nIn the solution's "
                                        "process:\n" + remote["traceback"])[-16000:]
                if remote.get("line"):
                    doc["line"] = remote["line"]
        if doc.get("traceback") and doc.get("type") != "SystemExit":
            try:
                sys.stderr.write(doc["traceback"])
            except BaseException:
                pass
        flush()
        if _isinstance(exc, SystemExit):
            doc["message"] = ("the program exited (status %d) in its %s before the harness saw it "
                              "finish" % (code, phase.lower()))
            doc["traceback"] = None
        report("failed", phase=phase, error=doc)
        _exit(code)

    try:
        solution_code = _compile(solution, SOLUTION_FILE, "exec")
    except BaseException as exc:
        fail("SOLUTION", exc, 1)
    if tests_fd is None:
        # a solution-only run: the harness attests the module's end in the same process, which
        # the program can reach; only the tests' verdict (below) is proof it cannot forge
        module = _main_module(SOLUTION_FILE, workdir)
        try:
            _exec(solution_code, module.__dict__)
        except SystemExit as exc:
            fail("SOLUTION", exc, _exit_code(exc))
        except BaseException as exc:
            fail("SOLUTION", exc, 1)
        flush()
        report("solution_done", last=True)
        _exit(0)

    classes = {n: c for n, c in builtins.__dict__.items()
               if _isinstance(c, type) and issubclass(c, BaseException)}
    me = os.getpid()
    flush()
    t_end, s_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    t_end.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    pid = os.fork()
    if pid == 0:  # S: nothing of T's but its end of the pair and stdout/stderr
        try:
            fd = s_end.detach()
            t_end.detach()  # closed below; its object must never close a reused number
            os.dup2(fd, 3)
            os.closerange(4, 1 << 16)
            os.setsid()  # its own process group: kill(0) does not reach T
            sock = socket.socket(fileno=3)
            got = _confine_solution(hdr, prepared, applied, me)
            if not got and ("landlock" in applied or "seccomp" in applied):
                raise OSError("the solution's own layers were not applied")
        except BaseException as exc:
            try:
                os.write(2, ("sandbox: the solution's process could not be confined: %s\n"
                             % exc).encode())
            finally:
                _exit(121)
        try:
            _solution_process(sock, solution_code, sources, workdir)
        finally:
            _exit(122)
    s_end.close()
    if not ("landlock" in applied or "seccomp" in applied):
        # S has no layer that keeps it from ptrace(2) or /proc/<T>/mem: T makes itself
        # undumpable, which denies both to an unprivileged S (the proof is weaker here: S may
        # share T's uid and, as root, ignore it)
        try:
            _prctl(4, 0)  # PR_SET_DUMPABLE
        except OSError:
            pass
    # only now the tests: S, forked without them, holds no copy of them in its memory (nor did
    # the runner or this process before the fork), so a solution cannot read the assertions
    link = _SolutionLink(t_end, pid, classes)
    try:
        raw = _read_exact(tests_fd, int(hdr["tests_bytes"]))
        os.close(tests_fd)
        if raw is None:
            raise OSError("the sandbox's runner did not pass the tests on")
        tests = json.loads(raw)
    except BaseException as exc:
        link.kill()
        fail("TESTS", exc, 1, {"type": "SandboxError", "message": "the tests did not arrive: %s"
                               % exc, "traceback": None, "line": None})
    sources[TESTS_FILE] = tests
    try:
        tests_code = _compile(tests, TESTS_FILE, "exec")
    except BaseException as exc:
        link.kill()
        fail("TESTS", exc, 1)
    # the code of a top-level "def check" in the tests: the check the harness will call
    check_codes = [c for c in tests_code.co_consts if _hasattr(c, "co_name") and c.co_name == "check"]
    try:
        _send(t_end, {"op": "go"})  # S runs the solution from here on
    except OSError:
        pass  # S is gone: its first answer below says how
    # T imports nothing from the work dir, which S can write (nor from the launcher's dir)
    unsafe = (os.path.abspath(workdir), _LAUNCHER_DIR)
    sys.path[:] = [p for p in sys.path if p and not any(
        os.path.abspath(p) == u or os.path.abspath(p).startswith(u + os.sep) for u in unsafe)]
    sys.path_importer_cache.clear()
    try:
        first = link.receive("before its module finished")
        if "failed" in first:
            doc = _remote_error_doc(first["failed"])
            status = link._reap()
            code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else 1
            if doc["type"] == "SystemExit":
                doc["message"] = ("the program exited (status %d) in its solution before the "
                                  "harness saw it finish" % code)
                doc["traceback"] = None
            elif doc.get("traceback"):
                try:
                    sys.stderr.write(doc["traceback"])
                except BaseException:
                    pass
            flush()
            report("failed", phase="SOLUTION", error=doc)
            _exit(code)
        names = first.get("ready")
        if type(names) is not list or len(names) > _MAX_NAMES or \
                not all(type(n) is str and n.isidentifier() for n in names):
            raise SolutionProcessEnded("the solution's process broke the protocol before its "
                                       "module finished")
    except SolutionProcessEnded as exc:
        link.kill()
        fail("SOLUTION", exc, 1)
    report("solution_done", last=False)

    module = type(sys)("__main__")
    module.__file__ = TESTS_FILE
    module.__builtins__ = builtins
    g = module.__dict__
    # what the tests see of the solution's top level, as they did in one process: its plain
    # values (copies), the modules it imported (T imports its own copy, only of modules it has
    # already or of the standard library's side-effect-free ones: nothing from the work dir), and
    # its callables, as proxies into S
    values, modules = first.get("values"), first.get("modules")
    for n, enc in (values.items() if type(values) is dict else ()):
        if type(n) is str and n.isidentifier():
            try:
                g[n] = _decode(enc)
            except (ValueError, TypeError, OverflowError, RecursionError):
                pass
    for n, m in (modules.items() if type(modules) is dict else ()):
        if type(n) is str and n.isidentifier() and type(m) is str:
            mod = sys.modules.get(m)
            if mod is None and m in _SAFE_MODULES:
                try:
                    mod = __import__(m)
                except Exception:
                    mod = None
            if mod is not None:
                g[n] = mod
    proxies = {n: _proxy(link, n) for n in names}
    g.update(proxies)
    sys.modules["__main__"] = module
    sys.argv = [TESTS_FILE]
    sys.dont_write_bytecode = True
    called = False
    try:
        _exec(tests_code, g)
        check = g.get("check")
        if entry is not None and check_codes:
            # the tests defined check: it must be called, and it must be their check
            code = _getattr(check, "__code__", None)
            if code not in check_codes:
                raise RuntimeError("check was replaced or removed before the harness could call it")
            check = FunctionType(code, g, "check", _getattr(check, "__defaults__", None))
        elif entry is None or not _callable(check) or "check" not in tests_code.co_names:
            check = None  # the tests define no check of their own: their body is the test
        if check is not None:
            if entry not in proxies:
                raise NameError("name '%s' is not defined by the solution" % entry, name=entry)
            called = True
            check(proxies[entry])
    except SystemExit as exc:
        link.kill()
        fail("TESTS", exc, _exit_code(exc))
    except BaseException as exc:
        link.kill()
        fail("TESTS", exc if link.fault is None or exc is link.fault else link.fault, 1)
    if not link.end():
        fail("TESTS", link.fault, 1)
    flush()
    report("tests_done", check_called=called)
    _exit(0)


# ---------------------------------------------------------------------------------------------
# the self-test (runs in the confined child instead of a program; trusted code, untrusted view)
# ---------------------------------------------------------------------------------------------
def _probe(params, preopened):
    checks = {}

    def attempt(name, f):
        try:
            value = f()
            checks[name] = "allowed" if value is None else "allowed: %s" % (value,)
        except OSError as e:
            checks[name] = "denied: %s" % (os.strerror(e.errno) if e.errno else e)
        except Exception as e:
            checks[name] = "error: %s: %s" % (type(e).__name__, e)

    if _libc is not None:
        checks["no_new_privs"] = str(_libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
        checks["seccomp_mode"] = str(_libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0))
    checks["uid"] = str(os.getuid())
    if _libc is not None:  # capabilities left (a user namespace of its own grants all in it)
        cap_hdr, caps = _cap_structs()
        checks["cap_eff"] = "%08x%08x" % (caps[3], caps[0]) \
            if _libc.capget(cap_hdr, caps) == 0 else "unknown"
    checks["rlimit_as"] = str(resource.getrlimit(resource.RLIMIT_AS)[0])
    port = params.get("port")

    def connect_new():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(("127.0.0.1", port))

    attempt("socket_inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
    attempt("socket_unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
    attempt("socketpair", lambda: [s.close() for s in socket.socketpair()] and None)
    attempt("connect_loopback", connect_new)
    if preopened is not None:
        preopened.settimeout(2)
        attempt("connect_loopback_preopened", lambda: preopened.connect(("127.0.0.1", port)))
    attempt("read_host_file", lambda: open(params["host_file"], "rb").read(64) and None)
    tag = "fractal-probe-%d" % os.getpid()

    def create(path):
        def f():
            open(path, "w").close()
            os.unlink(path)  # it was allowed: leave nothing behind
        return f
    attempt("write_host_dir", create(os.path.join(params["host_dir"], "escaped")))
    attempt("write_tmp", create("/tmp/" + tag))
    attempt("write_dev_shm", create("/dev/shm/" + tag))
    attempt("write_workdir", create("probe.txt"))
    try:  # a file system of the run's own (workdir-tmpfs), and its size, or the one it lives in
        own = os.stat(".").st_dev != os.stat("..").st_dev
        vfs = os.statvfs(".")
        checks["workdir_fs"] = "%s %d" % ("own" if own else "shared", vfs.f_blocks * vfs.f_frsize)
    except OSError as e:
        checks["workdir_fs"] = "error: %s" % os.strerror(e.errno)
    attempt("read_worker_environ",
            lambda: open("/proc/%d/environ" % params["worker_pid"], "rb").read(64) and None)
    attempt("signal_worker", lambda: os.kill(params["worker_pid"], 0))
    attempt("signal_launcher", lambda: os.kill(os.getppid(), 0))
    if params.get("zygote_pid"):
        attempt("signal_zygote", lambda: os.kill(params["zygote_pid"], 0))

    def sys_call(name, *args):
        def f():
            nr = SYSCALLS.get(seccomp_arch() or "", {}).get(name)
            if nr is None or _libc is None:
                raise RuntimeError("not on this arch")
            if _libc.syscall(nr, *args) < 0:
                raise _oserror(name)
        return f
    attempt("unshare", sys_call("unshare", ctypes.c_ulong(0x10000000) if ctypes else 0))
    def io_uring():
        params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
        nr = SYSCALLS.get(seccomp_arch() or "", {}).get("io_uring_setup")
        if nr is None:
            raise RuntimeError("not on this arch")
        fd = _libc.syscall(nr, 1, params)
        if fd < 0:
            raise _oserror("io_uring_setup")
        os.close(fd)
    attempt("io_uring_setup", io_uring)
    attempt("memfd_create", lambda: os.close(os.memfd_create("probe")))

    def fork():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    attempt("fork", fork)

    def spawn():
        import subprocess  # clone3 must fall back to clone, execve must work under Landlock
        rc = subprocess.run([sys.executable, "-S", "-c", "pass"], stdin=subprocess.DEVNULL,
                            timeout=10).returncode
        if rc != 0:
            raise RuntimeError("exit %d" % rc)
    attempt("spawn", spawn)
    attempt("ptrace", sys_call("ptrace", 0, 0, 0, 0))  # PTRACE_TRACEME, last: harmless if allowed
    return checks


# ---------------------------------------------------------------------------------------------
# the child: confine, then the harness (or the probe)
# ---------------------------------------------------------------------------------------------
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_NOSUID = 2
MS_NODEV = 4
MS_REC = 1 << 14
MS_PRIVATE = 1 << 18
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _cap_structs():
    """capget/capset's header (version 3, this process) and its data: two zeroed sets of
    effective, permitted and inheritable words."""
    return (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0), (ctypes.c_uint32 * 6)()


def _own_workdir_fs(workdir, size, uid, nproc):
    """Mounts a tmpfs of `size` bytes (and an inode count to match) over the work dir, in a mount
    namespace of the run's own, so the kernel bounds what the run keeps there: a write past the
    bound fails with ENOSPC instead of being caught by a later check. As root the namespace is a
    plain one; otherwise it is owned by a user namespace mapping only this uid and gid, whose
    capabilities are dropped again right after the mount. The launcher's own view is unchanged,
    and the tmpfs goes away with the run's last process."""
    if _libc is None:
        raise OSError("workdir-tmpfs: no ctypes")
    root = os.getuid() == 0
    if root:
        if _libc.unshare(CLONE_NEWNS) != 0:
            raise _oserror("workdir-tmpfs: unshare(CLONE_NEWNS)")
    else:
        u, g = os.getuid(), os.getgid()
        if nproc is not None:
            # a user namespace counts its own processes afresh, checked against the limit in force
            # and against the limit its creator had when it was made: set now, the uid's count
            # across the whole machine stays bound by it
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
            raise _oserror("workdir-tmpfs: unshare(CLONE_NEWUSER|CLONE_NEWNS)")
        for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (u, u)),
                           ("gid_map", "%d %d 1" % (g, g))):
            try:
                with open("/proc/self/" + name, "w") as f:
                    f.write(text)
            except OSError as e:
                raise OSError(e.errno, "workdir-tmpfs: /proc/self/%s: %s" % (name, e.strerror))
    # private first: a mount beneath a shared "/" would propagate back to the host's namespace
    if _libc.mount(None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None) != 0:
        raise _oserror("workdir-tmpfs: making / private")
    pages = max(1, (size + 4095) // 4096)
    opts = "size=%d,nr_inodes=%d,mode=0700" % (pages * 4096, max(64, pages))
    if root and uid:
        opts += ",uid=%d,gid=%d" % (uid, uid)
    if _libc.mount(b"fractal-work", workdir.encode(), b"tmpfs",
                   ctypes.c_ulong(MS_NOSUID | MS_NODEV), opts.encode()) != 0:
        raise _oserror("workdir-tmpfs: mount tmpfs")
    os.chdir(workdir)  # the tmpfs, not the host directory beneath it
    if not root:
        # the user namespace granted every capability in it: none is kept
        if _libc.capset(*_cap_structs()) != 0:  # all zero
            raise _oserror("workdir-tmpfs: capset")


def _nproc_limit(hdr):
    """RLIMIT_NPROC counts every task of the uid: the run's processes on top of what it has."""
    return int(hdr.get("max_processes", 64)) + int(hdr.get("nproc_base", 0))


def _confine(hdr, prepared):
    """Applies the layers the header asks for; any failure aborts (raises). Returns their names."""
    applied = []
    want = set(hdr.get("layers", ()))
    if "workdir-tmpfs" in want:
        # first: Landlock's rule for the work dir must name the tmpfs, and the mount needs the
        # privileges the uid change gives up
        _own_workdir_fs(hdr["workdir"], int(hdr.get("workdir_bytes") or 0) or 64 << 20,
                        hdr.get("uid") if "uid" in want else None,
                        _nproc_limit(hdr) if "rlimits" in want else None)
        applied.append("workdir-tmpfs")
    mem = int(hdr.get("memory_mb", 512)) * 1024 * 1024
    if "rlimits" in want:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        fsize = int(hdr.get("file_size_bytes", 16 * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        cpu = int(hdr.get("cpu_seconds", 11))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    landlock_fd = None
    abi = prepared["landlock_abi"]
    if "landlock" in want:
        landlock_fd = landlock_ruleset(abi, hdr.get("read_exec", ()), [hdr["workdir"]],
                                       ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"))
    uid = hdr.get("uid")
    if "uid" in want:
        if os.getuid() != 0 or not uid:
            raise OSError("a per-run uid needs the launcher to run as root")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        applied.append("uid")
    if "rlimits" in want:
        nproc = _nproc_limit(hdr)
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        applied.append("rlimits")
    if "no-new-privs" in want or "landlock" in want or "seccomp" in want:
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        applied.append("no-new-privs")
    if landlock_fd is not None:
        landlock_restrict(landlock_fd, abi)
        applied.append("landlock")
    if "seccomp" in want:
        seccomp_install(prepared["seccomp"])
        applied.append("seccomp")
    missing = want - set(applied)
    if missing:
        raise OSError("layers not applied: %s" % ", ".join(sorted(missing)))
    return applied


def _child(hdr, prepared, out_w, err_w, rep_fd, box, keep):
    me = os.getpid()
    report = _make_reporter(rep_fd, box.pop(), me)
    try:
        os.setsid()
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        keep = set(keep) | {0, 1, 2, rep_fd}
        for fd in _open_fds():
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        workdir = hdr["workdir"]
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(PATH="/usr/bin:/bin", LANG="C.UTF-8", HOME=workdir, TMPDIR=workdir)
        preopened = None
        if "selftest" in hdr and hdr["selftest"].get("port"):
            preopened = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        applied = _confine(hdr, prepared)
    except BaseException as exc:  # set-up failed: report, never run unconfined
        report("setup_failed", error={"type": "SandboxError",
                                      "message": "confinement failed: %s" % exc,
                                      "traceback": None, "line": None})
        os._exit(121)
    report("confined", layers=applied)
    if "selftest" in hdr:
        checks = _probe(dict(hdr["selftest"], zygote_pid=prepared.get("zygote")), preopened)
        report("selftest", checks=checks)
        os._exit(0)
    _harness(report, hdr, prepared, applied)
    os._exit(120)  # not reached: the harness always exits itself


def _open_fds():
    try:
        return [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


# ---------------------------------------------------------------------------------------------
# the supervisor (the launcher after the fork): deadline, output, reports, work-dir bound, kill
# ---------------------------------------------------------------------------------------------
def _tree(root):
    """Pids of every live descendant of root (through every thread's children list)."""
    found = []
    todo = [root]
    seen = set()
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid), "rb") as f:
                    kids = f.read().split()
            except OSError:
                continue
            for k in kids:
                k = int(k)
                if k not in seen:
                    seen.add(k)
                    found.append(k)
                    todo.append(k)
    return found


def _kill_run(pid, own_pid_namespace, me):
    """SIGKILL every process of the run until none is left alive; reaps what is ours. In an own pid
    namespace that is every process but its init, the zygote and this runner (_SPARED)."""
    if pid > 0:
        try:
            os.killpg(pid, signal.SIGKILL)  # its session first: cheap, and catches most at once
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if own_pid_namespace:
            alive = [p for p in _all_pids() if p not in (1, me) and p not in _SPARED]
        else:
            alive = _tree(me)
        alive = [p for p in alive if not _zombie(p)]
        for p in alive:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        if not alive:
            return
        time.sleep(0.001)


def _all_pids():
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except OSError:
        return True


_reaped_cpu = [0.0]
_statuses = {}
_SPARED = set()  # the zygote: never killed by a runner's clean-up


def _reap():
    while True:
        try:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _statuses[pid] = (status, ru)
        _reaped_cpu[0] += ru.ru_utime + ru.ru_stime


def _wait(pid, block):
    """(status, rusage) of our child pid once it ended, else None; also when _reap took it."""
    if pid in _statuses:
        return _statuses.pop(pid)
    try:
        waited, status, ru = os.wait4(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return _statuses.pop(pid, (0, None))
    if not waited:
        return None
    _reaped_cpu[0] += ru.ru_utime + ru.ru_stime
    return status, ru


def _usage(workdir, root):
    """Bytes the run holds on the work dir's file system: its files, and files its processes hold
    open or mapped that are no longer (or never were) in the tree. Every inode counts at least one
    page, so a million empty files are bounded too."""
    seen = set()
    total = 0
    try:
        dev = os.stat(workdir).st_dev
    except OSError:
        return 0
    stack = [workdir]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += max(st.st_blocks * 512, 4096)
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
        except OSError:
            continue
    for pid in [root] + _tree(root):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if st.st_dev == dev and (st.st_dev, st.st_ino) not in seen and not _is_dir(st):
                seen.add((st.st_dev, st.st_ino))
                total += max(st.st_blocks * 512, 4096)
        try:
            with open("/proc/%d/maps" % pid, "rb") as f:
                for line in f:
                    if line.endswith(b"(deleted)\n"):
                        span = line.split(None, 1)[0].split(b"-")
                        total += int(span[1], 16) - int(span[0], 16)
        except (OSError, ValueError, IndexError):
            continue
    return total


def _is_dir(st):
    import stat
    return stat.S_ISDIR(st.st_mode)


def _nproc_base(uid):
    """Tasks the uid already runs (RLIMIT_NPROC counts them all): the worker's own, as non-root."""
    n = 0
    for pid in _all_pids():
        try:
            if os.stat("/proc/%d" % pid).st_uid != uid:
                continue
            with open("/proc/%d/stat" % pid, "rb") as f:
                n += int(f.read().rsplit(b")", 1)[1].split()[17])
        except (OSError, ValueError, IndexError):
            continue
    return n


_terminating = [False]
_running = [False]


def _on_term(*_):
    if not _running[0]:
        os._exit(0)  # nothing runs yet: nothing to kill
    _terminating[0] = True


def _prepare(guarded):
    prepared = {"landlock_abi": landlock_abi(), "seccomp": None, "arch": seccomp_arch()}
    if prepared["arch"] is not None and _libc is not None:
        prepared["seccomp"] = seccomp_program(
            prepared["arch"], guarded if prepared["landlock_abi"] < 6 else ())
    return prepared


def run_once(hdr, prepared):
    workdir = hdr["workdir"]
    me = os.getpid()
    uid = hdr.get("uid") if "uid" in hdr.get("layers", ()) else None
    own_pid_namespace = bool(hdr.get("own_pid_namespace"))
    if os.getuid() == 0 and uid:
        os.chown(workdir, uid, uid)
    if "rlimits" in hdr.get("layers", ()) and os.getuid() != 0:
        hdr["nproc_base"] = _nproc_base(os.getuid())
    limit = int(hdr.get("max_output_bytes", 65536))
    timeout = int(hdr.get("timeout_ms", 10000)) / 1000.0
    workdir_bytes = int(hdr.get("workdir_bytes", 0))
    # a work dir of its own size bounds itself (the child fails to start without it); a host
    # directory is measured every few milliseconds, which a fast writer can overshoot
    poll_workdir = workdir_bytes and "workdir-tmpfs" not in hdr.get("layers", ())

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_parent, rep_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    rep_parent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    nonce = os.urandom(16)
    tests_bytes = hdr.get("tests_bytes")
    tests_r = tests_w = tests_read = None
    if tests_bytes is not None:
        # the tests are still in this runner's input: they reach the child through this pipe
        # after the fork, and the child reads them only after forking the solution's process
        tests_r, tests_w = os.pipe()
        hdr["tests_fd"] = tests_r

    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            rep_fd = rep_child.detach()
            rep_parent.close()
            for fd in (out_r, err_r, wake_r, wake_w) + ((tests_w,) if tests_w is not None else ()):
                os.close(fd)
            box = [nonce]
            del nonce  # from here on the nonce lives only in the reporter's closure
            _child(hdr, prepared, out_w, err_w, rep_fd, box,
                   (tests_r,) if tests_r is not None else ())
        finally:
            os._exit(122)  # a child never returns into the launcher
    if tests_r is not None:
        os.close(tests_r)
        tests_read = _pass_tests(0, int(tests_bytes), tests_w)
    os.close(out_w)
    os.close(err_w)
    rep_child.close()
    rep_parent.setblocking(False)
    rep_fd = rep_parent.fileno()
    deadline = start + timeout
    kept = {out_r: bytearray(), err_r: bytearray()}
    sizes = {out_r: 0, err_r: 0}
    open_fds = [out_r, err_r, rep_fd]
    reports = _Reports(pid, nonce)
    del nonce
    status = usage = end = None
    timed_out = False
    interrupted = False
    over_quota = None
    drain_until = None
    # no poll (a work dir that bounds itself): the loop sleeps until output, a report or the deadline
    next_check = start + 0.005 if poll_workdir else float("inf")
    check_every = 0.005
    last_used = 0
    while True:
        if status is None:
            ended = _wait(pid, False)
            if ended is not None:
                (status, usage), end = ended, time.monotonic()
                _kill_run(pid, own_pid_namespace, me)
                drain_until = time.monotonic() + 0.2
        if status is not None and (not open_fds or time.monotonic() >= drain_until):
            break
        now = time.monotonic()
        if status is None and (now >= deadline or _terminating[0] or over_quota):
            timed_out = now >= deadline and not _terminating[0] and not over_quota
            interrupted = _terminating[0]
            end = now
            _kill_run(pid, own_pid_namespace, me)
            status, usage = _wait(pid, True)
            _kill_run(pid, own_pid_namespace, me)
            drain_until = time.monotonic() + 0.2
            continue
        if status is None and poll_workdir and now >= next_check:
            used = _usage(workdir, pid)
            if used > workdir_bytes:
                over_quota = used
                continue
            # every 5 ms while the work dir grows, backing off to 50 ms while it does not
            check_every = 0.005 if used > last_used else min(0.05, check_every * 2)
            last_used = used
            next_check = time.monotonic() + check_every
        wait_for = min(deadline, next_check) - now if status is None else drain_until - now
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
            if fd == rep_fd:
                if not reports.receive(rep_parent) and _eof(rep_parent):
                    open_fds.remove(fd)
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            sizes[fd] += len(chunk)
            room = limit - len(kept[fd])
            if room > 0:
                kept[fd] += chunk[:room]
    _kill_run(pid, own_pid_namespace, me)
    while reports.receive(rep_parent):
        pass
    duration_ms = int(((end or time.monotonic()) - start) * 1000)
    exit_code = term_signal = None
    if status is not None:
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            term_signal = os.WTERMSIG(status)
            exit_code = 128 + term_signal
    error = reports.error
    if term_signal == signal.SIGXCPU and not timed_out:
        timed_out = True
        error = _err("TimeoutError", "CPU time limit of %s s exceeded" % hdr.get("cpu_seconds"))
    if timed_out:
        error = _err("TimeoutError", "wall-clock limit of %d ms exceeded; every process of the run "
                                     "was killed" % int(timeout * 1000))
    elif interrupted:
        error = _err("Interrupted", "the run was stopped (the worker is shutting down); every "
                                    "process of the run was killed")
    elif over_quota:
        error = _err("OSError", "[Errno 122] Disk quota exceeded: the run's work dir held %d bytes, "
                                "over its bound of %d; every process of the run was killed"
                     % (over_quota, workdir_bytes))
    elif reports.forged:
        error = _err("ReportForged", "the report channel carried a message the harness did not "
                                     "write (%s); the run's evidence is void" % reports.forged)
    elif error is None and term_signal is not None:
        error = _err("KilledBySignal", "killed by signal %s" % signal.Signals(term_signal).name)
    elif error is None and not reports.complete:
        phase = "tests" if reports.solution_done else "solution"
        error = _err("IncompleteRun", "the process ended (exit status %s) before the harness saw "
                                      "its %s finish" % (exit_code, phase))
    if tests_read is not None:
        tests_read.acquire()  # this run's input read to its end before its result goes out
    cpu = _reaped_cpu[0]
    return {
        "exit_code": exit_code,
        "signal": term_signal,
        "timed_out": timed_out,
        "duration_ms": duration_ms,
        "cpu_ms": int(cpu * 1000),
        "peak_memory_kb": usage.ru_maxrss if usage is not None else None,
        "stdout": bytes(kept[out_r]).decode("utf-8", "replace"),
        "stdout_size": sizes[out_r],
        "stderr": bytes(kept[err_r]).decode("utf-8", "replace"),
        "stderr_size": sizes[err_r],
        "error": error,
        "evidence": reports.evidence(),
        "layers": reports.layers,
        "selftest": reports.selftest,
    }



def _eof(sock):
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _err(kind, message):
    return {"type": kind, "message": message, "traceback": None, "line": None}


class _Reports:
    """What the harness proved, from messages checked for sender pid, nonce, order and count."""

    EVENTS = ("confined", "setup_failed", "solution_done", "selftest", "failed", "tests_done")

    def __init__(self, pid, nonce):
        self.pid = pid
        self.nonce = nonce.hex()
        self.seq = 0
        self.forged = None
        self.layers = None
        self.solution_done = False
        self.tests_done = False
        self.last = False
        self.check_called = False
        self.failed_in = None
        self.error = None
        self.selftest = None
        self.finished = False

    @property
    def complete(self):
        return self.forged is None and (self.tests_done or (self.solution_done and self.last))

    def evidence(self):
        ok = self.forged is None
        return {"solution_completed": ok and self.solution_done,
                "tests_completed": ok and self.tests_done,
                "check_called": ok and self.check_called,
                "failed_in": self.failed_in}

    def receive(self, sock):
        """Reads one message: True when one was read, False at end of stream or when none waits."""
        try:
            msg, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(12))
        except OSError:
            return False
        sender = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= 12:
                sender = struct.unpack("=iII", data[:12])[0]
        if not msg and sender is None:
            return False  # end of stream (an empty message would still carry credentials)
        self._accept(msg, sender)
        return True

    def _void(self, why):
        if self.forged is None:
            self.forged = why

    def _accept(self, msg, sender):
        if sender != self.pid:
            return self._void("a message from pid %s, not the judged process %d" % (sender, self.pid))
        try:
            m = json.loads(msg.decode("utf-8"))
            event, seq, nonce = m["event"], m["seq"], m["nonce"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return self._void("a message that is not the harness's")
        import hmac
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce, self.nonce):
            return self._void("a message without the run's nonce")
        if seq != self.seq + 1 or self.finished:
            return self._void("a message out of sequence")
        self.seq = seq
        # setup_failed comes instead of confined (the child could not confine itself) or not at all
        if event not in self.EVENTS or (event == "setup_failed" and self.layers is not None) or \
                (event not in ("confined", "setup_failed") and self.layers is None) or \
                (event == "confined" and self.layers is not None):
            return self._void("an unexpected %r" % event)
        if event == "confined":
            self.layers = list(m.get("layers") or [])
        elif event == "setup_failed":
            self.error = m.get("error")
            self.finished = True
        elif event == "selftest":
            self.selftest = m.get("checks")
            self.finished = True
        elif event == "solution_done":
            if self.solution_done:
                return self._void("a second solution_done")
            self.solution_done = True
            self.last = bool(m.get("last"))
            self.finished = self.last
        elif event == "tests_done":
            if not self.solution_done:
                return self._void("tests_done before solution_done")
            self.tests_done = True
            self.check_called = bool(m.get("check_called"))
            self.finished = True
        elif event == "failed":  # never a claim of success, so no order to check (tests that do
            # not compile fail before the solution runs)
            self.failed_in = m.get("phase") if m.get("phase") in ("SOLUTION", "TESTS") else None
            self.error = m.get("error")
            self.finished = True


EXIT_NO_MORE_RUNS = 3  # a runner read end of input: the zygote stops
_zygote_stop = [False]
_zygote_runner = [0]


def _on_zygote_term(*_):
    _zygote_stop[0] = True
    if _zygote_runner[0]:
        try:
            os.kill(_zygote_runner[0], signal.SIGTERM)  # the runner kills its run and reports
        except OSError:
            pass


def _wipe(dirs):
    """Empties the bubblewrap sandbox's own tmpfs between runs; False when something stayed."""
    import shutil
    clean = True
    for d in dirs:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(d, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except OSError:
                clean = False
    return clean


def _read_exact(fd, n):
    """Exactly n bytes of fd (unbuffered: nothing beyond them leaves the pipe), or None at EOF."""
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_header(fd):
    """A run's header: its length as a decimal line, then that many bytes of JSON. Read without
    read-ahead (unlike sys.stdin), so the tests that follow stay in the pipe, out of this
    process's memory, until the run's child (and its solution's process) has been forked."""
    digits = b""
    while True:
        c = os.read(fd, 1)
        if not c:
            return None
        if c == b"\n":
            break
        if not c.isdigit() or len(digits) >= 10:
            raise ValueError("a run header must start with its length")
        digits += c
    return _read_exact(fd, int(digits)) if digits else None


def _pass_tests(fd, n, out):
    """The runner's side of the tests' hand-over: reads them from its input once the run's child
    exists and writes them to the child's pipe (from a thread: the child reads them only after
    it forked the solution's process, and they may not fit a pipe's buffer). Returns a lock held
    until they are read off the input: the runner takes it before it reports, so no byte of this
    run is left for the next runner to read as its header, even when the child ended at once."""
    import _thread
    read = _thread.allocate_lock()
    read.acquire()

    def run():
        try:
            try:
                data = _read_exact(fd, n)
            finally:
                read.release()
            if data is not None:
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view):]
        except OSError:
            pass  # the child ended: it has no use for them
        finally:
            try:
                os.close(out)
            except OSError:
                pass
    _thread.start_new_thread(run, ())
    return read


def _serve(prepared, zygote):
    """A runner: forked from the zygote for ONE run; says it is ready, runs it, reports, exits.
    Everything of the run (its header, its output, its nonce) lives and dies in this process, so
    the zygote, which forks the next runner, never holds another run's data."""
    _statuses.clear()
    _reaped_cpu[0] = 0.0
    signal.signal(signal.SIGTERM, _on_term)
    if _zygote_stop[0]:
        os._exit(EXIT_NO_MORE_RUNS)  # the zygote was told to stop before this runner could hear it
    me = os.getpid()
    info = {"ready": True, "pid": me, "zygote": zygote, "landlock_abi": prepared["landlock_abi"],
            "seccomp_arch": prepared["arch"] if prepared["seccomp"] is not None else None,
            "subreaper": False, "python": sys.version.split()[0]}
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # the zygote died: kill the run, then go
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        info["subreaper"] = True
    except OSError:
        pass
    if os.getppid() != zygote:
        os._exit(0)  # the zygote died before the death signal was set
    if prepared["seccomp"] is not None and prepared["landlock_abi"] < 6:
        # no Landlock signal scope: the filter also keeps this runner's pid out of kill()'s reach
        prepared = dict(prepared, seccomp=seccomp_program(prepared["arch"], prepared["guarded"] + (me,)))
    sys.stdout.write(json.dumps(info) + "\n")  # the pool hands out only launchers that said so
    sys.stdout.flush()
    raw = _read_header(0)  # a warm runner waits here for its run
    if not raw or not raw.strip() or _terminating[0]:
        os._exit(EXIT_NO_MORE_RUNS)
    hdr = json.loads(raw)
    _running[0] = True
    try:
        if hdr.get("make_workdir"):
            os.mkdir(hdr["workdir"], 0o700)  # fresh, beneath the sandbox's tmpfs /work
        result = run_once(hdr, prepared)
    except Exception as exc:  # the launcher itself failed: say so, never claim anything
        _kill_run(0, bool(hdr.get("own_pid_namespace")), me)
        result = {"exit_code": None, "timed_out": False, "duration_ms": 0,
                  "error": _err("SandboxError", "the sandbox launcher failed: %s: %s"
                                % (type(exc).__name__, exc)), "evidence": None, "layers": None}
    result["run"] = hdr.get("run")  # Java matches each result to the run it sent
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


def main():
    """The zygote: prepares the confinement once (imports, Landlock ABI, the seccomp program),
    then forks one runner per run, one at a time, until its input ends. It never reads a run,
    never runs untrusted code, and after each runner ends it kills whatever that run left (its
    whole process tree, or with --own-pid-namespace every process of bubblewrap's namespace but
    its init and itself) and, in bubblewrap's namespace, empties the sandbox's tmpfs (/work, /tmp,
    /dev/shm); when that fails it stops, so no run ever sees what an earlier one left."""
    signal.signal(signal.SIGTERM, _on_zygote_term)
    me = os.getpid()
    _SPARED.add(me)
    own_pid_namespace = "--own-pid-namespace" in sys.argv
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # the worker died: stop the runner, then go
        _prctl(PR_SET_CHILD_SUBREAPER, 1)  # what a runner's run left is re-parented here
    except OSError:
        pass
    # what runners and the harness import lazily, once here rather than once per run (hmac loads
    # OpenSSL's _hashlib: the largest part of a runner's own CPU when imported per run)
    import hmac, linecache, shutil, stat, traceback  # noqa: F401
    guarded = tuple(int(p) for p in os.environ.get("FRACTAL_GUARDED_PIDS", "").split(",") if p)
    guarded += (me,)
    prepared = _prepare(guarded)
    prepared["guarded"] = guarded
    prepared["zygote"] = me
    while not _zygote_stop[0]:
        pid = os.fork()
        if pid == 0:
            try:
                _serve(prepared, me)
            finally:
                os._exit(0)
        _zygote_runner[0] = pid
        if _zygote_stop[0]:
            _on_zygote_term()
        status = os.waitpid(pid, 0)[1]
        _zygote_runner[0] = 0
        _kill_run(0, own_pid_namespace, me)
        _statuses.clear()
        if own_pid_namespace and not _wipe(("/work", "/tmp", "/dev/shm")):
            break
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_NO_MORE_RUNS:
            break


if __name__ == "__main__":
    main()
    os._exit(0)
