/**
 * What every input helper does with each source disk once its mode has chosen how to read it:
 * start the server (an overlay, from the mode's ServerSpec) on WORKDIR/inN, and ask the endpoint
 * its size. The served size is what the copy will copy, whatever the image's header said
 * (qemu-img rounds a raw file up to whole sectors; nbdkit serves its exact length).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { NbdConnection } from "@split-v2v/libnbd";
import { onCleanup } from "./lifetime.js";
import { startServer, type ServerSpec } from "./servers.js";
import { inputSocket, serverTmpDir } from "./workdir.js";

export interface ServedInputDisk {
  /** The socket's name in the work dir ("in0", "in1" …), as metadata.in records it. */
  socket: string;
  /** Bytes the endpoint serves. */
  virtualSize: number;
}

export async function serveInputDisk(
  workdir: string,
  index: number,
  spec: ServerSpec,
  options: { verbose: boolean; log: (line: string) => void },
): Promise<ServedInputDisk> {
  const tmpDir = serverTmpDir(workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const socket = inputSocket(workdir, index);
  const server = await startServer(spec, {
    socket,
    pidfile: path.join(tmpDir, `in${index}.pid`),
    tmpDir,
    verbose: options.verbose,
    log: options.log,
  });
  onCleanup(`server for in${index}`, () => server.stop());
  const connection = await NbdConnection.connectUnix(socket);
  try {
    return { socket: path.basename(socket), virtualSize: Number(connection.size) };
  } finally {
    connection.close();
  }
}

/** The words the C library gives an errno code, for the one-line errors about input files. */
export function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EACCES") return "Permission denied";
  if (code === "EISDIR") return "Is a directory";
  return code ?? String(err);
}
