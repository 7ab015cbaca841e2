// The official TypeScript SDK (npm package `disk`, pinned in package-lock.json),
// unmodified, against archil-mock's exec: `disk.exec(command)` and
// `archil.exec({disks, command})` (Disk objects, id strings and
// ExecMountSpec objects), the module-level `configure` + `exec`, writes that
// land on the disks, and errors as ArchilApiError with the HTTP status (504
// "Command timed out", 404 for a foreign or unknown disk, 400 for a bad mount).
//
// Exec runs on the default `scripted` back end; rules come from a fixture's
// `execRules` or `POST /_mock/exec-rules`. The published `disk` 0.8.13 has
// exec on Disk and Archil but no workspace, agent tools, `conditional`,
// `queueMs` or `checkoutPaths`, and its ArchilApiError carries no `code`.
// The wire contract is shared/contracts/exec-grep.md (A.1, A.2, B.1–B.3).
//
// Run: ARCHIL_MOCK_BIN=/abs/path/to/archil-mock node --test exec.test.mjs   (in tests/ts)

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { ArchilApiError, configure, exec } from "disk";

import { DEFAULT_KEY, REGION, raw, sdk, withMock } from "./mock.mjs";

const A = "dsk-00000000000000e1"; // "alpha": old.txt, keep.txt
const B = "dsk-00000000000000e2"; // "beta": app/logs/old.log, notes.txt
const UNKNOWN = "dsk-00000000000000ff";
const ALICE = "key-alice-ts-exec-00000000000001";
const BOB = "key-bob-ts-exec-000000000000000002";
const text = (bytes) => new TextDecoder().decode(bytes);

