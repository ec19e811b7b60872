/**
 * The helper contract used by a program that is not ours: examples/convert-with-own-nbd-server.sh
 * serves a guest's disk with its own nbdkit on 127.0.0.1 (TCP), writes metadata.in by hand with
 * the disk as an NBD URI and a field the schema does not know, runs helper-v2v-convert, reads
 * metadata.out with jq and copies the converted disk out with nbdcopy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { linuxGuest } from "../fixtures/guests.js";
import {
  freePort,
  makeSandbox,
  packageBin,
  processesMentioning,
  runEnvironment,
  sha256,
} from "../support/run.js";

const EXAMPLE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../examples/convert-with-own-nbd-server.sh",
);

test("a script of its own serves the disk over TCP, writes metadata.in by hand, and helper-v2v-convert converts it", async (t) => {
  const sandbox = await makeSandbox("example-nbd");
  t.after(() => sandbox.dispose());
  const guest = await linuxGuest("plain");
  const before = await sha256(guest.path);
  const output = path.join(sandbox.out, "converted.img");
  const port = String(await freePort());

  const result = await execa("bash", [EXAMPLE, guest.path, output, port], {
    env: {
      ...runEnvironment(sandbox),
      HELPER_V2V_CONVERT: packageBin("@split-v2v/helper-convert"),
    },
    reject: false,
  });
  const context = `${String(result.stdout)}\n${String(result.stderr)}`;
  assert.equal(result.exitCode, 0, context);
  assert.match(
    String(result.stdout),
    /^guest: debian 12 \(debian12\), block bus virtio-blk, net bus virtio-net$/m,
  );
  assert.match(
    String(result.stdout),
    /^changed \/etc\/fstab\/1\/spec: \/dev\/sda2 → \/dev\/vda2$/m,
  );
  // The field metadata.in has and schema version 1 does not: reported in the log, not refused.
  assert.match(String(result.stderr), /metadata\.in: ignoring unknown field \/x-example-tool$/m);

  // The converted disk differs from the source, which the overlay kept untouched.
  assert.notEqual(await sha256(output), before);
  assert.equal(await sha256(guest.path), before, "the source image is unchanged");
  assert.deepEqual(await processesMentioning(`127.0.0.1 --port ${port}`), []);
});
