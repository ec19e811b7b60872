// npm start: the main job on an embedded default. Builds a small sample Linux guest once (cached),
// then converts it with this project's virt-v2v to -o local, and says where the result is.
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { linuxGuest, fixtureCacheDir } = await import(
  path.join(root, "test/dist/fixtures/guests.js")
);

console.log("Preparing the sample guest (built once, then cached)…");
const guest = await linuxGuest("plain");
const outputDir = path.join(path.dirname(fixtureCacheDir()), "demo");
await rm(outputDir, { recursive: true, force: true });
await mkdir(outputDir, { recursive: true });

const virtV2v = path.join(root, "packages/supervisor/dist/src/cli.js");
const args = ["-i", "disk", guest.path, "-o", "local", "-os", outputDir, "-on", "sample-guest"];
console.log(`\n$ virt-v2v ${args.join(" ")}`);
const run = spawnSync(process.execPath, [virtV2v, ...args], { stdio: "inherit" });
if (run.status !== 0) process.exit(run.status ?? 1);
console.log(`\nThe converted guest is in ${outputDir}:`);
console.log(`  ${path.join(outputDir, "sample-guest-sda")}   the disk (raw)`);
console.log(`  ${path.join(outputDir, "sample-guest.xml")}   its libvirt domain XML`);
console.log(`(define it with: virsh define ${path.join(outputDir, "sample-guest.xml")})`);
