# QMP driver for test_kvm_hotplug.sh and the hot-plug bench: commands as
# Kata's govmm sends them (sorted keys, "arguments" first), the guest's
# serial output followed in a file, every wait bounded by a deadline; and
# the step runner of the *_vs_qemu hot-plug comparisons (run_steps).
import json, os, socket, sys, time

class Qmp:
    def __init__(self, path, deadline=60):
        end = time.time() + deadline
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.02)
        self.f = self.s.makefile('rw')
        self.events = []
        json.loads(self.f.readline())
        self.cmd('qmp_capabilities')

    def cmd(self, name, args=None):
        m = {'execute': name}
        if args is not None:
            m['arguments'] = args
        self.f.write(json.dumps(m, sort_keys=True) + '\n')
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if 'event' in r:
                self.events.append(r)
                continue
            return r

    def getfd(self, name, fd):
        """getfd with fd passed as SCM_RIGHTS in the same message, as
        govmm's ExecuteGetFD sends it."""
        import array
        m = json.dumps({'arguments': {'fdname': name}, 'execute': 'getfd'},
                       sort_keys=True) + '\n'
        self.s.sendmsg([m.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                       array.array('i', [fd]).tobytes())])
        while True:
            r = json.loads(self.f.readline())
            if 'event' in r:
                self.events.append(r)
                continue
            return r

    def wait_event(self, name, pred=lambda e: True, deadline=60):
        end = time.time() + deadline
        while True:
            for e in self.events:
                if e['event'] == name and pred(e):
                    self.events.remove(e)
                    return e
            self.s.settimeout(max(0.01, end - time.time()))
            try:
                line = self.f.readline()
            except socket.timeout:
                line = ''
            self.s.settimeout(None)
            if line:
                self.events.append(json.loads(line))
            elif time.time() > end:
                return None

def wait_serial(path, text, count=1, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            if open(path, errors='replace').read().count(text) >= count:
                return True
        except OSError:
            pass
        time.sleep(0.01)
    return False

def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(x) for x in v]
    return type(v).__name__

def run_steps(q, seq, events=lambda e: True):
    """Run a sequence of (command, arguments) steps and print, one line
    each, what must be the same under QEMU and vmm: the arguments (those
    whose value is None left out) and the error, or qom-get's value, or
    the shape (key and type names) of another return.  A step 'deleted ID'
    waits (10 s deadline) for ID's DEVICE_DELETED and prints its data.
    Last, the other events that `events` keeps, sorted."""
    for step in seq:
        if isinstance(step, str):
            dev = step.split()[1]
            e = q.wait_event('DEVICE_DELETED', lambda e: e['data'].get('device') == dev,
                             deadline=10)
            print(step, json.dumps(e and e['data'], sort_keys=True))
            continue
        name, args = step
        args = {k: v for k, v in args.items() if v is not None}
        r = q.cmd(name, args)
        val = r['error'] if 'error' in r else (r['return'] if name == 'qom-get'
                                               else _shape(r['return']))
        print(name, json.dumps(args, sort_keys=True), '->', json.dumps(val, sort_keys=True))
    print('other events:', sorted(json.dumps(e['data'], sort_keys=True) for e in q.events
                                  if events(e)))
