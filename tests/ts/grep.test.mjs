// grepDisk (`POST /api/disks/{id}/grep`) through the official TypeScript SDK
// (npm package `disk` 0.8.13, pinned in package-lock.json), unmodified:
// `disk.grep(opts)` and the `disk grep` CLI. The package has no workspace (and
// so no workspace grep) and no agent tools; the repository's newer source has
// them. The wire contract is shared/contracts/exec-grep.md (A.3, B.1-B.3,
// C.5, C.6).
//
// Run: ARCHIL_MOCK_BIN=/abs/path/to/archil-mock node --test grep.test.mjs   (in tests/ts)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";

import { ArchilApiError } from "disk";

import { DEFAULT_KEY, REGION, raw, sdk, withMock } from "./mock.mjs";

const CLI = fileURLToPath(new URL("./node_modules/disk/dist/cli.js", import.meta.url));
const RESULT_FIELDS = [
  "computeSecondsUsed",
  "containersDispatched",
  "durationMs",
  "filesScanned",
  "grepMs",
  "listingMs",
  "matches",
  "stoppedReason",
];
const FILES = {
  "top.txt": "intro\nnothing\nERROR top\n",
  "logs/a.log": "ERROR one\ninfo\nWARN a\n",
  "logs/deep/b.log": "info\nERROR two\r\n",
  "logs/blob.bin": new Uint8Array([...new TextEncoder().encode("ERROR"), 0, ...new TextEncoder().encode("binary\n")]),
  "notes/café.md": "café 日本語\n",
};

let diskSeq = 0;
async function seededDisk(archil, files = FILES) {
  diskSeq += 1;
  const { disk } = await archil.disks.create({ name: `ts-grep-${process.pid}-${diskSeq}` });
  for (const [key, body] of Object.entries(files)) await disk.putObject(key, body);
  return disk;
}

const triples = (result) => result.matches.map((m) => [m.file, m.line, m.text]);

async function grepBodies(url, diskId) {
  const resp = await raw(url, "GET", "/_mock/requests", { key: null, query: { path: `/api/disks/${diskId}/grep` } });
  assert.equal(resp.status, 200, resp.text);
  return resp.json.data.requests.map((e) => JSON.parse(e.body));
}

async function addFault(url, rule) {
  const resp = await raw(url, "POST", "/_mock/faults", { key: null, json: rule });
  assert.equal(resp.status, 201, resp.text);
}

async function rejectsApi(promise, status, needle) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ArchilApiError, `expected ArchilApiError, got ${err}`);
    assert.equal(err.status, status, err.message);
    if (needle) assert.match(err.message, needle);
    return true;
  });
}

