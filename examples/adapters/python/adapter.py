#!/usr/bin/env python3
"""fakebill adapter (protocol 1) for the example client in billclient.py.

Run it under the conformance runner:

    fakebill conform -- python3 examples/adapters/python/adapter.py

Requests arrive one JSON object per line on stdin; answers go to stdout,
one per line, in any order (calls run on worker threads). The client's own
log lines go to stderr, already redacted.
"""

import concurrent.futures
import json
import os
import sys
import threading

# Keep the example directory free of __pycache__ when run from a checkout.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import billclient  # noqa: E402

_out_lock = threading.Lock()


def reply(msg):
    line = json.dumps(msg, separators=(",", ":"))
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def failure(req_id, code, kind, message):
    return {"id": req_id, "ok": False,
            "error": {"code": code, "kind": kind, "message": message}}


def do_call(client, req):
    req_id = req.get("id")
    try:
        result = client.call(req.get("path", ""), req.get("data"))
        reply({"id": req_id, "ok": True, "result": result})
    except billclient.BillError as e:
        reply(failure(req_id, e.code, e.kind, e.message))
    except Exception as e:  # a bug here must not kill the worker silently
        reply(failure(req_id, "", "other",
                      client.redact("%s: %s" % (type(e).__name__, e))))


def main():
    client = billclient.from_env(os.environ)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            reply(failure(None, "", "other", "request is not JSON"))
            continue
        op = req.get("op")
        if op == "hello":
            if req.get("protocol") != 1:
                reply(failure(req.get("id"), "", "other",
                              "unsupported protocol version"))
                continue
            reply({"id": req.get("id"), "ok": True, "protocol": 1,
                   "api": "v2", "concurrent": True, "close": True})
        elif op == "call":
            pool.submit(do_call, client, req)
        elif op == "close":
            pool.shutdown(wait=True)
            client.close()
            reply({"id": req.get("id"), "ok": True})
            return
        else:
            reply(failure(req.get("id"), "", "other", "unknown op"))
    # EOF: finish what is in flight, then log out.
    pool.shutdown(wait=True)
    client.close()


if __name__ == "__main__":
    main()
