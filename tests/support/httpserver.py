"""A stand-in HTTP service on 127.0.0.1 for the tests: a free port, a thread, `with` to start and
stop it. Handlers reach the object that owns the server as ``self.server.owner``."""
import threading
from http.server import ThreadingHTTPServer

# shutdown() waits until serve_forever next looks at its flag: socketserver's default 0.5 s poll
# added up to half a second to the teardown of every test with a server.
POLL_INTERVAL = 0.02


def serving_thread(httpd) -> threading.Thread:
    """A daemon thread (not started) running ``httpd.serve_forever`` with a short poll."""
    return threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True)


class LoopbackServer:
    def __init__(self, handler_cls):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
        self.httpd.owner = self
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = serving_thread(self.httpd)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def answer(handler, status: int, content_type: str, body: bytes) -> None:
    """Send one whole answer from a BaseHTTPRequestHandler."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
