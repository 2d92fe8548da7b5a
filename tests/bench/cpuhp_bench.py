# vCPU hot-plug latency (driven by bench_cpu_hotplug): the test guest's
# cpuhp action (guest-images/testguest/cpuhp.c: it polls QEMU's CPU
# hot-plug registers, starts the new vCPU with INIT-SIPI-SIPI and says so
# once that vCPU's counter moves) under our vmm and under QEMU q35, same
# -smp 1,maxcpus=3, same guest.  Each VM plugs two slots in turn (QEMU
# 7.2 cannot plug the same slot twice on this host).  Prints BENCH lines:
#   cpuhp-add-to-running   device_add sent -> the guest saw the vCPU run
#   cpuhp-del-to-deleted   device_del sent -> DEVICE_DELETED (device id)
# Usage: cpuhp_bench.py BUILD ROOT
import os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(sys.argv[2], 'tests', 'integration'))
from hotplug_qmp import Qmp

def wait_serial(path, text, count=1, deadline=60):
    # As hotplug_qmp's, polling every 1 ms: the figures are tens of ms.
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with open(path, errors='replace') as f:
                if f.read().count(text) >= count:
                    return True
        except OSError:
            pass
        time.sleep(0.001)
    return False

build, runs = sys.argv[1], 3
guest = build + '/guest-images/testguest.elf'
tmp = tempfile.mkdtemp(prefix='vmm-cpuhpbench.')

def cmdline(kind, sock, out):
    common = ['-smp', '1,maxcpus=3', '-m', '128M', '-kernel', guest,
              '-append', 'testguest.action=cpuhp testguest.cpuhp=2',
              '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
    if kind == 'vmm':
        return [build + '/vmm', '-machine', 'q35,accel=kvm', '-serial', 'file:' + out,
                '-qmp', 'unix:%s,server,nowait' % sock] + common
    return ['qemu-system-x86_64', '-M', 'q35', '-enable-kvm', '-cpu', 'host,-arch-capabilities',
            '-nodefaults', '-display', 'none', '-serial', 'file:' + out,
            '-qmp', 'unix:%s,server=on,wait=off' % sock] + common

def one(kind, i):
    sock, out = '%s/%s%d.sock' % (tmp, kind, i), '%s/%s%d.out' % (tmp, kind, i)
    p = subprocess.Popen(cmdline(kind, sock, out), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    adds, dels = [], []
    try:
        q = Qmp(sock)
        for rnd, core in ((1, 1), (2, 2)):
            if not wait_serial(out, 'cpuhp waiting', count=2 * rnd - 1, deadline=60):
                return None
            t0 = time.monotonic()
            r = q.cmd('device_add', {'driver': 'host-x86_64-cpu', 'id': 'cpu-%d' % core,
                                     'socket-id': 0, 'core-id': core, 'thread-id': 0})
            if 'return' not in r or not wait_serial(out, 'cpuhp cpu %d apic %d running' % (core, core),
                                                    deadline=30):
                return None
            adds.append((time.monotonic() - t0) * 1e3)
            if not wait_serial(out, 'cpuhp waiting eject', count=rnd, deadline=30):
                return None
            t1 = time.monotonic()
            q.cmd('device_del', {'id': 'cpu-%d' % core})
            e = q.wait_event('DEVICE_DELETED',
                             lambda e: e.get('data', {}).get('device') == 'cpu-%d' % core,
                             deadline=30)
            if e is None:
                return None
            dels.append((time.monotonic() - t1) * 1e3)
        return adds, dels
    finally:
        p.kill()
        p.wait()

def safe(kind, i):
    try:
        return one(kind, i)
    except (OSError, ValueError):
        return None

def median(kind):
    adds, dels = [], []
    for i in range(runs):
        r = safe(kind, i)
        if not r:
            break    # one failure: the others would fail the same way
        adds += r[0]
        dels += r[1]
    if not adds:
        return None
    adds.sort()
    dels.sort()
    return adds[len(adds) // 2], dels[len(dels) // 2]

ours = median('vmm')
theirs = median('qemu') if subprocess.call('command -v qemu-system-x86_64 >/dev/null',
                                            shell=True) == 0 else None
if not ours:
    print('bench_cpu_hotplug: our vCPU hot-plug run failed')
    sys.exit(1)
for k, name in enumerate(('cpuhp-add-to-running', 'cpuhp-del-to-deleted')):
    line = 'BENCH %s %.2f ms' % (name, ours[k])
    if theirs:
        line += ' vs qemu-q35 %.2f ms ratio %.2f' % (theirs[k], ours[k] / theirs[k] if theirs[k] else 0)
    print(line)
if not theirs:
    print('bench_cpu_hotplug: QEMU rows left out (not installed, or its run failed)')
