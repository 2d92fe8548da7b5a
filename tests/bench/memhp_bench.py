# Memory hot-plug latency (driven by bench_memhp), the test guest doing
# what the ACPI methods / a virtio-mem driver would.  BENCH lines:
#   memhp-add-to-guest-rw    object-add + device_add pc-dimm sent -> the
#                            guest (polling port 0xa00) wrote and read it
#   memhp-del-to-deleted     device_del -> DEVICE_DELETED (guest ejected)
#     both beside QEMU q35 with the same guest (QEMU's register block is
#     the one ours follows, at the same port)
#   virtio-mem-resize-to-plugged  qom-set requested-size 64M -> the guest
#                            plugged it all (virtio-mem-device on microvm;
#                            QEMU 7.2 has only virtio-mem-pci, which this
#                            guest's virtio-mmio driver does not drive)
# Usage: memhp_bench.py BUILD ROOT
import os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(sys.argv[2], 'tests', 'integration'))
from hotplug_qmp import Qmp, wait_serial

build, runs = sys.argv[1], 3
guest = build + '/guest-images/testguest.elf'
tmp = tempfile.mkdtemp(prefix='vmm-memhpbench.')
MEM = ['-m', '128M,slots=2,maxmem=1G', '-kernel', guest,
       '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']

def cmdline(kind, sock, out, action):
    if kind == 'vmm':
        m = 'microvm,accel=kvm' if action == 'virtio-mem' else 'q35,accel=kvm'
        extra = ['-object', 'memory-backend-ram,id=vmm,size=256M', '-device',
                 'virtio-mem-device,id=vm0,memdev=vmm,block-size=2M'] if action == 'virtio-mem' else []
        return [build + '/vmm', '-machine', m, '-serial', 'file:' + out,
                '-qmp', 'unix:%s,server,nowait' % sock,
                '-append', 'testguest.action=' + action] + MEM + extra
    return ['qemu-system-x86_64', '-M', 'q35', '-enable-kvm', '-cpu', 'host,-arch-capabilities',
            '-nodefaults', '-display', 'none', '-serial', 'file:' + out,
            '-qmp', 'unix:%s,server=on,wait=off' % sock,
            '-append', 'testguest.action=' + action] + MEM

def one(kind, i, action):
    sock, out = '%s/%s%s%d.sock' % (tmp, kind, action, i), '%s/%s%s%d.out' % (tmp, kind, action, i)
    p = subprocess.Popen(cmdline(kind, sock, out, action), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        q = Qmp(sock)
        if action == 'virtio-mem':
            if not wait_serial(out, 'virtio-mem waiting', deadline=60):
                return None
            t0 = time.monotonic()
            q.cmd('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size',
                              'value': 64 << 20})
            if not wait_serial(out, 'virtio-mem plugged', deadline=30):
                return None
            return ((time.monotonic() - t0) * 1e3, None)
        if not wait_serial(out, 'memhp waiting', deadline=60):
            return None
        t0 = time.monotonic()
        q.cmd('object-add', {'id': 'm1', 'qom-type': 'memory-backend-ram', 'size': 128 << 20})
        r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm1'})
        if 'return' not in r or not wait_serial(out, 'rw ok', deadline=30):
            return None
        t1 = time.monotonic()
        q.cmd('device_del', {'id': 'd1'})
        e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'd1',
                         deadline=30)
        t2 = time.monotonic()
        return None if e is None else ((t1 - t0) * 1e3, (t2 - t1) * 1e3)
    finally:
        p.kill()
        p.wait()

def median(kind, action):
    got = []
    for i in range(runs):
        try:
            r = one(kind, i, action)
        except (OSError, ValueError):
            r = None
        if not r:
            break
        got.append(r)
    if not got:
        return None
    a = sorted(r[0] for r in got)[len(got) // 2]
    dels = sorted(r[1] for r in got if r[1] is not None)
    return a, dels[len(dels) // 2] if dels else None

have_qemu = subprocess.call('command -v qemu-system-x86_64 >/dev/null', shell=True) == 0
ours, theirs = median('vmm', 'memhp'), median('qemu', 'memhp') if have_qemu else None
vmem = median('vmm', 'virtio-mem')
if not ours or not vmem:
    print('bench_memhp: our run failed')
    sys.exit(1)
for k, name in enumerate(('memhp-add-to-guest-rw', 'memhp-del-to-deleted')):
    line = 'BENCH %s %.2f ms' % (name, ours[k])
    if theirs and theirs[k] is not None:
        line += ' vs qemu-q35 %.2f ms ratio %.2f' % (theirs[k], ours[k] / theirs[k] if theirs[k] else 0)
    print(line)
print('BENCH virtio-mem-resize-to-plugged %.2f ms' % vmem[0])
if not theirs:
    print('bench_memhp: QEMU rows left out (not installed, or its run failed)')
