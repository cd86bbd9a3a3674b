#!/usr/bin/env python3
"""A deliberately broken Bill.com v2 client behind a fakebill adapter.

Do not copy this client. It exists so that `fakebill conform` has something
to catch, and so that the checks are seen to fail for the right reasons.
Its faults, each one seen in real clients:

1. It sends the session id in the URL query string (?sessionId=...), where
   proxies and servers log it.                      -> no-secret-in-url
2. It never logs in again: once the session expires every call fails with
   BDC_1109, and it keeps sending the dead session.  -> the re-login checks
3. It logs the first characters of the password "to help debugging".
                                                     -> no-secret-in-output
4. It sends userName and password on every call, not only on Login.
                                                     -> credentials-only-on-login
5. It does not check the login answer: a refused login leaves it calling
   on with an empty session instead of reporting the refusal.
                                                     -> login-failure-is-auth-error

It speaks the adapter protocol correctly, one request at a time.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ["FAKEBILL_URL"].rstrip("/")
CREDS = {"userName": os.environ["FAKEBILL_USER_NAME"],
         "password": os.environ["FAKEBILL_PASSWORD"],
         "orgId": os.environ["FAKEBILL_ORG_ID"],
         "devKey": os.environ["FAKEBILL_DEV_KEY"]}
KINDS = {"BDC_1101": "auth", "BDC_1102": "auth", "BDC_1103": "auth",
         "BDC_1178": "auth", "BDC_1109": "session",
         "BDC_1144": "rate_limit", "BDC_1322": "rate_limit"}
session = None


class BillError(Exception):
    def __init__(self, code, kind, message):
        super().__init__(message)
        self.code, self.kind, self.message = code, kind, message


def post(url, form):
    body = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(url, body, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
    except (urllib.error.URLError, OSError) as e:
        raise BillError("", "transport", "no answer: %s" % type(e).__name__)
    try:
        env = json.loads(raw)
    except ValueError:
        raise BillError("", "transport", "not a v2 answer")
    if not isinstance(env, dict) or env.get("response_status") != 0:
        data = env.get("response_data") if isinstance(env, dict) else None
        data = data if isinstance(data, dict) else {}
        code = str(data.get("error_code", ""))
        kind = KINDS.get(code, "api" if code.startswith("BDC_") else "other")
        raise BillError(code, kind, str(data.get("error_message", "")))
    return env.get("response_data")


def call(path, data):
    global session
    if session is None:
        # Fault 3: a password prefix in the log.
        sys.stderr.write("login with password %s...\n" % CREDS["password"][:6])
        # Fault 5: whatever Login answered, carry on.
        try:
            answer = post(BASE + "/Login.json", CREDS)
        except BillError:
            answer = None
        session = answer.get("sessionId", "") if isinstance(answer, dict) else ""
    # Fault 4: credentials on every call.
    form = dict(CREDS)
    if data is not None:
        form["data"] = json.dumps(data)
    # Fault 1: the session in the query string. Fault 2: no re-login on
    # BDC_1109, and the dead session is kept for the next call.
    query = urllib.parse.urlencode({"sessionId": session})
    return post(BASE + "/" + path + "?" + query, form)


def reply(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def main():
    req = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        op, req_id = req.get("op"), req.get("id")
        if op == "hello":
            reply({"id": req_id, "ok": True, "protocol": 1, "api": "v2",
                   "concurrent": False, "close": True})
        elif op == "call":
            try:
                result = call(req.get("path", ""), req.get("data"))
                reply({"id": req_id, "ok": True, "result": result})
            except BillError as e:
                reply({"id": req_id, "ok": False, "error": {
                    "code": e.code, "kind": e.kind, "message": e.message}})
        elif op == "close":
            break
        else:
            reply({"id": req_id, "ok": False,
                   "error": {"kind": "other", "message": "unknown op"}})
    if session is not None:
        try:
            post(BASE + "/Logout.json",
                 {"devKey": CREDS["devKey"], "sessionId": session})
        except BillError:
            pass
    if req.get("op") == "close":
        reply({"id": req.get("id"), "ok": True})


if __name__ == "__main__":
    main()
