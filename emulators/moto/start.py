"""Starts moto's server (DynamoDB and S3 are what the tests use) bound to 127.0.0.1.

Usage: python3 start.py [port]   (0 or none: a free port)
Prints one line "moto listening on http://127.0.0.1:<port>" when it accepts connections, and exits when stdin
closes, so a test run that dies leaves no orphan. Needs moto[server] 5.2.1 (./test.sh installs it when missing).
"""
import sys

from moto.server import ThreadedMotoServer

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
host, bound = server.get_host_and_port()
print(f"moto listening on http://127.0.0.1:{bound}", flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
