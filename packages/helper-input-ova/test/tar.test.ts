import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { listTarMembers, tarMemberDataOffset } from "../src/index.js";
import { scratch } from "./ova-builder.js";

async function bytesAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, offset);
    return buffer;
  } finally {
    await handle.close();
  }
}

test("each member's data is found where it lies, whatever headers precede it", async (t) => {
  const { dir, dispose } = await scratch("tar");
  t.after(dispose);
  // Names longer than 100 bytes need extra headers: GNU ././@LongLink ones, or pax ones.
  const long = `${"d".repeat(60)}/${"n".repeat(90)}.vmdk`;
  const files: Record<string, Buffer> = {
    "a.ovf": randomBytes(3000),
    [long]: randomBytes(70000),
    "b.vmdk": randomBytes(512 * 3),
    "c.mf": Buffer.alloc(0),
  };
  await execa("mkdir", ["-p", path.join(dir, "d".repeat(60))]);
  for (const [name, content] of Object.entries(files))
    await writeFile(path.join(dir, name), content);

  for (const format of ["ustar-short", "gnu", "pax"] as const) {
    const names = Object.keys(files).filter((name) => format !== "ustar-short" || name !== long);
    const tar = path.join(dir, `${format}.tar`);
    await execa(
      "tar",
      [`--format=${format === "ustar-short" ? "ustar" : format}`, "-cf", tar, ...names],
      { cwd: dir },
    );
    const members = (await listTarMembers(tar)).filter((member) => member.type === "file");
    assert.deepEqual(
      members.map((member) => member.name).sort(),
      [...names].sort(),
      `${format}: members`,
    );
    for (const member of members) {
      const offset = await tarMemberDataOffset(tar, member);
      const expected = files[member.name]!;
      assert.equal(member.size, expected.length, `${format} ${member.name}: size`);
      assert.ok(
        (await bytesAt(tar, offset, expected.length)).equals(expected),
        `${format} ${member.name}: data at ${offset}`,
      );
    }
  }
});

test("names are normalised and a member stored twice means the last one", async (t) => {
  const { dir, dispose } = await scratch("tar-names");
  t.after(dispose);
  await writeFile(path.join(dir, "disk.vmdk"), "first");
  const tar = path.join(dir, "t.tar");
  await execa("tar", ["-cf", tar, "./disk.vmdk"], { cwd: dir });
  await writeFile(path.join(dir, "disk.vmdk"), "second!");
  await execa("tar", ["-rf", tar, "./disk.vmdk"], { cwd: dir });
  const members = await listTarMembers(tar);
  assert.deepEqual(
    members.map((member) => [member.name, member.occurrence, member.size]),
    [
      ["disk.vmdk", 1, 5],
      ["disk.vmdk", 2, 7],
    ],
  );
  const second = members[1]!;
  const offset = await tarMemberDataOffset(tar, second);
  assert.equal((await readFile(tar)).subarray(offset, offset + 7).toString(), "second!");
});

test("a member stored sparse cannot be served in place, and says so", async (t) => {
  const { dir, dispose } = await scratch("tar-sparse");
  t.after(dispose);
  const sparse = path.join(dir, "disk.img");
  await execa("truncate", ["-s", "4M", sparse]);
  const handle = await open(sparse, "r+");
  await handle.write(Buffer.from("DATA IN THE MIDDLE"), 0, 18, 2 * 1024 * 1024);
  await handle.close();
  const tar = path.join(dir, "sparse.tar");
  await execa("tar", ["--format=pax", "--sparse", "-cf", tar, "disk.img"], { cwd: dir });
  const [member] = await listTarMembers(tar);
  await assert.rejects(
    tarMemberDataOffset(tar, member!),
    /disk\.img in .* cannot be read in place/,
  );
});
