// Shared helpers for the TS suites: start the real archil-mock binary on a free
// port (like tests/python/conftest.py), stop it with SIGTERM requiring exit 0,
// and build SDK clients and raw requests against it.
//
// The binary comes from $ARCHIL_MOCK_BIN (`make ts-test` sets it).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

import { Archil } from "disk";

export const DEFAULT_KEY = "key-archil-mock";
export const REGION = "aws-us-east-1";
const LISTENING = /^archil-mock listening on (http:\/\/[^\s/]+:(\d+))$/;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** Starts the real binary on a free port; `stop()` requires a clean exit. */
export async function startMock(...args) {
  const bin = process.env.ARCHIL_MOCK_BIN;
  if (!bin) {
    throw new Error("ARCHIL_MOCK_BIN is not set: point it at a built archil-mock binary (`make ts-test` sets it)");
  }
  const argv = ["--port", "0", "--quiet", ...args];
  const proc = spawn(bin, argv, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  const spawnFailed = new Promise((_, reject) => proc.once("error", reject));
  const lines = createInterface({ input: proc.stdout });
  let timer;
  const first = await Promise.race([
    new Promise((resolve) => lines.once("line", resolve)),
    exited.then(({ code, signal }) => {
      throw new Error(`archil-mock exited (${code ?? signal}) before listening: ${bin} ${argv.join(" ")}`);
    }),
    spawnFailed,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`archil-mock printed nothing within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  const match = LISTENING.exec(first);
  if (!match) {
    proc.kill("SIGKILL");
    throw new Error(`archil-mock's first stdout line is not its address: ${JSON.stringify(first)}`);
  }
  return {
    url: match[1],
    /** SIGTERM, then require a clean exit (status 0). */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      let killTimer;
      const result = await Promise.race([
        exited,
        new Promise((resolve) => {
          killTimer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(killTimer));
      lines.close();
      if (result === null) {
        proc.kill("SIGKILL");
        throw new Error(`archil-mock did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
      }
      assert.deepEqual(result, { code: 0, signal: null }, "archil-mock must exit 0 on SIGTERM");
    },
  };
}

/** Runs `fn(server)` against a fresh server, stopping it afterwards. */
export async function withMock(args, fn) {
  const server = await startMock(...args);
  let failure;
  try {
    await fn(server);
  } catch (err) {
    failure = err;
  }
  try {
    await server.stop();
  } catch (err) {
    failure ??= err;
  }
  if (failure) throw failure;
}

/** An SDK client; the S3 URL is derived from `baseUrl` (same origin). */
export function sdk(url, apiKey = DEFAULT_KEY, region = REGION) {
  return new Archil({ apiKey, region, baseUrl: url });
}

/**
 * One request outside the SDK. `key: null` sends no Authorization header;
 * `json` sends a JSON body, `body` raw bytes. Returns status, headers, the
 * body as bytes and text, and the parsed JSON when it is JSON.
 */
export async function raw(url, method, path, { key = DEFAULT_KEY, query, json, body, headers } = {}) {
  const target = new URL(url + path);
  for (const [k, v] of Object.entries(query ?? {})) target.searchParams.set(k, String(v));
  const sent = { ...(headers ?? {}) };
  if (key !== null) sent.Authorization = key;
  if (json !== undefined) sent["Content-Type"] = "application/json";
  const resp = await fetch(target, {
    method,
    headers: sent,
    body: json !== undefined ? JSON.stringify(json) : body,
  });
  const bytes = new Uint8Array(await resp.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: resp.status, headers: resp.headers, bytes, text, json: parsed };
}
