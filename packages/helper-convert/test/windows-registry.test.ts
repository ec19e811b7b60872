// The registry layer on real hives in a real appliance (one launch, 20-40 s under TCG): edits
// are committed all at once or not at all, a hive nobody changed is not rewritten, a damaged
// hive is a clear user error. The hives are upstream virt-v2v's phony SYSTEM hive on NTFS.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { UserError } from "@split-v2v/common";
import { Guestfs, HiveType } from "@split-v2v/libguestfs";
import { ensureWorkingAccel } from "../src/accel.js";
import { realTimeIsUniversal } from "../src/families/windows/clock.js";
import { withHiveReadonly, withHiveWrite } from "../src/families/windows/registry.js";
import { guestSpelling } from "../src/families/windows/paths.js";

const PHONY = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "../../../../../shared/testdata/virt-v2v-upstream/phony-windows",
);
const HIVE = "/Windows/System32/Config/SYSTEM";
const DAMAGED = "/Windows/System32/Config/DAMAGED";

let directory = "";
let g: Guestfs | null = null;

function guest(): Guestfs {
  if (g === null) throw new Error("the appliance did not start");
  return g;
}

/** The hive's bytes as they are in the guest now. */
async function hiveBytes(file: string): Promise<Buffer> {
  const local = path.join(directory, "readback");
  await guest().download(file, local);
  return readFile(local);
}

/** A hive whose header counts a trailing garbage page: strict hivex refuses it. */
function damage(hive: Buffer): Buffer {
  const damaged = Buffer.concat([hive, Buffer.alloc(4096, 0xde)]);
  damaged.writeUInt32LE(hive.readUInt32LE(0x28) + 4096, 0x28);
  let checksum = 0;
  for (let offset = 0; offset < 0x1fc; offset += 4)
    checksum = (checksum ^ damaged.readUInt32LE(offset)) >>> 0;
  damaged.writeUInt32LE(checksum, 0x1fc);
  return damaged;
}

