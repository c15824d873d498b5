"""A threaded HTTP server on loopback that a simulator plugs its handler into."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class SimulatorHandler(BaseHTTPRequestHandler):
    "Parses the request once; subclasses implement handle_request()"
    protocol_version = 'HTTP/1.1'
    server_version = 'duoduo-simulator'

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def setup(self):
        super().setup()
        # headers and body leave in two writes: without this, Nagle and
        # the client's delayed ACK add 40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self):
        parts = urlsplit(self.path)
        self.route = parts.path
        self.query = {k: v[-1] for k, v in parse_qs(
                parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get('Content-Length') or 0)
        self.raw_body = self.rfile.read(length) if length else b''
        self.simulator = self.server.simulator
        with self.simulator.lock:
            self.simulator.requests.append(
                (self.command, self.path, dict(self.headers), self.raw_body))
        self.handle_request()

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def handle_request(self):
        raise NotImplementedError

    def send_json(self, payload, status=200, headers=None):
        body = json.dumps(payload, ensure_ascii=False).encode('utf-8')
        self.send_bytes(body, status, 'application/json; charset=utf-8',
            headers)

    def send_bytes(self, body, status=200, content_type='application/json',
            headers=None):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class Simulator:
    """Owns the server thread and the simulated state.

    Use as a context manager or call start()/stop(); `url` is the base URL
    to put in trytond.conf."""
    handler_class = SimulatorHandler

    def __init__(self, host='127.0.0.1', port=0):
        self.lock = threading.RLock()
        self.requests = []
        self._server = ThreadingHTTPServer((host, port), self.handler_class)
        self._server.daemon_threads = True
        self._server.simulator = self
        self._thread = None
        # seconds the simulated clock runs ahead of the wall clock
        self.offset = 0

    @property
    def netloc(self):
        host, port = self._server.server_address[:2]
        return f'{host}:{port}'

    @property
    def url(self):
        return f'http://{self.netloc}'

    def now(self):
        "The simulated clock (expiries, frequency limits)"
        return time.time() + self.offset

    def wall_time(self):
        "The clock request signatures are checked against"
        return time.time()

    def advance(self, seconds):
        "Move the simulated clock forward"
        with self.lock:
            self.offset += seconds

    def start(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,),
            name=type(self).__name__,
            daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SmsVendorSimulator(Simulator):
    """What the SMS vendors' simulators share: the signatures and templates
    the account owns, per-number frequency limits and what was delivered.

    LIMITS: (seconds, sends allowed, refusal code, refusal message)."""
    LIMITS = []

    def __init__(self, sign_names=None, templates=None, **kwargs):
        super().__init__(**kwargs)
        self.sign_names = set(sign_names) if sign_names else None
        self.templates = set(templates) if templates else None
        self.limits = list(self.LIMITS)
        # one dict per message: phone, code, template, sign, params, time
        # and the vendor's message id
        self.delivered = []
        self._sent = {}         # limit key -> [simulator time]

    def codes(self, phone):
        "The codes delivered to phone (as the vendor writes it), oldest first"
        with self.lock:
            return [m['code'] for m in self.delivered if m['phone'] == phone]

    def over_limit(self, key, now):
        "(code, message) of the first frequency limit key reached, or None"
        sent = self._sent.get(key, [])
        for seconds, allowed, code, message in self.limits:
            if sum(1 for t in sent if now - t < seconds) >= allowed:
                return code, message
        return None

    def deliver(self, key, now, **message):
        self._sent.setdefault(key, []).append(now)
        self.delivered.append(dict(message, time=now))
