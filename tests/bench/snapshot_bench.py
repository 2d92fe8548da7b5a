"""Save and restore of a 128 MiB test guest under KVM (issue 18), for
bench_snapshot.  Figures, not gates.

  save:     QMP migrate -> query-migrate "completed", the guest stopped
            waiting for a byte on COM1 (testguest.action=snapwait: the
            same guest image and RAM on every VMM), to exec:cat>FILE; and the
            part of it under the machine lock (query-migrate setup-time:
            the vCPUs parking and the stream being built);
            with and without x-ignore-shared + shared file-backed RAM;
  restore:  exec of the restoring vmm -> the first KVM_RUN of the restored
            VM (-incoming "exec:cat FILE"), beside a cold boot's exec ->
            first KVM_RUN of the same guest and machine, beside QEMU 7.2's
            -incoming of the same guest saved by QEMU (when installed),
            and beside Firecracker's published snapshot-resume target
            (quoted, not run: docs/snapshotting/snapshot-support.md,
            "Performance": "the baseline for snapshot resume latency target
            is under 8ms with 5ms p90 for a microvm with this specs:
            2vCPU/512MB/1 block/1 net device", on AWS m5d.metal; that is
            Firecracker's LoadSnapshot API call, not an exec).
Each figure is the median of RUNS runs.  Every restored guest must
finish its checks (exit 33), or the run does not count.

usage: snapshot_bench.py BUILD ROOT"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

RUNS = 5
FIRECRACKER_PUBLISHED_MS = 8.0
build, root = sys.argv[1], sys.argv[2]
VMM = os.path.join(build, "vmm")
GUEST = os.path.join(build, "guest-images", "testguest.elf")
tmp = tempfile.mkdtemp(prefix="vmm-bench-snap.")
DEV = "isa-debug-exit,iobase=0xf4,iosize=0x04"


def log(*a):
    print("snapshot_bench:", *a, file=sys.stderr, flush=True)


class Qmp:
    def __init__(self, path):
        deadline = time.time() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.01)
        # Apart: a makefile("rw") text wrapper drops read-ahead lines on
        # every write (see tests/integration/qmpio.py).
        self.f = self.s.makefile("r")
        self.wf = self.s.makefile("w")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        m = {"execute": name}
        if args is not None:
            m["arguments"] = args
        self.wf.write(json.dumps(m) + "\n")
        self.wf.flush()
        while True:
            r = json.loads(self.f.readline())
            if "event" not in r:
                return r


def wait_file(path, text, proc, secs=60):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            if text in open(path, errors="replace").read():
                return True
        except OSError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def save(argv, sock, serial, state, caps):
    """Run argv (a VMM with QMP on sock, COM1 in serial) to 'snap ready',
    save to state; returns (ms, setup_ms) or None."""
    for p in (sock, serial, state):
        if os.path.exists(p):
            os.unlink(p)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        q = Qmp(sock)
        if not wait_file(serial, "snap ready", proc):
            log("no 'snap ready' from", argv[0])
            return None
        if caps:
            q.cmd("migrate-set-capabilities", {"capabilities": [
                {"capability": c, "state": True} for c in caps]})
        # Not stopped first: migrate stops it, and the restored VM runs at
        # once (one saved stopped restores stopped, on QEMU as here).
        t0 = time.monotonic()
        r = q.cmd("migrate", {"uri": "exec:cat >" + state})
        if "error" in r:
            log("migrate:", r)
            return None
        deadline = t0 + 60
        while True:
            r = q.cmd("query-migrate")["return"]
            if r.get("status") in ("completed", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        ms = (time.monotonic() - t0) * 1e3
        q.cmd("quit")
        if r.get("status") != "completed":
            log("save failed:", r)
            return None
        return ms, float(r.get("setup-time", 0))
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


FIRST_VMM = re.compile(rb"vmm-bench: first KVM_RUN at ([0-9.]+)")
FIRST_QEMU = re.compile(rb"@([0-9.]+):kvm_vcpu_ioctl cpu_index 0, type 0xae80")


def restore(argv, env=None):
    """exec argv (stdin: the byte the snap guest waits for, sent once the
    first KVM_RUN was seen), returns exec -> first KVM_RUN in ms, or None
    unless the guest then exits 33."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.time()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=e)
    first = None
    buf = b""
    deadline = time.time() + 60
    os.set_blocking(proc.stderr.fileno(), False)
    while first is None and time.time() < deadline and proc.poll() is None:
        try:
            chunk = proc.stderr.read()
        except (BlockingIOError, TypeError):
            chunk = None
        if chunk:
            buf += chunk
            m = FIRST_VMM.search(buf) or FIRST_QEMU.search(buf)
            if m:
                first = float(m.group(1))
        else:
            time.sleep(0.001)
    try:
        proc.stdin.write(b"g")
        proc.stdin.flush()
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if first is None or proc.returncode != 33:
        log("restore run:", argv[0], "exit", proc.returncode, "first", first,
            buf[-300:].decode(errors="replace"))
        return None
    return (first - t0) * 1e3