describe(
  "registry edits on a real hive",
  { skip: !existsSync(PHONY) && `${PHONY} is absent` },
  () => {
    before(async () => {
      directory = await mkdtemp(path.join(tmpdir(), "windows-registry-test-"));
      const hive = path.join(directory, "SYSTEM");
      await copyFile(path.join(PHONY, "minimal-hive"), hive);
      await chmod(hive, 0o644);
      await execa("hivexregedit", [
        "--merge",
        hive,
        "--prefix",
        "HKEY_LOCAL_MACHINE\\SYSTEM",
        path.join(PHONY, "windows-system.reg"),
      ]);
      await writeFile(path.join(directory, "DAMAGED"), damage(await readFile(hive)));
      const disk = path.join(directory, "disk.img");
      await execa("truncate", ["-s", "64M", disk]);

      await ensureWorkingAccel({ cacheDir: path.join(directory, "cache"), warn: () => undefined });
      g = new Guestfs();
      await g.addDrive(disk, { format: "raw" });
      await g.launch();
      await g.partDisk("/dev/sda", "mbr");
      await g.mkfs("ntfs", "/dev/sda1");
      await g.mount("/dev/sda1", "/");
      await g.mkdirP("/Windows/System32/Config");
      await g.upload(hive, HIVE);
      await g.upload(path.join(directory, "DAMAGED"), DAMAGED);
    });

    after(async () => {
      try {
        if (g !== null) {
          await g.umountAll().catch(() => undefined);
          await g.shutdown().catch(() => undefined);
          await g.close();
        }
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });

    it("a failing edit leaves the hive byte for byte as it was", async () => {
      const before = await hiveBytes(HIVE);
      await assert.rejects(
        withHiveWrite(guest(), HIVE, async (hive) => {
          const node = await hive.createPath(["ControlSet001", "Services", "half-done"]);
          await hive.setValue(node, "Start", { type: "dword", value: 0 });
          throw new Error("the conversion failed here");
        }),
        /the conversion failed here/,
      );
      assert.deepEqual(await hiveBytes(HIVE), before);
      assert.deepEqual(await guest().ls("/Windows/System32/Config"), ["DAMAGED", "SYSTEM"]);
    });

    it("edits are committed together and read back; a hive left alone is not rewritten", async () => {
      await withHiveWrite(guest(), HIVE, (hive) =>
        hive.importEdits([
          {
            path: ["ControlSet001", "Services", "viostor"],
            values: [
              ["Start", { type: "dword", value: 0 }],
              ["ImagePath", { type: "expand-sz", value: "system32\\drivers\\viostor.sys" }],
            ],
          },
          {
            path: ["ControlSet001", "Control", "Test"],
            values: [["List", { type: "multi-sz", value: ["a", "b"] }]],
          },
        ]),
      );
      const read = await withHiveReadonly(guest(), HIVE, async (hive) => {
        const viostor = await hive.getNode(["ControlSet001", "Services", "viostor"]);
        const tcpip = await hive.getNode(["ControlSet001", "Services", "Tcpip"]);
        const test = await hive.getNode(["ControlSet001", "Control", "Test"]);
        assert.ok(viostor !== null && tcpip !== null && test !== null);
        return {
          start: await hive.getDword(viostor, "Start"),
          imagePath: await hive.getString(viostor, "ImagePath"),
          list: (await hive.getRaw(test, "List"))?.data.toString("hex"),
        };
      });
      assert.deepEqual(read, {
        start: 0,
        imagePath: "system32\\drivers\\viostor.sys",
        // "a", "b", then the empty string that ends a REG_MULTI_SZ, in UTF-16LE.
        list: "61000000620000000000",
      });
      // The committed file is a hive the host's hivex reads as well.
      const host = path.join(directory, "SYSTEM.after");
      await guest().download(HIVE, host);
      const imagePath = await execa("hivexget", [
        host,
        "ControlSet001\\Services\\viostor",
        "ImagePath",
      ]);
      assert.equal(String(imagePath.stdout), "system32\\drivers\\viostor.sys");

      const before = await hiveBytes(HIVE);
      await withHiveWrite(guest(), HIVE, async (hive) => {
        assert.ok((await hive.getNode(["ControlSet001", "Services"])) !== null);
      });
      assert.deepEqual(await hiveBytes(HIVE), before, "nothing changed, nothing written");
    });

    it("a damaged hive is a user error naming it, for reading and for writing", async () => {
      const damagedError = (err: unknown) =>
        err instanceof UserError &&
        err.message.startsWith(`the Windows registry hive ${DAMAGED} in the guest is damaged`);
      await assert.rejects(
        withHiveReadonly(guest(), DAMAGED, () => Promise.resolve()),
        damagedError,
      );
      const before = await hiveBytes(DAMAGED);
      await assert.rejects(
        withHiveWrite(guest(), DAMAGED, () => Promise.resolve()),
        damagedError,
      );
      assert.deepEqual(await hiveBytes(DAMAGED), before);
    });

    it("the clock: local time unless RealTimeIsUniversal is 1 (DWORD or QWORD)", async () => {
      const warnings: string[] = [];
      const clock = () =>
        withHiveReadonly(guest(), HIVE, (hive) =>
          realTimeIsUniversal(hive, "ControlSet001", (text) => warnings.push(text)),
        );
      const setClock = (type: number, data: Buffer) =>
        withHiveWrite(guest(), HIVE, async (hive) => {
          const node = await hive.createPath(["ControlSet001", "Control", "TimeZoneInformation"]);
          await hive.setRaw(node, "RealTimeIsUniversal", type, data);
        });
      assert.equal(await clock(), false, "no RealTimeIsUniversal: local time");
      await setClock(HiveType.DWORD, Buffer.from([1, 0, 0, 0]));
      assert.equal(await clock(), true);
      await setClock(HiveType.DWORD, Buffer.from([0, 0, 0, 0]));
      assert.equal(await clock(), false);
      await setClock(HiveType.QWORD, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
      assert.equal(await clock(), true);
      assert.deepEqual(warnings, []);
      await setClock(HiveType.SZ, Buffer.from("1\0", "utf16le"));
      assert.equal(await clock(), true, "an unknown type is taken as UTC, with a warning");
      assert.match(warnings.join("\n"), /RealTimeIsUniversal type 0x1, assuming RTC set to UTC/);
    });

    it("guest paths follow the guest's spelling of what exists", async () => {
      assert.equal(
        await guestSpelling(guest(), "/windows/system32/drivers/viostor.sys"),
        "/Windows/System32/drivers/viostor.sys",
      );
      assert.equal(await guestSpelling(guest(), "/WINDOWS/system32/config/system"), HIVE);
    });
  },
);
