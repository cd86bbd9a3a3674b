"""A small Bill.com v2 API client, standard library only.

It logs in once and reuses the session; when a call answers BDC_1109 it
logs in again (one login shared by every thread that saw the same dead
session) and replays the call once. Other errors surface as they are.
Secrets travel only in form-encoded POST bodies and never reach a log line:
every message passes through redact() first.
"""

import json
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

SESSION_INVALID = "BDC_1109"

_KINDS = {
    "BDC_1101": "auth",
    "BDC_1102": "auth",
    "BDC_1103": "auth",
    "BDC_1178": "auth",
    "BDC_1109": "session",
    "BDC_1144": "rate_limit",
    "BDC_1322": "rate_limit",
}


def kind_of(code):
    """Return the error kind for a BDC code ("" means no code: other)."""
    if code in _KINDS:
        return _KINDS[code]
    if code.startswith("BDC_"):
        return "api"
    return "other"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: v2 never sends one, and following it would send
    the form, credentials included, wherever the Location points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class BillError(Exception):
    """An API call that failed: code is the BDC code when known."""

    def __init__(self, code, kind, message):
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.message = message


class Client:
    """A Bill.com v2 client, safe for use from several threads at once."""

    def __init__(self, base_url, user_name, password, org_id, dev_key,
                 log=None, timeout=30):
        self.base_url = base_url.rstrip("/")
        self._creds = {"userName": user_name, "password": password,
                       "orgId": org_id, "devKey": dev_key}
        self._dev_key = dev_key
        self._log = log
        self._timeout = timeout
        self._lock = threading.Lock()
        self._session = None
        self._seen = set()       # every session id this client held
        self._attempts = 0       # login attempts, to share a failure
        self._last_error = None  # the latest failed login, for waiters

    # Logging and redaction.

    def redact(self, text):
        """Return text with every credential and session id replaced."""
        pairs = [(v, "[REDACTED:" + k + "]") for k, v in self._creds.items()
                 if k != "orgId" and v]
        pairs += [(s, "[REDACTED:sessionId]") for s in list(self._seen)]
        for value, mark in pairs:
            for form in {value, urllib.parse.quote(value, safe=""),
                         urllib.parse.quote_plus(value)}:
                text = text.replace(form, mark)
        return text

    def _logf(self, fmt, *args):
        if self._log is not None:
            self._log.write("billclient: " + self.redact(fmt % args) + "\n")
            self._log.flush()

    # Transport.

    def _post(self, path, form):
        """POST form to path and return response_data, or raise BillError."""
        body = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(
            self.base_url + "/" + path.lstrip("/"), data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"})
        try:
            with _opener.open(req, timeout=self._timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise BillError("", "transport",
                            self.redact("%s: no answer: %s" % (path, reason)))
        try:
            env = json.loads(raw)
        except ValueError:
            env = None
        if not isinstance(env, dict) or "response_status" not in env:
            raise BillError("", "transport",
                            "%s: HTTP %d without an API answer" % (path, status))
        data = env.get("response_data")
        if env.get("response_status") != 0:
            data = data if isinstance(data, dict) else {}
            code = str(data.get("error_code", ""))
            msg = self.redact(str(data.get("error_message", "")))
            raise BillError(code, kind_of(code), msg)
        return data

    # Sessions.

    def _login(self):
        data = self._post("Login.json", self._creds)
        sid = data.get("sessionId") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not sid:
            raise BillError("", "auth", "Login.json: answer has no sessionId")
        self._seen.add(sid)
        self._logf("logged in")
        return sid

    def _session_for(self, stale):
        """Return a live session id other than stale, logging in if needed.

        Threads that find the same dead session wait on the lock and then
        reuse the session the first of them obtained; if that login
        failed, they share its error instead of trying again.
        """
        attempt = self._attempts
        with self._lock:
            if self._session is not None and self._session != stale:
                return self._session
            if self._attempts != attempt and self._last_error is not None:
                raise self._last_error
            self._attempts += 1
            self._session = None
            try:
                self._session = self._login()
                self._last_error = None
            except BillError as e:
                self._last_error = e
                raise
            return self._session

    def _forget(self, sid):
        with self._lock:
            if self._session == sid:
                self._session = None

    def call(self, path, data=None):
        """Call path with data (a JSON value) and return response_data.

        At most one re-login and one replay per call: a client that loops
        on BDC_1109 would hammer the login endpoint.
        """
        form = {"devKey": self._dev_key}
        if data is not None:
            form["data"] = json.dumps(data, separators=(",", ":"))
        sid = self._session_for(None)
        for attempt in range(2):
            try:
                return self._post(path, dict(form, sessionId=sid))
            except BillError as e:
                if e.code != SESSION_INVALID:
                    raise
                self._forget(sid)
                if attempt == 1:
                    raise
                self._logf("%s: session invalid (%s); logging in again",
                           path, e.code)
                sid = self._session_for(sid)

    def close(self):
        """Log out if a session is open. Errors are logged, not raised."""
        with self._lock:
            sid, self._session = self._session, None
        if sid is None:
            return
        try:
            self._post("Logout.json", {"devKey": self._dev_key,
                                       "sessionId": sid})
            self._logf("logged out")
        except BillError as e:
            self._logf("logout: %s %s", e.code, e.message)


def from_env(environ, log=sys.stderr):
    """Build a Client from the FAKEBILL_* variables of an adapter run."""
    return Client(environ["FAKEBILL_URL"], environ["FAKEBILL_USER_NAME"],
                  environ["FAKEBILL_PASSWORD"], environ["FAKEBILL_ORG_ID"],
                  environ["FAKEBILL_DEV_KEY"], log=log)
