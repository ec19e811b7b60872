/**
 * -o null: convert and copy, then throw the data away (virt-v2v's mode for testing a conversion
 * and measuring a copy). One nbdkit null server (size 7E, larger than any disk) on WORKDIR/out0;
 * out1… are hard links to the same socket, as in virt-v2v 2.2.
 */
import { link, mkdir } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  metadataInPath,
  onCleanup,
  outputSocket,
  serverTmpDir,
  startServer,
} from "@split-v2v/common";
import { readMetadata } from "@split-v2v/metadata-schema";
import { rm } from "node:fs/promises";

export interface OutputNullOptions {
  outputStorage: string | undefined;
  outputFormat: string | undefined;
  outputAllocation: string | undefined;
  outputConnection: string | undefined;
  outputPassword: string | undefined;
  outputOptions: string[];
}

/** -o null takes no output option at all (virt-v2v's exact messages). */
export function precheckOutputNull(options: OutputNullOptions): void {
  const given: Array<[string, unknown]> = [
    ["-oc", options.outputConnection],
    ["-of", options.outputFormat],
    ["-oa", options.outputAllocation],
    ["-op", options.outputPassword],
    ["-os", options.outputStorage],
  ];
  for (const [option, value] of given) {
    if (value !== undefined)
      throw new UserError(`-o null: ${option} option cannot be used in this output mode`);
  }
  if (options.outputOptions.length > 0) {
    throw new UserError(`-o null: unknown output option ‘-oo ${options.outputOptions[0]}’`);
  }
}

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
