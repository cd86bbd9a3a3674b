#!/usr/bin/env node
// fakebill adapter (protocol 1) for the example client in billclient.mjs.
//
//   fakebill conform -- node examples/adapters/node/adapter.mjs
//
// Requests arrive one JSON object per line on stdin; answers go to stdout,
// one per line, in any order (calls overlap). The client's own log lines
// go to stderr, already redacted.

import { createInterface } from 'node:readline';
import { BillError, fromEnv } from './billclient.mjs';

const client = fromEnv(process.env, (line) => process.stderr.write(`${line}\n`));
const inflight = new Set();

function reply(msg) {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function failure(id, code, kind, message) {
  return { id, ok: false, error: { code, kind, message } };
}

async function doCall(req) {
  try {
    const result = await client.call(req.path ?? '', req.data);
    reply({ id: req.id, ok: true, result: result ?? null });
  } catch (e) {
    if (e instanceof BillError) {
      reply(failure(req.id, e.code, e.kind, e.message));
    } else {
      reply(failure(req.id, '', 'other', client.redact(String(e))));
    }
  }
}

async function finish() {
  await Promise.allSettled([...inflight]);
  await client.close();
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
let closing = false;

rl.on('line', async (line) => {
  if (closing || line.trim() === '') return;
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    reply(failure(null, '', 'other', 'request is not JSON'));
    return;
  }
  switch (req.op) {
    case 'hello':
      if (req.protocol !== 1) {
        reply(failure(req.id, '', 'other', 'unsupported protocol version'));
        return;
      }
      reply({ id: req.id, ok: true, protocol: 1, api: 'v2', concurrent: true, close: true });
      return;
    case 'call': {
      const p = doCall(req).finally(() => inflight.delete(p));
      inflight.add(p);
      return;
    }
    case 'close':
      closing = true;
      rl.close();
      await finish();
      // Exit once the answer is flushed: idle keep-alive sockets would
      // otherwise hold the process open.
      process.stdout.write(`${JSON.stringify({ id: req.id, ok: true })}\n`, () => process.exit(0));
      return;
    default:
      reply(failure(req.id, '', 'other', 'unknown op'));
  }
});

rl.on('close', async () => {
  if (closing) return;
  closing = true;
  await finish();
  process.exit(0);
});
