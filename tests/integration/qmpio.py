"""A QMP connection's text stream, read and written apart.

A socket's makefile('rw') text wrapper drops the text it has read ahead
whenever it is written to (io.TextIOWrapper.write resets its decoder), so
an event that came in the same recv() as a reply vanishes if the next
command goes out before it is read.  Every test that talks QMP line by
line uses this instead:

    f = qmpio.QmpFile(sock)
    f.write(json.dumps(cmd) + "\\n"); f.flush()
    reply = json.loads(f.readline())
"""


class QmpFile:
    def __init__(self, sock):
        self._r = sock.makefile("r")
        self._w = sock.makefile("w")

    def readline(self):
        return self._r.readline()

    def __iter__(self):
        return iter(self._r)

    def write(self, text):
        return self._w.write(text)

    def flush(self):
        self._w.flush()

    def close(self):
        self._w.close()
        self._r.close()