/** Runs the package's CLI against the mock; resolves to {code, stdout, stderr}. */
function cli(url, ...args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, "-k", DEFAULT_KEY, "-r", REGION, "--base-url", url, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    proc.once("error", reject);
    proc.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("disk.grep", () => {
  test("sends all six fields with the defaults and returns the result as typed", async () => {
    await withMock([], async (server) => {
      const disk = await seededDisk(sdk(server.url));
      const result = await disk.grep({ directory: "logs", pattern: "ERROR", recursive: true });
      assert.deepEqual(Object.keys(result).sort(), RESULT_FIELDS);
      assert.deepEqual(triples(result), [
        ["logs/a.log", 1, "ERROR one"],
        ["logs/deep/b.log", 2, "ERROR two\r"],
      ]);
      assert.equal(result.stoppedReason, "completed");
      assert.equal(result.filesScanned, 3, "a.log, blob.bin (binary: no matches) and deep/b.log");
      assert.equal(result.containersDispatched, 1);
      assert.ok(result.computeSecondsUsed > 0);
      for (const field of ["durationMs", "listingMs", "grepMs"]) assert.ok(Number.isInteger(result[field]), field);

      const root = await disk.grep({ directory: "", pattern: "intro" });
      assert.deepEqual(triples(root), [["top.txt", 1, "intro"]]);
      const bodies = await grepBodies(server.url, disk.id);
      assert.deepEqual(bodies.at(-1), {
        directory: "",
        pattern: "intro",
        recursive: false,
        maxDurationSeconds: 30,
        concurrency: 50,
        maxResults: 1000,
      });
      assert.equal(bodies[0].recursive, true);
    });
  });

  test("directories, recursion, Unicode and newline-separated alternatives", async () => {
    await withMock([], async (server) => {
      const disk = await seededDisk(sdk(server.url));
      assert.deepEqual(triples(await disk.grep({ directory: "/", pattern: "ERROR" })), [["top.txt", 3, "ERROR top"]]);
      assert.deepEqual(triples(await disk.grep({ directory: "/logs/", pattern: "ERROR" })), [
        ["logs/a.log", 1, "ERROR one"],
      ]);
      assert.deepEqual(triples(await disk.grep({ directory: "notes", pattern: "\\p{Han}{3}$" })), [
        ["notes/café.md", 1, "café 日本語"],
      ]);
      assert.deepEqual(triples(await disk.grep({ directory: "", pattern: "^ERROR\ncafé", recursive: true })), [
        ["logs/a.log", 1, "ERROR one"],
        ["logs/deep/b.log", 2, "ERROR two\r"],
        ["notes/café.md", 1, "café 日本語"],
        ["top.txt", 3, "ERROR top"],
      ]);
      const missing = await disk.grep({ directory: "nope", pattern: "ERROR", recursive: true });
      assert.deepEqual(
        [missing.matches, missing.stoppedReason, missing.filesScanned, missing.containersDispatched, missing.grepMs],
        [[], "completed", 0, 0, 0],
      );
      const asFile = await disk.grep({ directory: "top.txt", pattern: "ERROR" });
      assert.deepEqual([asFile.stoppedReason, asFile.filesScanned], ["completed", 0]);
    });
  });

  test("stoppedReason: max_results, completed at exactly N, incomplete", async () => {
    await withMock([], async (server) => {
      const disk = await seededDisk(sdk(server.url));
      const capped = await disk.grep({ directory: "", pattern: "ERROR|info", recursive: true, maxResults: 2 });
      assert.equal(capped.stoppedReason, "max_results");
      assert.deepEqual(triples(capped), [
        ["logs/a.log", 1, "ERROR one"],
        ["logs/a.log", 2, "info"],
      ]);
      const exact = await disk.grep({ directory: "", pattern: "ERROR|info", recursive: true, maxResults: 5 });
      assert.equal(exact.stoppedReason, "completed");
      assert.equal(exact.matches.length, 5);
      const invalid = await disk.grep({ directory: "", pattern: "(a)\\1", recursive: true });
      assert.equal(invalid.stoppedReason, "incomplete", "an invalid regex is a 200, not a 400");
      assert.deepEqual(invalid.matches, []);
      assert.equal(invalid.filesScanned, Object.keys(FILES).length);
      const fast = await disk.grep({ directory: "", pattern: "x", recursive: true, maxDurationSeconds: 1, concurrency: 1 });
      assert.equal(fast.stoppedReason, "completed");
    });
  });

  test("errors surface as ArchilApiError with the status; a 500 is not retried", async () => {
    await withMock([], async (server) => {
      const archil = sdk(server.url);
      const disk = await seededDisk(archil);
      for (const [opts, needle] of [
        [{ maxResults: 0 }, /maxResults/],
        [{ maxResults: 10001 }, /maxResults/],
        [{ maxResults: 2.5 }, /maxResults/],
        [{ maxDurationSeconds: 0 }, /maxDurationSeconds/],
        [{ maxDurationSeconds: 31 }, /maxDurationSeconds/],
        [{ maxDurationSeconds: 1.5 }, /maxDurationSeconds/],
        [{ concurrency: 0 }, /concurrency/],
        [{ concurrency: 101 }, /concurrency/],
        [{ directory: "../etc" }, /directory/],
        [{ directory: "a/./b" }, /directory/],
        [{ recursive: "yes" }, /recursive/],
        [{ pattern: 7 }, /pattern/],
      ]) {
        await rejectsApi(disk.grep({ directory: "", pattern: "x", ...opts }), 400, needle);
      }

      await addFault(server.url, { path: `/api/disks/${disk.id}/grep`, status: 500, times: 1 });
      const before = (await grepBodies(server.url, disk.id)).length;
      await rejectsApi(disk.grep({ directory: "", pattern: "x" }), 500);
      assert.equal((await grepBodies(server.url, disk.id)).length, before + 1, "one request, no retry");

      const gone = await seededDisk(archil, {});
      await gone.delete();
      await rejectsApi(gone.grep({ directory: "", pattern: "x" }), 404, /not found/);
    });
  });
});

describe("disk grep (CLI)", () => {
  test("prints file:line:text, recurses by default, and exits 0 only with matches", async () => {
    await withMock([], async (server) => {
      const disk = await seededDisk(sdk(server.url));
      const all = await cli(server.url, "grep", "ERROR", disk.id);
      assert.equal(all.code, 0, all.stderr);
      assert.equal(all.stdout, "logs/a.log:1:ERROR one\nlogs/deep/b.log:2:ERROR two\r\ntop.txt:3:ERROR top\n");
      assert.match(all.stderr, /3 matches · 5 files scanned · 1 containers · \d+ms · completed/);
      assert.doesNotMatch(all.stderr, /warning/);

      const logs = await cli(server.url, "grep", "ERROR", `${disk.id}/logs`, "--no-recursive");
      assert.equal(logs.code, 0, logs.stderr);
      assert.equal(logs.stdout, "logs/a.log:1:ERROR one\n");
      const sent = (await grepBodies(server.url, disk.id)).map((b) => [b.directory, b.recursive]);
      assert.deepEqual(sent, [
        ["", true],
        ["logs", false],
      ]);

      const capped = await cli(server.url, "grep", "ERROR", disk.id, "--max-results", "1");
      assert.equal(capped.code, 0);
      assert.equal(capped.stdout, "logs/a.log:1:ERROR one\n");
      assert.match(capped.stderr, /warning: search did not complete \(max_results\); results may be partial/);

      const invalid = await cli(server.url, "grep", "(a)\\1", disk.id);
      assert.equal(invalid.code, 1, "no matches");
      assert.equal(invalid.stdout, "");
      assert.match(invalid.stderr, /0 matches · 5 files scanned .* incomplete/);
      assert.match(invalid.stderr, /warning: search did not complete \(incomplete\)/);

      const json = await cli(server.url, "grep", "WARN", `${disk.id}/logs`, "-o", "json");
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.deepEqual(Object.keys(parsed).sort(), RESULT_FIELDS);
      assert.deepEqual(parsed.matches, [{ file: "logs/a.log", line: 3, text: "WARN a" }]);

      const bad = await cli(server.url, "grep", "x", disk.id, "--max-results", "0");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^Error \(400\): maxResults must be between 1 and 10000/);

      const unknown = await cli(server.url, "grep", "x", "dsk-0000000000000000");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^Error \(404\)/);
    });
  });
});
