// The TypeScript SDK (npm `disk`), unmodified, against the real exec back
// ends (`--exec bwrap` and `--exec docker`): commands run over the disk's
// files and what they write comes back through the gateway. Where a back
// end is missing its test is skipped with the reason; CI sets
// ARCHIL_MOCK_REQUIRE_BWRAP=1 and ARCHIL_MOCK_REQUIRE_DOCKER=1, which make
// that a failure.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";

import { sdk, withMock } from "./mock.mjs";

function unavailable(backend) {
  if (backend === "bwrap") {
    const probe = spawnSync("bwrap", [
      "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
      "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "/bin/true",
    ]);
    if (probe.error) return `bubblewrap is not installed (${probe.error.message})`;
    return probe.status === 0 ? null : `bwrap cannot make a sandbox: ${probe.stderr}`;
  }
  const probe = spawnSync("docker", ["image", "inspect", "archil-mock-exec:local"]);
  if (probe.error) return `no docker CLI (${probe.error.message})`;
  return probe.status === 0 ? null : "no Docker engine with archil-mock-exec:local (make exec-image)";
}

describe("exec for real with the disk SDK", () => {
  for (const backend of ["bwrap", "docker"]) {
    const reason = unavailable(backend);
    const required = process.env[`ARCHIL_MOCK_REQUIRE_${backend.toUpperCase()}`] === "1";
    test(`disk.exec runs over the disk's files with --exec ${backend}`, { skip: reason && !required ? reason : false }, async () => {
      assert.equal(reason, null, `ARCHIL_MOCK_REQUIRE_${backend.toUpperCase()}=1, but ${reason}`);
      await withMock(["--exec", backend, "--exec-timeout", "20"], async (server) => {
        const client = sdk(server.url);
        const created = await client.disks.create({ name: `ts-real-${backend}` });
        const disk = created.disk ?? (await client.disks.get(created.diskId ?? created.id));
        await disk.putObject("in/n.txt", "b\na\n");
        const result = await disk.exec("cd /mnt && sort in/n.txt > sorted.txt && cat sorted.txt && exit 3");
        assert.equal(result.exitCode, 3, JSON.stringify(result));
        assert.equal(result.stdout, "a\nb\n");
        const back = new TextDecoder().decode(await disk.getObject("sorted.txt"));
        assert.equal(back, "a\nb\n");
      });
    });
  }
});
