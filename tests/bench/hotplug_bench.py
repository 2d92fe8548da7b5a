# Hot-plug latency (driven by bench_hotplug): the test guest playing
# pciehp (testguest.action=hotplug) under our vmm and under QEMU q35 with
# the same root port, drive and guest.  Prints BENCH lines:
#   hotplug-add-to-sector0  device_add sent -> the guest printed sector 0
#   hotplug-del-to-deleted  device_del sent -> DEVICE_DELETED (device id)
# Usage: hotplug_bench.py BUILD ROOT
import os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(sys.argv[2], 'tests', 'integration'))
from hotplug_qmp import Qmp, wait_serial

build, runs = sys.argv[1], 3
guest = build + '/guest-images/testguest.elf'
tmp = tempfile.mkdtemp(prefix='vmm-hpbench.')
disk = tmp + '/disk.img'
with open(disk, 'wb') as f:
    f.write(b'VMM-TESTGUEST-DISK-SECTOR-0'.ljust(1 << 20, b'\0'))

def cmdline(kind, sock, out):
    port = ['-device', 'pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2',
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
            '-kernel', guest, '-append', 'testguest.action=hotplug', '-m', '256M']
    if kind == 'vmm':
        return [build + '/vmm', '-machine', 'q35,accel=kvm', '-drive',
                'id=d0,file=%s,readonly=on' % disk, '-serial', 'file:' + out,
                '-qmp', 'unix:%s,server,nowait' % sock] + port
    return ['qemu-system-x86_64', '-M', 'q35', '-enable-kvm', '-cpu', 'host,-arch-capabilities',
            '-nodefaults', '-display', 'none',
            # Native PCIe hot-plug, as ours (q35 defaults to ACPI hot-plug
            # since QEMU 6.1; Kata turns it off the same way).
            '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off', '-drive',
            'id=d0,file=%s,if=none,format=raw,readonly=on' % disk,
            '-serial', 'file:' + out, '-qmp', 'unix:%s,server=on,wait=off' % sock] + port

def one(kind, i):
    sock, out = '%s/%s%d.sock' % (tmp, kind, i), '%s/%s%d.out' % (tmp, kind, i)
    p = subprocess.Popen(cmdline(kind, sock, out), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        q = Qmp(sock)
        if not wait_serial(out, 'hotplug waiting', deadline=60):
            return None
        t0 = time.monotonic()
        r = q.cmd('device_add', {'addr': '0x0', 'bus': 'rp0', 'drive': 'd0',
                                 'driver': 'virtio-blk-pci', 'id': 'v0'})
        if 'return' not in r or not wait_serial(out, 'sector0', deadline=30):
            return None
        t1 = time.monotonic()
        # QEMU 7.2 latches Attention Button Pressed with the hot-add
        # itself; this polled guest then releases the slot at once, so
        # there is no device_del latency to measure for it.
        early = kind == 'qemu' and wait_serial(out, 'hotplug released', deadline=0.2)
        if early:
            return ((t1 - t0) * 1e3, None)
        t1 = time.monotonic()
        q.cmd('device_del', {'id': 'v0'})
        e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'v0',
                         deadline=30)
        t2 = time.monotonic()
        return None if e is None else ((t1 - t0) * 1e3, (t2 - t1) * 1e3)
    finally:
        p.kill()
        p.wait()

def safe(kind, i):
    try:
        return one(kind, i)
    except (OSError, ValueError):
        return None

def median(kind):
    got = []
    for i in range(runs):
        r = safe(kind, i)
        if not r:
            break    # one failure: the others would fail the same way
        got.append(r)
    if not got:
        return None
    got.sort(key=lambda r: r[0])
    a = got[len(got) // 2][0]
    dels = sorted(r[1] for r in got if r[1] is not None)
    return a, dels[len(dels) // 2] if dels else None

ours = median('vmm')
theirs = median('qemu') if subprocess.call('command -v qemu-system-x86_64 >/dev/null',
                                            shell=True) == 0 else None
if not ours:
    print('bench_hotplug: our hot-plug run failed')
    sys.exit(1)
for k, name in enumerate(('hotplug-add-to-sector0', 'hotplug-del-to-deleted')):
    line = 'BENCH %s %.2f ms' % (name, ours[k])
    if theirs and theirs[k] is not None:
        line += ' vs qemu-q35 %.2f ms ratio %.2f' % (theirs[k], ours[k] / theirs[k] if theirs[k] else 0)
    print(line)
if not theirs:
    print('bench_hotplug: QEMU rows left out (not installed, or its run failed)')
