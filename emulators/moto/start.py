"""Starts moto's server (DynamoDB and S3 are what the tests use) bound to 127.0.0.1.

Usage: python3 start.py [port]   (0 or none: a free port)
Prints one line "moto listening on http://127.0.0.1:<port>" when it accepts connections, and exits when stdin
closes, so a test run that dies leaves no orphan. Needs moto[server] 5.2.1 (./test.sh installs it when missing).

moto checks a write's ConditionExpression and applies the write as two separate steps without a lock, so two
concurrent conditional writes to one item can both pass (measured: a lost update in about one run in five of the
store's read-modify-write race test). DynamoDB applies each write atomically; to give the tests the same guarantee,
every request here runs under one lock (and its response is produced inside it).
"""
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    return [body]


server = make_server("127.0.0.1", port, serialized, threaded=True)
thread = threading.Thread(target=server.serve_forever, daemon=True)
thread.start()
print(f"moto listening on http://127.0.0.1:{server.server_port}", flush=True)
try:
    sys.stdin.read()
finally:
    server.shutdown()