def median(v):
    v = sorted(x for x in v if x is not None)
    return v[len(v) // 2] if v else None


def row(name, val, unit, ref=None, refval=None):
    if val is None:
        log("no figure for", name)
        return
    line = "BENCH %s %.2f %s" % (name, val, unit)
    if ref and refval:
        line += " vs %s %.2f %s ratio %.2f" % (ref, refval, unit, val / refval)
    print(line, flush=True)


def vmm_args(extra, serial_file=None):
    a = [VMM, "-machine", "microvm,accel=kvm", "-m", "128M", "-kernel", GUEST,
         "-append", "testguest.action=snapwait", "-device", DEV] + extra
    a += ["-serial", "file:" + serial_file] if serial_file else ["-serial", "stdio"]
    return a


def main():
    ram = os.path.join(tmp, "template.ram")
    shared = ["-object", "memory-backend-file,id=m0,size=128M,mem-path=%s,share=on" % ram,
              "-numa", "node,memdev=m0"]
    sock, serial = os.path.join(tmp, "v.sock"), os.path.join(tmp, "v.out")
    st_full, st_shared = os.path.join(tmp, "full.state"), os.path.join(tmp, "shared.state")
    saves, saves_sh, holds, holds_sh = [], [], [], []
    rest, rest_sh, cold = [], [], []
    for _ in range(RUNS):
        r = save(vmm_args(["-qmp", "unix:%s,server,nowait" % sock], serial), sock,
                 serial, st_full, [])
        if r:
            saves.append(r[0])
            holds.append(r[1])
            rest.append(restore(vmm_args(["-incoming", "exec:cat " + st_full]),
                                {"VMM_BENCH_TIMESTAMPS": "1"}))
        r = save(vmm_args(shared + ["-qmp", "unix:%s,server,nowait" % sock], serial),
                 sock, serial, st_shared, ["x-ignore-shared"])
        if r:
            saves_sh.append(r[0])
            holds_sh.append(r[1])
            rest_sh.append(restore(vmm_args(shared + ["-incoming", "exec:cat " + st_shared]),
                                   {"VMM_BENCH_TIMESTAMPS": "1"}))
        # A cold boot of the same machine: its first KVM_RUN is the boot's.
        c = [VMM, "-machine", "microvm,accel=kvm", "-m", "128M", "-kernel", GUEST,
             "-append", "testguest.action=exit", "-device", DEV]
        cold.append(restore(c, {"VMM_BENCH_TIMESTAMPS": "1"}))
    qsave, qrest = [], []
    have_qemu = subprocess.call("command -v qemu-system-x86_64 >/dev/null 2>&1",
                                shell=True) == 0
    if have_qemu:
        qsock, qserial = os.path.join(tmp, "q.sock"), os.path.join(tmp, "q.out")
        qstate = os.path.join(tmp, "q.state")
        qbase = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu",
                 "host,-arch-capabilities", "-m", "128M", "-nodefaults",
                 "-no-user-config", "-display", "none", "-kernel", GUEST,
                 "-append", "testguest.action=snapwait", "-device", DEV]
        for _ in range(RUNS):
            r = save(qbase + ["-serial", "file:" + qserial, "-qmp",
                              "unix:%s,server=on,wait=off" % qsock],
                     qsock, qserial, qstate, [])
            if not r:
                break
            qsave.append(r[0])
            qrest.append(restore(qbase + ["-serial", "stdio", "-incoming",
                                          "exec:cat " + qstate, "-msg", "timestamp=on",
                                          "-trace", "kvm_vcpu_ioctl"]))
    qs, qr = median(qsave), median(qrest)
    row("snapshot_save_128M", median(saves), "ms", "qemu-7.2-exec" if qs else None, qs)
    row("snapshot_save_128M_ignore_shared", median(saves_sh), "ms")
    row("snapshot_save_lock_hold_128M", median(holds), "ms")
    row("snapshot_save_lock_hold_128M_ignore_shared", median(holds_sh), "ms")
    size = os.path.getsize(st_full) if os.path.exists(st_full) else 0
    size_sh = os.path.getsize(st_shared) if os.path.exists(st_shared) else 0
    print("BENCH snapshot_stream_128M %.0f KiB" % (size / 1024), flush=True)
    print("BENCH snapshot_stream_128M_ignore_shared %.0f KiB" % (size_sh / 1024), flush=True)
    mr, mrs, mc = median(rest), median(rest_sh), median(cold)
    row("restore_exec_to_first_kvm_run_128M", mr, "ms", "coldboot", mc)
    row("restore_exec_to_first_kvm_run_128M", mr, "ms", "qemu-7.2-incoming" if qr else None, qr)
    row("restore_exec_to_first_kvm_run_128M", mr, "ms", "firecracker-published",
        FIRECRACKER_PUBLISHED_MS)
    row("restore_exec_to_first_kvm_run_128M_ignore_shared", mrs, "ms", "coldboot", mc)
    row("restore_exec_to_first_kvm_run_128M_ignore_shared", mrs, "ms",
        "firecracker-published", FIRECRACKER_PUBLISHED_MS)
    row("coldboot_exec_to_first_kvm_run_128M", mc, "ms")
    if qr:
        row("qemu_incoming_exec_to_first_kvm_run_128M", qr, "ms")
    subprocess.call(["rm", "-rf", tmp])
    return 0 if mr is not None and mrs is not None else 1


sys.exit(main())
