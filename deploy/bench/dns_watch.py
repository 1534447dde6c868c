"""Watch crm.boss.example's A answer at DNS listeners on loopback, one thread per port, and
record (time, address) at every change ("-" for no answer); shared by cluster-switch.py and
cluster-failover.py."""
import socket, struct, threading, time

QUERY = b"\x03crm\x04boss\x07example\x00\x00\x01\x00\x01"


class Watch:
    def __init__(self, ports):
        self.seen = {p: [] for p in ports}  # (time, ip) on every change of answer
        self.running = True
        self.threads = [threading.Thread(target=self._ask, args=(p,), daemon=True) for p in ports]
        for t in self.threads:
            t.start()

    def _ask(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("127.0.0.1", port)); s.settimeout(1)
        last = None; qid = 0
        while self.running:
            qid = (qid + 1) & 0xFFFF
            s.send(struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + QUERY)
            try:
                r = s.recv(512)
            except OSError:
                continue
            ip = ".".join(str(b) for b in r[-4:]) if struct.unpack(">H", r[6:8])[0] else "-"
            if ip != last:
                self.seen[port].append((time.time(), ip)); last = ip
            time.sleep(0.0002)

    def stop(self):
        self.running = False