/** A fixture with the two disks and `execRules`; returns its path and a cleanup. */
function fixtureFile(execRules) {
  const dir = mkdtempSync(join(tmpdir(), "archil-mock-ts-exec-"));
  const path = join(dir, "exec.json");
  writeFileSync(
    path,
    JSON.stringify({
      accounts: [
        {
          name: "default",
          disks: [
            {
              id: A,
              name: "alpha",
              files: [
                { key: "old.txt", content: "old\n" },
                { key: "keep.txt", content: "keep\n" },
              ],
            },
            {
              id: B,
              name: "beta",
              files: [
                { key: "app/logs/old.log", content: "stale\n" },
                { key: "notes.txt", content: "notes\n" },
              ],
            },
          ],
        },
      ],
      execRules,
    }),
  );
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn(server)` on a server loading a fixture with `execRules` (plus `args`). */
async function withRules(execRules, fn, ...args) {
  const fixture = fixtureFile(execRules);
  try {
    await withMock(["--fixture", fixture.path, ...args], fn);
  } finally {
    fixture.cleanup();
  }
}

/** Every journaled exec request: {path, status, body}, oldest first. */
async function execRequests(url) {
  const { json } = await raw(url, "GET", "/_mock/requests", { key: null });
  return json.data.requests
    .filter((e) => e.path === "/api/exec" || e.path.endsWith("/exec"))
    .map((e) => ({ path: e.path, status: e.status, body: JSON.parse(e.body) }));
}

async function rulesOf(url) {
  const { status, json } = await raw(url, "GET", "/_mock/exec-rules", { key: null });
  assert.equal(status, 200);
  return json.data.rules;
}

/** ExecDiskResult: exactly these fields, integer timings, totalMs ≥ queueMs + executeMs. */
function assertResult(result, { minExecuteMs = 0 } = {}) {
  assert.deepEqual(Object.keys(result).sort(), ["exitCode", "stderr", "stdout", "timing"]);
  assert.deepEqual(Object.keys(result.timing).sort(), ["executeMs", "queueMs", "totalMs"]);
  for (const v of Object.values(result.timing)) assert.ok(Number.isInteger(v) && v >= 0, JSON.stringify(result));
  assert.ok(result.timing.executeMs >= minExecuteMs, JSON.stringify(result.timing));
  assert.ok(
    result.timing.totalMs >= result.timing.queueMs + result.timing.executeMs,
    JSON.stringify(result.timing),
  );
}

async function rejectsApi(promise, status, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ArchilApiError, `expected ArchilApiError, got ${err}`);
    assert.equal(err.status, status, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

describe("exec with the disk SDK against archil-mock", () => {
  test("disk.exec returns exitCode, stdout, stderr and timing", () =>
    withRules(
      [
        { command: "cd /mnt && pwd", stdout: "/mnt\n", delayMs: 80 },
        { commandContains: "npm test", exitCode: 1, stdout: "1 failing\n", stderr: "npm ERR!\n" },
      ],
      async (server) => {
        const disk = await sdk(server.url).disks.get(A);
        const result = await disk.exec("cd /mnt && pwd");
        assertResult(result, { minExecuteMs: 80 });
        assert.equal(result.exitCode, 0);
        assert.equal(result.stdout, "/mnt\n");
        assert.equal(result.stderr, "");

        // A non-zero exit is a result, not an error.
        const failed = await disk.exec("cd /mnt && npm test");
        assertResult(failed);
        assert.deepEqual([failed.exitCode, failed.stdout, failed.stderr], [1, "1 failing\n", "npm ERR!\n"]);

        // No rule: 127 with the hint.
        const none = await disk.exec("ls");
        assert.equal(none.exitCode, 127);
        assert.equal(none.stdout, "");
        assert.match(none.stderr, /no exec rule matches "ls"/);
        assert.match(none.stderr, /\/_mock\/exec-rules/);

        const sent = await execRequests(server.url);
        assert.deepEqual(
          sent.map((r) => [r.path, r.status]),
          [[`/api/disks/${A}/exec`, 200], [`/api/disks/${A}/exec`, 200], [`/api/disks/${A}/exec`, 200]],
        );
        assert.deepEqual(sent[0].body, { command: "cd /mnt && pwd" });
      },
    ));

  test("disk.exec writes land on the disk at /mnt", () =>
    withRules(
      [
        {
          command: "cd /mnt && make",
          stdout: "built\n",
          writes: [{ path: "/mnt/out/app.js", content: "console.log(1)\n" }],
          deletes: ["/mnt/old.txt"],
        },
      ],
      async (server) => {
        const disk = await sdk(server.url).disks.get(A);
        const result = await disk.exec("cd /mnt && make");
        assert.deepEqual([result.exitCode, result.stdout, result.stderr], [0, "built\n", ""]);
        assert.equal(text(await disk.getObject("out/app.js")), "console.log(1)\n");
        assert.equal(await disk.objectExists("old.txt"), false);
        const found = await disk.grep({ directory: "", pattern: "console", recursive: true });
        assert.deepEqual(found.matches, [{ file: "out/app.js", line: 1, text: "console.log(1)" }]);
      },
    ));

  test("archil.exec mounts Disks, ids and ExecMountSpecs under /mnt/archil", () =>
    withRules(
      [
        {
          command: "ls /mnt/archil/data /mnt/archil/logs",
          exitCode: 2,
          stdout: "data:\nlogs:\n",
          writes: [
            { path: "/mnt/archil/data/result.csv", content: "a,b\n" },
            { path: "/mnt/archil/logs/x.log", content: "refused" },
          ],
        },
        {
          command: "tail /mnt/archil/logs/today.log",
          writes: [{ path: "/mnt/archil/logs/today.log", content: "appended\n" }],
        },
      ],
      async (server) => {
        const archil = sdk(server.url);
        const [alpha, beta] = [await archil.disks.get(A), await archil.disks.get(B)];
        const result = await archil.exec({
          disks: { data: alpha, logs: { disk: beta, subdirectory: "app/logs", readOnly: true } },
          command: "ls /mnt/archil/data /mnt/archil/logs",
        });
        assertResult(result);
        assert.equal(result.exitCode, 2);
        assert.equal(result.stdout, "data:\nlogs:\n");
        assert.match(result.stderr, /\/mnt\/archil\/logs\/x\.log: Read-only file system/);
        assert.equal(text(await alpha.getObject("result.csv")), "a,b\n");
        assert.equal(await beta.objectExists("app/logs/x.log"), false);

        // Writable subdirectory mount, ids as strings: the write lands under it.
        const second = await archil.exec({
          disks: { data: A, logs: { disk: B, subdirectory: "app/logs" } },
          command: "tail /mnt/archil/logs/today.log",
        });
        assert.equal(second.stderr, "");
        assert.equal(text(await beta.getObject("app/logs/today.log")), "appended\n");
        assert.equal(await beta.objectExists("today.log"), false);

        // B.1: the TS SDK always sends readOnly on a spec, and no conditional.
        const sent = await execRequests(server.url);
        assert.deepEqual(sent[0].body, {
          disks: { data: A, logs: { disk: B, readOnly: true, subdirectory: "app/logs" } },
          command: "ls /mnt/archil/data /mnt/archil/logs",
        });
        assert.deepEqual(sent[1].body.disks, { data: A, logs: { disk: B, readOnly: false, subdirectory: "app/logs" } });
      },
    ));

  test("the module-level configure + exec", () =>
    withRules([{ command: "echo hi", stdout: "hi\n" }], async (server) => {
      configure({ apiKey: DEFAULT_KEY, region: REGION, baseUrl: server.url });
      const result = await exec({ disks: { a: A, b: B }, command: "echo hi" });
      assertResult(result);
      assert.deepEqual([result.exitCode, result.stdout], [0, "hi\n"]);
    }));

  test("a timeout is an ArchilApiError with status 504", () =>
    withRules(
      [
        { command: "hang", timeout: true },
        { command: "slow", delayMs: 1500 },
      ],
      async (server) => {
        const archil = sdk(server.url);
        const disk = await archil.disks.get(A);
        await rejectsApi(disk.exec("hang"), 504, /^Command timed out$/);
        const started = Date.now();
        await rejectsApi(archil.exec({ disks: { a: disk }, command: "slow" }), 504, /^Command timed out$/);
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 1000 && elapsed < 1500, `answered at the 1 s --exec-timeout: ${elapsed} ms`);
        const { status, json } = await raw(server.url, "POST", `/api/disks/${A}/exec`, { json: { command: "hang" } });
        assert.equal(status, 504);
        assert.deepEqual(json, { success: false, error: "Command timed out", code: "exec_timeout" });
      },
      "--exec-timeout",
      "1",
    ));

  test("a bad mount is a 400 and nothing runs", () =>
    withRules([{ id: "once", commandRegex: "", times: 1, stdout: "ran\n" }], async (server) => {
      const archil = sdk(server.url);
      await rejectsApi(archil.exec({ disks: { "../up": A }, command: "ls" }), 400, /'\.' or '\.\.' segment/);
      await rejectsApi(archil.exec({ disks: {}, command: "ls" }), 400, /at least one disk/);
      await rejectsApi(
        archil.exec({ disks: { a: { disk: A, subdirectory: "nope" } }, command: "ls" }),
        400,
        /is not a directory/,
      );
      await rejectsApi(archil.exec({ disks: { a: "dsk-abc123" }, command: "ls" }), 400, /malformed/);
      const [rule] = await rulesOf(server.url);
      assert.equal(rule.times, 1, "a refused exec used the rule");
    }));

  test("a foreign or unknown disk is a 404 and nothing runs", async () => {
    await withMock(["--api-key", `alice=${ALICE}`, "--api-key", `bob=${BOB}`], async (server) => {
      const { status } = await raw(server.url, "POST", "/_mock/exec-rules", {
        key: null,
        json: { commandRegex: "", times: 1, writes: [{ path: "/mnt/archil/mine/x", content: "x" }] },
      });
      assert.equal(status, 201);
      const alice = sdk(server.url, ALICE);
      const bob = sdk(server.url, BOB);
      const { disk: alices } = await alice.disks.create({ name: "alices" });
      const { disk: bobs } = await bob.disks.create({ name: "bobs" });
      await rejectsApi(bob.exec({ disks: { mine: bobs, theirs: alices.id }, command: "ls" }), 404);
      await rejectsApi(bob.exec({ disks: { mine: bobs, gone: UNKNOWN }, command: "ls" }), 404);
      const { status: s, json } = await raw(server.url, "POST", `/api/disks/${alices.id}/exec`, {
        key: BOB,
        json: { command: "ls" },
      });
      assert.equal(s, 404);
      assert.equal(json.code, "not_found");
      const [rule] = await rulesOf(server.url);
      assert.equal(rule.times, 1, "a refused exec used the rule");
      assert.equal(await bobs.objectExists("x"), false, "a refused exec wrote");
      // Alice's own exec runs (and uses the rule).
      assert.equal((await alices.exec("ls")).exitCode, 0);
      assert.deepEqual(await rulesOf(server.url), []);
    });
  });
});
