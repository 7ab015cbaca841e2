// The official TypeScript SDK (npm package `disk`, pinned in package-lock.json),
// unmodified, against archil-mock's disk endpoints: create (new, idempotent,
// conflicting), get, creating -> available, list with limit / cursor / name,
// disk users and tokens, allowed IPs and delete. Errors surface as
// ArchilApiError with the HTTP status. The wire contract is
// shared/contracts/disks.md.
//
// The published `disk` 0.8.13 has no branches, delegations, waitUntilReady or
// listPage (the repository's newer source has some of them), so this suite
// covers what the published package can call.
//
// Run: ARCHIL_MOCK_BIN=/abs/path/to/archil-mock node --test   (in tests/ts)

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { ArchilApiError } from "disk";

import { DEFAULT_KEY, REGION, sdk, withMock } from "./mock.mjs";

const DISK_ID = /^dsk-[0-9a-f]{16}$/;
const ARN = "arn:aws:iam::123456789012:role/reader";
const FIXTURE_DISK = "dsk-0123456789abcdef";

/** One request outside the SDK, for envelope fields the SDK does not expose. */
async function raw(url, method, path, { key = DEFAULT_KEY, query, body } = {}) {
  const target = new URL(path, url);
  for (const [k, v] of Object.entries(query ?? {})) target.searchParams.set(k, String(v));
  const resp = await fetch(target, {
    method,
    headers: { Authorization: key, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  return { status: resp.status, text, json: text ? JSON.parse(text) : undefined };
}

async function rejectsWith(promise, status) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ArchilApiError, `expected ArchilApiError, got ${err}`);
    assert.equal(err.status, status, err.message);
    assert.ok(err.message.length > 0);
    return true;
  });
}

