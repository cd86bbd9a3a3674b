// A small Bill.com v2 API client using Node's built-in fetch only
// (Node 18 or later), no packages.
//
// It logs in once and reuses the session; when a call answers BDC_1109 it
// logs in again (one login promise shared by every caller that saw the same
// dead session) and replays the call once. Other errors surface as they
// are. Secrets travel only in form-encoded POST bodies and never reach a
// log line: every message passes through redact() first.

export const SESSION_INVALID = 'BDC_1109';

const KINDS = {
  BDC_1101: 'auth',
  BDC_1102: 'auth',
  BDC_1103: 'auth',
  BDC_1178: 'auth',
  BDC_1109: 'session',
  BDC_1144: 'rate_limit',
  BDC_1322: 'rate_limit',
};

// kindOf returns the error kind for a BDC code.
export function kindOf(code) {
  if (KINDS[code]) return KINDS[code];
  return code.startsWith('BDC_') ? 'api' : 'other';
}

// BillError is a failed call; code is the BDC code when known.
export class BillError extends Error {
  constructor(code, kind, message) {
    super(message);
    this.code = code;
    this.kind = kind;
  }
}

// Client is a Bill.com v2 client; calls may overlap.
export class Client {
  constructor({ baseURL, userName, password, orgId, devKey, log, timeoutMs = 30000 }) {
    this.baseURL = baseURL.replace(/\/+$/, '');
    this.creds = { userName, password, orgId, devKey };
    this.log = log; // a function taking one line, or undefined
    this.timeoutMs = timeoutMs;
    this.session = null;
    this.loggingIn = null; // the login in flight, shared by its waiters
    this.seen = new Set(); // every session id this client held
  }

  // redact returns text with every credential and session id replaced.
  redact(text) {
    const pairs = [];
    for (const k of ['userName', 'password', 'devKey']) {
      if (this.creds[k]) pairs.push([this.creds[k], `[REDACTED:${k}]`]);
    }
    for (const s of this.seen) pairs.push([s, '[REDACTED:sessionId]']);
    for (const [value, mark] of pairs) {
      const forms = new Set([value, encodeURIComponent(value),
        new URLSearchParams({ v: value }).toString().slice(2)]);
      for (const f of forms) text = text.split(f).join(mark);
    }
    return text;
  }

  logf(line) {
    if (this.log) this.log(`billclient: ${this.redact(line)}`);
  }

  // post sends form to path and returns response_data, or throws BillError.
  async post(path, form) {
    const url = `${this.baseURL}/${path.replace(/^\/+/, '')}`;
    let status;
    let text;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      const why = e.cause ? e.cause.message || e.cause.code : e.message;
      throw new BillError('', 'transport', this.redact(`${path}: no answer: ${why}`));
    }
    let env;
    try {
      env = JSON.parse(text);
    } catch {
      env = null;
    }
    if (!env || typeof env !== 'object' || !('response_status' in env)) {
      throw new BillError('', 'transport', `${path}: HTTP ${status} without an API answer`);
    }
    if (env.response_status !== 0) {
      const d = env.response_data && typeof env.response_data === 'object' ? env.response_data : {};
      const code = String(d.error_code ?? '');
      throw new BillError(code, kindOf(code), this.redact(String(d.error_message ?? '')));
    }
    return env.response_data;
  }

  async login() {
    const data = await this.post('Login.json', this.creds);
    const sid = data && data.sessionId;
    if (typeof sid !== 'string' || sid === '') {
      throw new BillError('', 'auth', 'Login.json: answer has no sessionId');
    }
    this.seen.add(sid);
    this.logf('logged in');
    return sid;
  }

  // sessionFor returns a live session other than stale, logging in if
  // needed. Callers that find the same dead session share one login, and
  // share its failure too.
  sessionFor(stale) {
    if (this.session && this.session !== stale) return Promise.resolve(this.session);
    if (!this.loggingIn) {
      this.session = null;
      this.loggingIn = this.login()
        .then((sid) => { this.session = sid; return sid; })
        .finally(() => { this.loggingIn = null; });
    }
    return this.loggingIn;
  }

  // call calls path with data and returns response_data. At most one
  // re-login and one replay per call: looping on BDC_1109 would hammer
  // the login endpoint.
  async call(path, data) {
    const form = { devKey: this.creds.devKey };
    if (data !== undefined && data !== null) form.data = JSON.stringify(data);
    let sid = await this.sessionFor(null);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.post(path, { ...form, sessionId: sid });
      } catch (e) {
        if (!(e instanceof BillError) || e.code !== SESSION_INVALID) throw e;
        if (this.session === sid) this.session = null;
        if (attempt === 1) throw e;
        this.logf(`${path}: session invalid (${e.code}); logging in again`);
        sid = await this.sessionFor(sid);
      }
    }
  }

  // close logs out if a session is open; errors are logged, not thrown.
  async close() {
    const sid = this.session;
    this.session = null;
    if (!sid) return;
    try {
      await this.post('Logout.json', { devKey: this.creds.devKey, sessionId: sid });
      this.logf('logged out');
    } catch (e) {
      this.logf(`logout: ${e.code || ''} ${e.message}`);
    }
  }
}

// fromEnv builds a Client from the FAKEBILL_* variables of an adapter run.
export function fromEnv(env, log) {
  return new Client({
    baseURL: env.FAKEBILL_URL,
    userName: env.FAKEBILL_USER_NAME,
    password: env.FAKEBILL_PASSWORD,
    orgId: env.FAKEBILL_ORG_ID,
    devKey: env.FAKEBILL_DEV_KEY,
    log,
  });
}
