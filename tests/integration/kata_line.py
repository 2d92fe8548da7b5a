"""Kata's real QEMU command line (../shared/seeds/kata-qemu-command-line.txt)
run against a VMM, changing only paths and descriptors (test_kata_line.sh).

    kata_line.py SEED TMP GUEST VMM-or-QEMU kind(vmm|qemu)

Prints one line per finding: the variants tried, accepted or refused (and
the refusal's one line), and for the started VM what the test guest found,
read from the virtconsole socket the line names (the guest replays its
report there: guest-images/testguest/hvc.c)."""
import fcntl, json, os, socket, struct, subprocess, sys, time
import qmpio

SANDBOX = '/run/vc/vm/aed7737ccc2f20ca2bffd069324b86e2ec6357023a8ee1034c7f9e532cd17eae/'
ROOTFS = '/opt/kata/share/kata-containers/kata-clearlinux-latest.image'
VIRTIOFSD = '/usr/lib/qemu/virtiofsd'


def seed_args(path):
    """The option words of the seed: comments and prose dropped, one word
    per token, -append's wrapped lines joined into one argument."""
    lines = open(path, encoding='utf-8').read().splitlines()
    args, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line.startswith('-'):
            continue
        if line.startswith('-append '):
            parts = [line[len('-append '):]]
            while i < len(lines) and lines[i].strip() and \
                    not lines[i].lstrip().startswith(('#', '-')):
                parts.append(lines[i].strip())
                i += 1
            args += ['-append', ' '.join(parts)]
        else:
            args += line.split()
    return args


def substitute(args, tmp, guest):
    """Paths only: the sandbox directory, the kernel, the rootfs image."""
    out = []
    for a in args:
        a = a.replace(SANDBOX, tmp + '/run/').replace(ROOTFS, tmp + '/rootfs.img')
        out.append(a)
    k = out.index('-kernel')
    out[k + 1] = guest
    return out


def drop_device(args, prefix):
    i = next(i for i in range(len(args) - 1)
             if args[i] == '-device' and args[i + 1].startswith(prefix))
    return args[:i] + args[i + 2:]


def without_vhost_net(args):
    return [a.replace('vhost=on,', '').replace('vhostfds=4,', '') for a in args]


def without_fs(args):
    args = drop_device(args, 'vhost-user-fs-pci')
    i = next(i for i in range(len(args) - 1)
             if args[i] == '-chardev' and 'vhost-fs.sock' in args[i + 1])
    return args[:i] + args[i + 2:]


def open_tap():
    """fd of a new tap queue (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, as Kata
    opens them), or None where the host can't make one."""
    try:
        fd = os.open('/dev/net/tun', os.O_RDWR)
    except OSError:
        return None
    ifr = struct.pack('16sH', b'vmmkata%d', 0x0002 | 0x1000 | 0x4000)
    try:
        fcntl.ioctl(fd, 0x400454ca, ifr)          # TUNSETIFF
    except OSError:
        os.close(fd)
        return None
    return fd


def fd_for(dev):
    try:
        return os.open(dev, os.O_RDWR), True
    except OSError:
        return os.open('/dev/null', os.O_RDWR), False


class Run:
    def __init__(self, tmp, binary, kind):
        self.tmp, self.binary, self.kind = tmp, binary, kind
        self.fsd = None

    def start_virtiofsd(self):
        sock = self.tmp + '/run/vhost-fs.sock'
        if os.path.exists(sock):
            os.unlink(sock)
        os.makedirs(self.tmp + '/shared', exist_ok=True)
        # What the test guest's FUSE client reads (testguest/virtiofs.c).
        with open(self.tmp + '/shared/hello.txt', 'w') as f:
            f.write('VMM-VIRTIOFS-HELLO-FROM-HOST\n')
        self.fsd = subprocess.Popen(
            [VIRTIOFSD, '--socket-path=' + sock, '-o', 'source=' + self.tmp + '/shared',
             '-o', 'cache=none'], stdout=subprocess.DEVNULL,
            stderr=open(self.tmp + '/virtiofsd.log', 'a'))
        end = time.monotonic() + 20
        while not os.path.exists(sock) and time.monotonic() < end:
            time.sleep(0.02)

    def stop_virtiofsd(self):
        if self.fsd:
            self.fsd.kill()
            self.fsd.wait()
            self.fsd = None

    def launch(self, args, fds):
        """exec with fds 3, 4, 5 inherited as the line names them; returns
        (parent exit code, stderr lines)."""
        for f in ('qmp.sock', 'console.sock', 'pid'):
            try:
                os.unlink(self.tmp + '/run/' + f)
            except FileNotFoundError:
                pass
        cmd = [self.binary] + args
        if self.kind == 'qemu':
            # This host's KVM lacks what QEMU's default -cpu host would
            # ask for (the harness's named reason for one extra flag).
            c = cmd.index('-cpu')
            cmd[c + 1] += ',-arch-capabilities'
            # QEMU 7.2 no longer has -realtime (Kata's seed came from
            # 5.2); -overcommit mem-lock=off is what replaced it.
            r = cmd.index('-realtime')
            cmd[r:r + 2] = ['-overcommit', 'mem-lock=off']
        err = self.tmp + '/%s.err' % self.kind

        def child():
            for want, fd in fds.items():
                if fd != want:
                    os.dup2(fd, want)
                os.set_inheritable(want, True)
        r = subprocess.run(cmd, preexec_fn=child, pass_fds=tuple(fds),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(err, 'w'), timeout=120)
        return r.returncode, [l for l in open(err).read().splitlines() if l.strip()]


