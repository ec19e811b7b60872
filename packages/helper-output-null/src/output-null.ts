/**
 * -o null: convert and copy, then throw the data away (virt-v2v's mode for testing a conversion
 * and measuring a copy). One nbdkit null server (size 7E, larger than any disk) on WORKDIR/out0;
 * out1… are hard links to the same socket, as in virt-v2v 2.2.
 */
import { link, mkdir } from "node:fs/promises";
import path from "node:path";
import {
  metadataInPath,
  onCleanup,
  outputSocket,
  serverTmpDir,
  startServer,
} from "@split-v2v/common";
import { readMetadata } from "@split-v2v/metadata-schema";
import { rm } from "node:fs/promises";

export { precheckOutputNull, type OutputNullOptions } from "./mode.js";

export async function setUpOutputNull(context: {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
}): Promise<string[]> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const tmpDir = serverTmpDir(context.workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const first = outputSocket(context.workdir, 0);
  const server = await startServer(
    { kind: "nbdkit", plugin: "null", filters: [], params: [["size", "7E"]] },
    {
      socket: first,
      pidfile: path.join(tmpDir, "out0.pid"),
      tmpDir,
      verbose: context.verbose,
      log: context.log,
    },
  );
  onCleanup("null server", () => server.stop());
  const sockets = [path.basename(first)];
  for (const disk of metadataIn.source.disks.slice(1)) {
    const socket = outputSocket(context.workdir, disk.id);
    await link(first, socket);
    onCleanup(`link ${socket}`, () => rm(socket, { force: true }));
    sockets.push(path.basename(socket));
  }
  return sockets;
}
