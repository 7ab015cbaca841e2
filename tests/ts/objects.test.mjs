// The official TypeScript SDK (npm package `disk`, pinned in package-lock.json),
// unmodified, against archil-mock's S3-compatible object gateway on the control
// plane's port: putObject / getObject / headObject / objectExists /
// deleteObject, listObjects (recursive, delimited, paged, 2500 keys),
// directories, odd keys (raw `!*'()` and `%20` queries are TS-specific), share
// URLs, keys and accounts, disk sizes. Errors surface as ArchilS3Error with the
// HTTP status and the S3 error code. The wire contract is
// shared/contracts/s3-gateway.md.
//
// The published `disk` 0.8.13 has no appendObject, deleteObjects, multipart or
// S3 retries (the repository's newer source has them), so this suite covers
// what the published package can call, and pins that a 503 surfaces at once.
//
// Run: ARCHIL_MOCK_BIN=/abs/path/to/archil-mock node --test objects.test.mjs   (in tests/ts)

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, test } from "node:test";

import { ArchilApiError, ArchilS3Error } from "disk";

import { DEFAULT_KEY, raw, sdk, withMock } from "./mock.mjs";

const md5Etag = (data) => `"${createHash("md5").update(data).digest("hex")}"`;
const enc = (s) => new TextEncoder().encode(s);
const keysOf = (result) => result.objects.map((o) => o.key);
const utf8Sorted = (keys) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
const objectPath = (diskId, key) => `/${diskId}/${key.split("/").map(encodeURIComponent).join("/")}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let diskSeq = 0;
async function newDisk(archil, prefix = "ts-objects") {
  diskSeq += 1;
  const { disk } = await archil.disks.create({ name: `${prefix}-${process.pid}-${diskSeq}` });
  return disk;
}

async function rejectsS3(promise, status, code) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ArchilS3Error, `expected ArchilS3Error, got ${err}`);
    assert.equal(err.status, status, `${err.message} raw=${err.raw}`);
    assert.equal(err.code, code, `${err.message} raw=${err.raw}`);
    return true;
  });
}

function xmlErrorCode(text) {
  assert.match(text, /<Error[\s>]/, text);
  assert.match(text, /<Message>[^<]+<\/Message>/, text);
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}

async function putMany(disk, entries, concurrency = 32) {
  const results = new Array(entries.length);
  let next = 0;
  async function worker() {
    while (next < entries.length) {
      const i = next++;
      results[i] = await disk.putObject(entries[i][0], entries[i][1]);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

async function addFault(url, rule) {
  const resp = await raw(url, "POST", "/_mock/faults", { key: null, json: rule });
  assert.equal(resp.status, 201, resp.text);
  return resp.json.data.ids[0];
}

async function journal(url, method) {
  const resp = await raw(url, "GET", "/_mock/requests", { key: null, query: method ? { method } : {} });
  assert.equal(resp.status, 200, resp.text);
  return resp.json.data.requests;
}

async function seedTree(disk) {
  const files = {
    "top.txt": "top",
    "docs/a.txt": "alpha",
    "docs/b.txt": "bravo!",
    "docs/sub/c.txt": "charlie",
    "img/x.png": "\u0089PNG",
    "deep/a/b/c.txt": "deep",
  };
  for (const [key, body] of Object.entries(files)) await disk.putObject(key, body);
  await disk.putObject("empty/", "");
  return files;
}

describe("disk SDK objects against archil-mock", () => {
  test("put, get and head bytes and strings", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      const before = Date.now() - 2000;
      const body = new Uint8Array([104, 105, 0, 255, 10]);
      const put = await disk.putObject("bytes.bin", body);
      assert.equal(put.etag, md5Etag(body));
      assert.ok(!put.etag.includes("-"));
      const text = "héllo ✓ wörld";
      const putText = await disk.putObject("notes/text.txt", text, "text/plain; charset=utf-8");
      assert.equal(putText.etag, md5Etag(enc(text)));
      const buf = enc("from an ArrayBuffer").buffer;
      assert.equal((await disk.putObject("ab.bin", buf)).etag, md5Etag(new Uint8Array(buf)));
      const after = Date.now() + 2000;

      assert.deepEqual(await disk.getObject("bytes.bin"), body);
      assert.equal(new TextDecoder().decode(await disk.getObject("notes/text.txt")), text);
      assert.equal(new TextDecoder().decode(await disk.getObject("ab.bin")), "from an ArrayBuffer");

      const meta = await disk.headObject("bytes.bin");
      assert.equal(meta.size, body.length);
      assert.equal(meta.etag, md5Etag(body));
      assert.equal(meta.contentType, "application/octet-stream", "the TS SDK's default type is stored");
      assert.ok(meta.lastModified instanceof Date && !Number.isNaN(meta.lastModified.getTime()));
      assert.ok(before <= meta.lastModified.getTime() && meta.lastModified.getTime() <= after, meta.lastModified);
      const typed = await disk.headObject("notes/text.txt");
      assert.equal(typed.contentType, "text/plain; charset=utf-8");
      assert.equal(typed.size, enc(text).length);

      assert.equal(await disk.objectExists("bytes.bin"), true);
      assert.equal(await disk.objectExists("nope.bin"), false);
      assert.equal(await disk.headObject("nope.bin"), null);
      await rejectsS3(disk.getObject("nope.bin"), 404, "NoSuchKey");

      // Overwrite.
      assert.equal((await disk.putObject("bytes.bin", "v2")).etag, md5Etag(enc("v2")));
      assert.equal(new TextDecoder().decode(await disk.getObject("bytes.bin")), "v2");
      assert.equal((await disk.headObject("bytes.bin")).size, 2);

      // Empty object.
      assert.equal((await disk.putObject("empty.txt", "")).etag, md5Etag(new Uint8Array()));
      assert.deepEqual(await disk.getObject("empty.txt"), new Uint8Array());
      assert.equal((await disk.headObject("empty.txt")).size, 0);
    }));

  test("delete present and absent objects", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      await disk.putObject("a/b/c.txt", "c");
      await disk.putObject("keep.txt", "k");
      await disk.deleteObject("a/b/c.txt");
      assert.equal(await disk.headObject("a/b/c.txt"), null);
      await rejectsS3(disk.getObject("a/b/c.txt"), 404, "NoSuchKey");
      await disk.deleteObject("a/b/c.txt");
      await disk.deleteObject("never/there.txt");
      assert.deepEqual(keysOf(await disk.listObjects(undefined, { recursive: true })), ["keep.txt"]);
    }));

  test("recursive listings list files only", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      const files = await seedTree(disk);
      const all = await disk.listObjects(undefined, { recursive: true });
      assert.deepEqual(keysOf(all), utf8Sorted(Object.keys(files)));
      assert.deepEqual(all.commonPrefixes, []);
      assert.equal(all.isTruncated, false);
      for (const o of all.objects) {
        assert.equal(o.size, enc(files[o.key]).length, o.key);
        assert.equal(o.etag, md5Etag(enc(files[o.key])), o.key);
        assert.ok(o.lastModified instanceof Date && Math.abs(Date.now() - o.lastModified.getTime()) < 60_000);
      }
      const docs = await disk.listObjects("docs/", { recursive: true });
      assert.deepEqual(keysOf(docs), ["docs/a.txt", "docs/b.txt", "docs/sub/c.txt"]);
      assert.equal(docs.prefix, "docs/");
      assert.deepEqual(keysOf(await disk.listObjects("docs/a", { recursive: true })), ["docs/a.txt"]);
      assert.deepEqual((await disk.listObjects("empty/", { recursive: true })).objects, []);
      const after = await disk.listObjects(undefined, { recursive: true, startAfter: "docs/a.txt" });
      assert.deepEqual(keysOf(after), ["docs/b.txt", "docs/sub/c.txt", "img/x.png", "top.txt"]);
      const limited = await disk.listObjects(undefined, { recursive: true, limit: 2 });
      assert.deepEqual(keysOf(limited), ["deep/a/b/c.txt", "docs/a.txt"]);
      assert.equal(limited.isTruncated, true);
    }));

  test("delimited listings return one level with every directory as a prefix", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      await seedTree(disk);
      const root = await disk.listObjects();
      assert.deepEqual(keysOf(root), ["top.txt"]);
      assert.deepEqual(root.commonPrefixes, ["deep/", "docs/", "empty/", "img/"]);
      const docs = await disk.listObjects("docs/");
      assert.deepEqual(keysOf(docs), ["docs/a.txt", "docs/b.txt"]);
      assert.deepEqual(docs.commonPrefixes, ["docs/sub/"]);
      assert.deepEqual((await disk.listObjects("deep/a/")).commonPrefixes, ["deep/a/b/"]);
      const empty = await disk.listObjects("empty/");
      assert.deepEqual([empty.objects, empty.commonPrefixes], [[], []]);
      const page = await disk.listObjects(undefined, { singlePage: true });
      assert.equal(page.keyCount, 5, "KeyCount = Contents + CommonPrefixes");
      assert.equal(page.isTruncated, false);
      assert.equal(page.nextContinuationToken, undefined);
    }));

  test("files and directories conflict; directories are not objects", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      await disk.putObject("f", "a file");
      await rejectsS3(disk.putObject("f/x", "x"), 409, "NotADirectory");
      await disk.putObject("d/", "");
      await rejectsS3(disk.putObject("d", "x"), 409, "IsADirectory");
      await disk.putObject("full/x.txt", "x");
      await rejectsS3(disk.putObject("full", "x"), 409, "IsADirectory");
      for (const key of ["d", "d/", "full", "full/"]) {
        assert.equal(await disk.headObject(key), null, key);
        await rejectsS3(disk.getObject(key), 404, "NoSuchKey");
      }
      await rejectsS3(disk.deleteObject("full/"), 409, "DirectoryNotEmpty");
      await disk.deleteObject("d/");
      assert.deepEqual((await disk.listObjects()).commonPrefixes, ["full/"]);
      await disk.deleteObject("full/x.txt");
      const root = await disk.listObjects();
      assert.deepEqual(root.commonPrefixes, ["full/"], "an emptied directory persists");
      assert.deepEqual(keysOf(root), ["f"]);
      assert.deepEqual(keysOf(await disk.listObjects(undefined, { recursive: true })), ["f"]);
    }));

  test("odd keys round-trip, including the characters only TS leaves raw", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      const keys = [
        "with space.txt",
        "sp ace/inner file.txt",
        "plus+sign.txt",
        "a+b/c+d.txt",
        "percent%41.txt",
        "100%/done%20.txt",
        "ünïcödé/日本語.txt",
        "emoji/😀.bin",
        "q?uestion#hash&amp=eq.txt",
        "bang!star*quote'(paren).txt",
        "nested/dir/tree/deep/file.txt",
      ];
      for (const [i, key] of keys.entries()) {
        assert.equal((await disk.putObject(key, `${i}:${key}`)).etag, md5Etag(enc(`${i}:${key}`)), key);
      }
      for (const [i, key] of keys.entries()) {
        assert.equal(new TextDecoder().decode(await disk.getObject(key)), `${i}:${key}`, key);
        assert.equal((await disk.headObject(key)).size, enc(`${i}:${key}`).length, key);
      }
      assert.deepEqual(keysOf(await disk.listObjects(undefined, { recursive: true })), utf8Sorted(keys));
      assert.deepEqual(keysOf(await disk.listObjects("sp ace/")), ["sp ace/inner file.txt"], "%20 in the query");
      assert.deepEqual(keysOf(await disk.listObjects("a+b/")), ["a+b/c+d.txt"]);
      assert.deepEqual(keysOf(await disk.listObjects("100%/")), ["100%/done%20.txt"]);
      assert.equal(await disk.headObject("percentA.txt"), null, "one decode only");
      // Python encodes !*'(); TS sends them raw. Same object either way.
      const encoded = await raw(url, "GET", `/${disk.id}/bang%21star%2Aquote%27%28paren%29.txt`);
      assert.equal(encoded.status, 200);
      assert.equal(encoded.text, "9:bang!star*quote'(paren).txt");
      for (const key of keys) await disk.deleteObject(key);
      assert.deepEqual((await disk.listObjects(undefined, { recursive: true })).objects, []);
    }));

  test("2500 keys list in pages of 1000", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      const files = Array.from({ length: 1300 }, (_, i) => `many/f${String(i).padStart(4, "0")}`);
      const dirs = Array.from({ length: 1200 }, (_, i) => `many/d${String(i).padStart(4, "0")}`);
      const every = [...files, ...dirs.map((d) => `${d}/leaf`)];
      const puts = await putMany(disk, every.map((k) => [k, k]));
      assert.deepEqual(puts.map((p) => p.etag), every.map((k) => md5Etag(enc(k))));

      const pages = [];
      for await (const page of disk.listObjectsPages("many/", { recursive: true })) pages.push(page);
      assert.deepEqual(pages.map((p) => p.objects.length), [1000, 1000, 500]);
      assert.deepEqual(pages.map((p) => p.keyCount), [1000, 1000, 500]);
      assert.deepEqual(pages.map((p) => p.isTruncated), [true, true, false]);
      assert.deepEqual(pages.flatMap(keysOf), utf8Sorted(every));

      const delimited = [];
      for await (const page of disk.listObjectsPages("many/")) delimited.push(page);
      assert.deepEqual(delimited.map((p) => [p.commonPrefixes.length, p.objects.length]), [[1000, 0], [200, 800], [0, 500]]);
      assert.deepEqual(delimited.map((p) => p.keyCount), [1000, 1000, 500]);

      const all = await disk.listObjects("many/");
      assert.deepEqual(all.commonPrefixes, dirs.map((d) => `${d}/`));
      assert.deepEqual(keysOf(all), files);
      const first = await disk.listObjects("many/", { recursive: true, singlePage: true });
      assert.equal(first.isTruncated, true);
      assert.ok(first.nextContinuationToken);
      const second = await disk.listObjects("many/", {
        recursive: true,
        singlePage: true,
        continuationToken: first.nextContinuationToken,
      });
      assert.deepEqual(keysOf(second), utf8Sorted(every).slice(1000, 2000));
    }));

  test("share URLs download without auth", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      const body = new Uint8Array(randomBytes(1500));
      await disk.putObject("reports/q1 final.pdf", body, "application/pdf");
      const shared = await disk.share("reports/q1 final.pdf", { expiresIn: 300 });
      assert.equal(shared.expiresIn, 300);
      assert.ok(shared.url.startsWith(`${url}/api/shared/`), shared.url);
      const resp = await fetch(shared.url);
      assert.equal(resp.status, 200);
      assert.deepEqual(new Uint8Array(await resp.arrayBuffer()), body);
      const byDefault = await disk.share("reports/q1 final.pdf");
      assert.equal(byDefault.expiresIn, 86400);
      const token = shared.url.slice(`${url}/api/shared/`.length);
      const tampered = `${url}/api/shared/${token[0] === "x" ? "y" : "x"}${token.slice(1)}`;
      assert.ok([403, 404].includes((await fetch(tampered)).status));
      for (const bad of [0, 604801]) {
        await assert.rejects(disk.share("reports/q1 final.pdf", { expiresIn: bad }), (err) => {
          assert.ok(err instanceof ArchilApiError, String(err));
          assert.equal(err.status, 400);
          return true;
        });
      }
    }));

  test("0.8.13 does not retry S3 requests: a 503 surfaces at once", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      await addFault(url, { method: "PUT", path: "/dsk-*/**", status: 503, times: 1 });
      await assert.rejects(disk.putObject("retry.txt", "x"), (err) => {
        assert.ok(err instanceof ArchilS3Error, String(err));
        assert.equal(err.status, 503);
        return true;
      });
      const puts = (await journal(url, "PUT")).filter((e) => e.path === `/${disk.id}/retry.txt`);
      assert.deepEqual(puts.map((e) => e.status), [503]);
      assert.equal(await disk.headObject("retry.txt"), null);
      assert.equal((await disk.putObject("retry.txt", "x")).etag, md5Etag(enc("x")));
    }));

  test("wrong keys are 403, other accounts' and unknown disks 404", () =>
    withMock(["--api-key", "alice=key-alice-ts-0001", "--api-key", "bob=key-bob-ts-0002"], async ({ url }) => {
      const disk = await newDisk(sdk(url, "key-alice-ts-0001"));
      await disk.putObject("private.txt", "alice only");
      for (const key of ["key-wrong-0000", null]) {
        const resp = await raw(url, "GET", objectPath(disk.id, "private.txt"), { key });
        assert.equal(resp.status, 403, resp.text);
        assert.equal(xmlErrorCode(resp.text), "AccessDenied");
      }
      const bob = await raw(url, "GET", objectPath(disk.id, "private.txt"), { key: "key-bob-ts-0002" });
      assert.equal(bob.status, 404);
      assert.equal(xmlErrorCode(bob.text), "NoSuchBucket");
      const bobPut = await raw(url, "PUT", objectPath(disk.id, "private.txt"), { key: "key-bob-ts-0002", body: "bob" });
      assert.equal(bobPut.status, 404);
      assert.equal(new TextDecoder().decode(await disk.getObject("private.txt")), "alice only");

      // A Disk whose disk was deleted: NoSuchBucket.
      await disk.delete();
      await rejectsS3(disk.getObject("private.txt"), 404, "NoSuchBucket");
      await rejectsS3(disk.putObject("new.txt", "x"), 404, "NoSuchBucket");
      await rejectsS3(disk.listObjects(), 404, "NoSuchBucket");
      assert.equal(await disk.headObject("private.txt"), null);
      await disk.deleteObject("private.txt");
    }));

  test("dataSize follows what is stored", () =>
    withMock([], async ({ url }) => {
      const archil = sdk(url);
      const disk = await newDisk(archil);
      assert.equal((await archil.disks.get(disk.id)).dataSize, 0);
      await disk.putObject("a.bin", new Uint8Array(1000));
      await disk.putObject("b/c.bin", new Uint8Array(250));
      assert.equal((await archil.disks.get(disk.id)).dataSize, 1250);
      await disk.deleteObject("a.bin");
      assert.equal((await archil.disks.get(disk.id)).dataSize, 250);
      const wire = await raw(url, "GET", `/api/disks/${disk.id}`, { key: DEFAULT_KEY });
      assert.equal(wire.json.data.activeDataBytes, 250);
      assert.equal(wire.json.data.totalDataBytes, 1250, "totalDataBytes counts what was written");
    }));

  test("a share link stops working when it expires", () =>
    withMock([], async ({ url }) => {
      const disk = await newDisk(sdk(url));
      await disk.putObject("short.txt", "short-lived");
      const { url: link } = await disk.share("short.txt", { expiresIn: 1 });
      assert.equal(await (await fetch(link)).text(), "short-lived");
      await sleep(2200);
      const resp = await fetch(link);
      assert.ok([403, 404, 410].includes(resp.status), String(resp.status));
    }));
});