def qmp(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(60)
    f = qmpio.QmpFile(s)
    json.loads(f.readline())

    def cmd(c, **a):
        f.write(json.dumps({'execute': c, 'arguments': a}) + '\n')
        f.flush()
        while True:
            m = json.loads(f.readline())
            if 'return' in m or 'error' in m:
                return m
    cmd('qmp_capabilities')
    return cmd


def guest_report(path, deadline):
    """One whole round of the guest's replayed report from the console
    socket: the lines after a 'hvc round' line through 'done, N failed'."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(5)
    buf = b''
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        buf += d
        lines = buf.decode('latin-1').replace('\r', '').split('\n')
        starts = [i for i, l in enumerate(lines[:-1]) if 'testguest: hvc round' in l]
        for st in starts:
            for j in range(st + 1, len(lines) - 1):
                if lines[j].startswith('testguest: hvc round'):
                    break
                if lines[j].startswith('testguest: done, '):
                    return lines[st + 1:j + 1]
    return None


def main():
    seed, tmp, guest, binary, kind = sys.argv[1:6]
    os.makedirs(tmp + '/run', exist_ok=True)
    with open(tmp + '/rootfs.img', 'wb') as f:
        f.write(b'VMM-NVDIMM-SIG-0')
        f.truncate(268435456)
    args = substitute(seed_args(seed), tmp, guest)
    run = Run(tmp, binary, kind)
    tap = open_tap()
    if tap is None:
        print('SKIP: no tap device can be made here (/dev/net/tun, CAP_NET_ADMIN): '
              'the line needs fds=5')
        return
    have_fs = os.access(VIRTIOFSD, os.X_OK)
    if not have_fs:
        print('SKIP: %s missing: vhost-user-fs-pci dropped' % VIRTIOFSD)
        args = without_fs(args)

    vsock_fd, have_vsock = fd_for('/dev/vhost-vsock')
    net_fd, have_net = fd_for('/dev/vhost-net')
    # Out of the way of 3-5 first, so that placing one cannot overwrite
    # another's source in the child.
    fds = {want: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 20)
           for want, fd in ((3, vsock_fd), (4, net_fd), (5, tap))}
    # Each facility this host lacks: the line as it stands must be refused
    # with one line naming it; then the variant without it goes on.
    for name, have, drop in (('vhost-vsock', have_vsock,
                              lambda a: drop_device(a, 'vhost-vsock-pci')),
                             ('vhost-net', have_net, without_vhost_net)):
        if have:
            continue
        if have_fs:
            run.start_virtiofsd()
        rc, err = run.launch(args, fds)
        run.stop_virtiofsd()
        named = len(err) == 1 and name in err[0]
        print('variant-without-host-%s refused=%s one-line-naming-it=%s' %
              (name, rc != 0, named))
        if rc == 0 or not named:
            print('  stderr:', err)
        if rc == 0:
            kill_daemon(tmp)
        args = drop(args)
        print('SKIP: this host has no /dev/%s: the rest runs without it' % name)
        if name == 'vhost-vsock':
            fds.pop(3)
        else:
            fds.pop(4)

    if have_fs:
        run.start_virtiofsd()
    rc, err = run.launch(args, fds)
    print('started=%s' % (rc == 0))
    if rc != 0:
        print('  stderr:', err)
        run.stop_virtiofsd()
        return
    pid = int(open(tmp + '/run/pid').read())
    cmd = qmp(tmp + '/run/qmp.sock')
    st = cmd('query-status').get('return', {})
    print('status=%s' % st.get('status'))
    if kind == 'vmm':
        report = guest_report(tmp + '/run/console.sock', time.monotonic() + 120)
        if report is None:
            print('report=none')
        else:
            with open(tmp + '/report.txt', 'w') as f:
                f.write('\n'.join(report) + '\n')
            print('report=yes')
    cmd('quit')
    end = time.monotonic() + 30
    while time.monotonic() < end and alive(pid):
        time.sleep(0.02)
    print('exited=%s pidfile-removed=%s' % (not alive(pid),
                                            not os.path.exists(tmp + '/run/pid')))
    run.stop_virtiofsd()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def kill_daemon(tmp):
    try:
        os.kill(int(open(tmp + '/run/pid').read()), 9)
    except (OSError, ValueError):
        pass


main()
