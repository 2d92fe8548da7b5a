#!/usr/bin/env python3
"""The host side of test_kvm_vsock.sh: runs vmm (argv[3:]) with the test
guest's vsock action, listens at UDS_5678 for the guest's connection,
connects to UDS with the CONNECT/OK handshake (Firecracker / Cloud
Hypervisor convention), and checks both echo and reply.  Every wait has
a deadline; prints one 'host:' line per step and exits with vmm's code
(or 1 when a host step failed)."""
import os, socket, subprocess, sys, time

uds, outpath, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
errpath = outpath + ".err"
DEADLINE = time.monotonic() + 50
ok = True

lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lst.bind(uds + "_5678")
lst.listen(1)
# Files, not pipes: reading a pipe would wait for every process that
# holds it, however it ended.
with open(outpath, "wb") as out, open(errpath, "wb") as errf:
    vm = subprocess.Popen(cmd, stdout=out, stderr=errf)

def left():
    return max(0.1, DEADLINE - time.monotonic())

def read_line(s):
    buf = b""
    s.settimeout(left())
    while not buf.endswith(b"\n"):
        b = s.recv(256)
        if not b:
            break
        buf += b
    return buf

try:
    # vmm binds UDS before the guest runs, and refuses (closes) a
    # connection until the guest driver is up: retry until OK.
    c, line = None, b""
    while time.monotonic() < DEADLINE and vm.poll() is None:
        try:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(uds)
            c.sendall(b"CONNECT 1234\n")
            line = read_line(c)
            if line.startswith(b"OK "):
                break
        except OSError:
            pass
        c.close()
        c = None
        time.sleep(0.1)
    if c is None:
        raise RuntimeError("no OK from " + uds)
    print("host: handshake reply %r" % line.decode(errors="replace"), flush=True)
    if int(line[3:]) < (1 << 30):
        ok = False
    msg = b"ping-from-host-0123456789\n"
    c.sendall(msg)
    echo = read_line(c)
    print("host: echo %r" % echo.decode(errors="replace"), flush=True)
    ok = ok and echo == msg
    c.close()
    lst.settimeout(left())
    g, _ = lst.accept()
    got = read_line(g)
    print("host: guest sent %r" % got.decode(errors="replace"), flush=True)
    ok = ok and got == b"hello-from-guest\n"
    g.sendall(b"ack\n")
    g.settimeout(left())
    g.recv(16)   # the guest shuts down: end of stream
    g.close()
except Exception as e:  # noqa: BLE001 - reported, the test fails
    print("host: FAIL %s" % e, flush=True)
    ok = False
try:
    rc = vm.wait(timeout=left())
except subprocess.TimeoutExpired:
    vm.kill()
    rc = vm.wait()
with open(errpath, "rb") as f:
    err = f.read().decode(errors="replace")
if err:
    print("host: vmm stderr: " + err.strip(), flush=True)
print("host: vmm exit %d" % rc, flush=True)
os.unlink(uds + "_5678")
sys.exit(rc if ok else 1)