function fixtureFile(disks) {
  const dir = mkdtempSync(join(tmpdir(), "archil-mock-ts-"));
  const path = join(dir, "disks.json");
  writeFileSync(path, JSON.stringify({ accounts: [{ name: "default", disks }] }));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe("disk SDK against archil-mock", () => {
  test("create returns the disk and a one-time token", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const before = Date.now() - 1000;
      const { disk, token, tokenIdentifier, authorizedUsers } = await archil.disks.create({ name: "ts-data" });
      const after = Date.now();

      assert.match(disk.id, DISK_ID);
      assert.equal(disk.name, "ts-data");
      assert.equal(disk.status, "available");
      assert.equal(disk.region, REGION);
      assert.equal(disk.provider, "aws");
      assert.ok(typeof disk.organization === "string" && disk.organization.length > 0);
      const createdAt = Date.parse(disk.createdAt);
      assert.ok(before <= createdAt && createdAt <= after, disk.createdAt);
      assert.deepEqual(disk.allowedIps, []);

      assert.ok(typeof token === "string" && token.startsWith("dtk-"), token);
      assert.ok(typeof tokenIdentifier === "string" && tokenIdentifier.length > 0);
      assert.equal(authorizedUsers.length, 1);
      assert.equal(authorizedUsers[0].type, "token");
      assert.equal(authorizedUsers[0].token, token);
      assert.equal(authorizedUsers[0].identifier, tokenIdentifier);
      assert.equal(authorizedUsers[0].tokenSuffix, token.slice(-4));

      assert.equal(disk.authorizedUsers.length, 1);
      assert.equal(disk.authorizedUsers[0].token, undefined, "a disk never lists a token");
      assert.equal(disk.authorizedUsers[0].identifier, tokenIdentifier);

      const again = await archil.disks.get(disk.id);
      assert.deepEqual(
        [again.id, again.name, again.organization, again.createdAt, again.status],
        [disk.id, disk.name, disk.organization, disk.createdAt, "available"],
      );
      const other = await archil.disks.create({ name: "ts-other" });
      assert.notEqual(other.disk.id, disk.id);
      assert.notEqual(other.token, token);
    }));

  test("create is idempotent for the same configuration and 409 for another", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const first = await archil.disks.create({ name: "ts-same", mounts: [{ type: "s3", bucketName: "bucket-a" }] });
      const second = await archil.disks.create({ name: "ts-same", mounts: [{ type: "s3", bucketName: "bucket-a" }] });
      assert.equal(second.disk.id, first.disk.id);
      assert.equal(second.token, null, "the token is shown once");
      assert.equal(second.tokenIdentifier, null);
      assert.equal(second.disk.mounts[0].name, "bucket-a");

      await rejectsWith(archil.disks.create({ name: "ts-same", mounts: [{ type: "s3", bucketName: "bucket-b" }] }), 409);
      await rejectsWith(archil.disks.create({ name: "has space" }), 400);
      const listed = await archil.disks.list();
      assert.deepEqual(listed.map((d) => d.id), [first.disk.id]);
    }));

  test("a new disk is creating, then available", () =>
    withMock(["--disk-ready-ms", "1500"], async ({ url }) => {
      const archil = sdk(url);
      const started = Date.now();
      const { disk } = await archil.disks.create({ name: "ts-slow" });
      assert.equal(disk.status, "creating");
      const seen = [disk.status];
      while (seen.at(-1) !== "available") {
        assert.ok(Date.now() - started < 10_000, `not available after 10 s: ${seen}`);
        await sleep(100);
        seen.push((await archil.disks.get(disk.id)).status);
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1450, `available after ${elapsed} ms, before --disk-ready-ms 1500`);
      const firstAvailable = seen.indexOf("available");
      assert.ok(firstAvailable >= 3, `${seen}`);
      assert.deepEqual(new Set(seen.slice(0, firstAvailable)), new Set(["creating"]));
    }));

  test("a fixture disk in status failed reports it", () => {
    const fixture = fixtureFile([{ name: "broken", id: FIXTURE_DISK, status: "failed" }]);
    return withMock(["--fixture", fixture.path], async ({ url }) => {
      const disk = await sdk(url).disks.get(FIXTURE_DISK);
      assert.equal(disk.status, "failed");
      assert.equal(disk.name, "broken");
    }).finally(fixture.cleanup);
  });

  test("list with limit, cursor and the name filter", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const made = [];
      for (let i = 0; i < 7; i++) made.push((await archil.disks.create({ name: `ts-${i}` })).disk.id);

      const all = await archil.disks.list();
      assert.deepEqual(all.map((d) => d.id).sort(), [...made].sort());

      // Walk with limit 3, following the envelope's top-level nextCursor.
      const walked = [];
      const sizes = [];
      let cursor;
      for (;;) {
        const page = await archil.disks.list({ limit: 3, cursor });
        const envelope = await raw(url, "GET", "/api/disks", { query: { limit: 3, ...(cursor ? { cursor } : {}) } });
        assert.equal(envelope.status, 200);
        assert.deepEqual(page.map((d) => d.id), envelope.json.data.map((d) => d.id));
        walked.push(...page.map((d) => d.id));
        sizes.push(page.length);
        if (!("nextCursor" in envelope.json)) break;
        assert.ok(typeof envelope.json.nextCursor === "string" && envelope.json.nextCursor !== cursor);
        cursor = envelope.json.nextCursor;
        assert.ok(sizes.length < 10, "the walk does not end");
      }
      assert.deepEqual(sizes, [3, 3, 1]);
      assert.deepEqual([...walked].sort(), [...made].sort());
      assert.equal(new Set(walked).size, 7);

      const [named] = await archil.disks.list({ name: "ts-4" });
      assert.equal(named.id, made[4]);
      assert.equal((await archil.disks.list({ name: "ts-4" })).length, 1);
      assert.deepEqual(await archil.disks.list({ name: "ts-" }), []);
      assert.equal((await archil.disks.list({ limit: 500 })).length, 7, "limit above 100 is clamped");
    }));

  test("add users, create tokens and remove them", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const created = await archil.disks.create({ name: "ts-users" });
      const { disk } = created;

      const ci = await disk.addUser({ type: "token", nickname: "ci" });
      assert.equal(ci.type, "token");
      assert.equal(ci.nickname, "ci");
      assert.ok(ci.token.startsWith("dtk-"), ci.token);
      assert.equal(ci.tokenSuffix, ci.token.slice(-4));
      assert.ok(ci.identifier);

      const deploy = await disk.createToken("deploy");
      assert.ok(deploy.token.startsWith("dtk-"));
      assert.equal(new Set([created.token, ci.token, deploy.token]).size, 3);
      assert.equal(new Set([created.tokenIdentifier, ci.identifier, deploy.identifier]).size, 3);

      const sts = await disk.addUser({ type: "awssts", principal: ARN });
      assert.equal(sts.type, "awssts");
      assert.equal(sts.principal, ARN);
      assert.equal(sts.identifier, ARN);
      assert.equal(sts.token, undefined);

      const users = (await archil.disks.get(disk.id)).authorizedUsers;
      assert.deepEqual(
        users.map((u) => u.identifier).sort(),
        [created.tokenIdentifier, ci.identifier, deploy.identifier, ARN].sort(),
      );
      assert.ok(users.every((u) => u.token === undefined));

      await disk.removeUser("token", ci.identifier);
      await disk.removeTokenUser(deploy.identifier);
      await disk.removeUser("awssts", ARN);
      const left = (await archil.disks.get(disk.id)).authorizedUsers;
      assert.deepEqual(left.map((u) => u.identifier), [created.tokenIdentifier]);

      await rejectsWith(disk.removeUser("token", ci.identifier), 404);
      await rejectsWith(disk.addUser({ type: "awssts" }), 400);
    }));

  test("allowed IPs: get, set, add, remove", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const { disk } = await archil.disks.create({ name: "ts-ips" });
      assert.deepEqual(await disk.getAllowedIPs(), []);
      assert.deepEqual(await disk.setAllowedIPs(["10.0.0.0/8", "203.0.113.7"]), ["10.0.0.0/8", "203.0.113.7"]);
      assert.deepEqual(await disk.addAllowedIP("198.51.100.0/24"), ["10.0.0.0/8", "203.0.113.7", "198.51.100.0/24"]);
      assert.deepEqual(await disk.addAllowedIP("203.0.113.7"), ["10.0.0.0/8", "203.0.113.7", "198.51.100.0/24"]);
      assert.deepEqual(await disk.removeAllowedIP("10.0.0.0/8"), ["203.0.113.7", "198.51.100.0/24"]);
      assert.deepEqual((await archil.disks.get(disk.id)).allowedIps, ["203.0.113.7", "198.51.100.0/24"]);
      await rejectsWith(disk.setAllowedIPs(["not-an-ip"]), 400);
      assert.deepEqual(await disk.getAllowedIPs(), ["203.0.113.7", "198.51.100.0/24"]);
      assert.deepEqual(await disk.setAllowedIPs([]), []);
      assert.deepEqual(await disk.getAllowedIPs(), []);
    }));

  test("delete removes the disk", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const doomed = await archil.disks.create({ name: "ts-doomed" });
      const kept = await archil.disks.create({ name: "ts-kept" });
      await doomed.disk.delete();
      await rejectsWith(archil.disks.get(doomed.disk.id), 404);
      await rejectsWith(doomed.disk.delete(), 404);
      assert.deepEqual((await archil.disks.list()).map((d) => d.id), [kept.disk.id]);
      const reborn = await archil.disks.create({ name: "ts-doomed" });
      assert.notEqual(reborn.disk.id, doomed.disk.id);
      await rejectsWith(archil.disks.get("dsk-0000000000000000"), 404);
      await rejectsWith(archil.disks.get("not-a-disk"), 400);
    }));

  test("accounts are isolated and unknown keys are 401", () =>
    withMock(["--api-key", "alice=key-alice-ts-0001", "--api-key", "bob=key-bob-ts-0002"], async ({ url }) => {
      const alice = sdk(url, "key-alice-ts-0001");
      const bob = sdk(url, "key-bob-ts-0002");
      const mine = await alice.disks.create({ name: "ts-shared" });
      assert.deepEqual(await bob.disks.list(), []);
      await rejectsWith(bob.disks.get(mine.disk.id), 404);
      const theirs = await bob.disks.create({ name: "ts-shared" });
      assert.notEqual(theirs.disk.id, mine.disk.id);
      assert.ok(theirs.token);
      await rejectsWith(sdk(url, "key-never-issued-0000").disks.list(), 401);
    }));

  test("the region flag sets region and provider", () =>
    withMock(["--region", "gcp-us-central1"], async ({ url }) => {
      const { disk } = await sdk(url, DEFAULT_KEY, "gcp-us-central1").disks.create({ name: "ts-gcp" });
      assert.equal(disk.region, "gcp-us-central1");
      assert.equal(disk.provider, "gcp");
    }));
});
