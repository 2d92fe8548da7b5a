"""QMP steps for tests/integration/test_kvm_snapshot.sh.

usage: snap_qmp.py SOCKET SERIAL STEP...
Steps: "ready" (wait for the guest's "snap ready" line in SERIAL),
"caps CAP,CAP" (migrate-set-capabilities, each on), "save URI" (stop,
migrate, poll query-migrate to completed or failed), "save-running URI"
(the same without the stop), "cmd NAME [JSON]",
"quit".  Every reply and event is printed, compact, sorted, one a line,
without timestamps; query-migrate polls print only the final reply, and
the last line of a save is "saved MS" (wall milliseconds from migrate to
completed).  Every wait has a deadline."""
import json
import socket
import sys
import time

path, serial, steps = sys.argv[1], sys.argv[2], sys.argv[3:]
for _ in range(800):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        time.sleep(0.025)
else:
    sys.exit("no QMP socket " + path)
# One reader and one writer: a write on a makefile("rw") text wrapper
# discards what it had read ahead (CPython's TextIOWrapper.write resets
# its decoded buffer), which lost MIGRATION events arriving in the same
# recv as a reply.
f = s.makefile("r")
wf = s.makefile("w")
json.loads(f.readline())


events = []


def show(m):
    m.pop("timestamp", None)
    if "event" in m:
        events.append((m["event"], m.get("data")))
    print(json.dumps(m, sort_keys=True), flush=True)


def cmd(name, args=None, quiet=False):
    m = {"execute": name}
    if args is not None:
        m["arguments"] = args
    wf.write(json.dumps(m) + "\n")
    wf.flush()
    while True:
        line = f.readline()
        if not line:
            sys.exit("QMP connection closed")
        r = json.loads(line)
        if "event" in r or not quiet:
            show(r)
        if "event" not in r:
            return r


cmd("qmp_capabilities")
caps_events = False
for step in steps:
    word, _, rest = step.partition(" ")
    if word == "ready":
        deadline = time.time() + 30
        while "snap ready" not in open(serial, errors="replace").read():
            if time.time() > deadline:
                sys.exit("the guest never said 'snap ready'")
            time.sleep(0.01)
    elif word == "caps":
        caps_events = "events" in rest.split(",")
        cmd("migrate-set-capabilities",
            {"capabilities": [{"capability": c, "state": True}
                              for c in rest.split(",")]})
    elif word in ("save", "save-running"):
        if word == "save":
            cmd("stop")
        t0 = time.time()
        cmd("migrate", {"uri": rest})
        deadline = t0 + 60
        while True:
            r = cmd("query-migrate", quiet=True)
            st = r.get("return", {}).get("status")
            if st in ("completed", "failed") or time.time() > deadline:
                show(r)
                break
            time.sleep(0.005)
        # With the events capability, MIGRATION {completed|failed} may
        # come just after query-migrate says so: wait for it (deadline),
        # so a quit right after cannot overtake it.
        while (caps_events and ("MIGRATION", {"status": st}) not in events
               and time.time() < deadline):
            cmd("query-status", quiet=True)
            time.sleep(0.005)
        print("saved %d" % ((time.time() - t0) * 1000), flush=True)
    elif word == "cmd":
        name, _, arg = rest.partition(" ")
        cmd(name, json.loads(arg) if arg else None)
    elif word == "quit":
        cmd("quit")
        try:
            while f.readline():
                pass
        except OSError:
            pass
    else:
        sys.exit("unknown step " + step)
