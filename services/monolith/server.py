"""A WSGI server with a fixed pool of worker threads, like a gunicorn deployment with N workers.

Each connection holds one worker until its response is sent; when all workers are busy, new connections
wait in a queue. So a request stuck in a slow module delays every other request behind it.
"""

from concurrent.futures import ThreadPoolExecutor

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler


class OneRequestPerConnection(WSGIRequestHandler):
    # No keep-alive: a worker is free again as soon as its response is sent, never parked on an idle
    # connection. (werkzeug would switch a multithreaded server to HTTP/1.1 unless the handler says so.)
    protocol_version = "HTTP/1.0"

    def log_request(self, code="-", size="-"):
        # werkzeug's access log line without its terminal colours: this log goes to a file.
        self.log("info", '"%s" %s %s', self.requestline, code, size)


class BoundedPoolServer(BaseWSGIServer):
    multithread = True

    def __init__(self, host: str, port: int, app, workers: int):
        super().__init__(host, port, app, handler=OneRequestPerConnection)
        self.workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker")

    def process_request(self, request, client_address):
        # Called by the accept loop: queue the connection for the next free worker and go back to accepting.
        self.workers.submit(self._serve_connection, request, client_address)

    def _serve_connection(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
