/**
 * The copy: nbdcopy from each inN to outN, several disks at once (bounded), with its
 * machine-readable progress (--progress=FD, lines "N/100") turned into bars or JSON lines.
 */
import readline from "node:readline";
import type { Readable } from "node:stream";
import { execa } from "execa";
import {
  createFileLogger,
  closeLogger,
  inputSocket,
  nbdUnixUri,
  outputSocket,
} from "@split-v2v/common";
import { NbdConnection } from "@split-v2v/libnbd";
import type { Reporter } from "./reporter.js";
import { StageFailure } from "./helpers.js";

export interface CopyPlan {
  workdir: string;
  diskIds: number[];
  parallel: number;
  preallocated: boolean;
  targetIsZero: boolean;
  /** The output's request size (its descriptor's requestSize), null for nbdcopy's default. */
  requestSize: number | null;
  logFile: string;
  reporter: Reporter;
  /** Tracks running copies so a signal can stop them. */
  onProcess: (stop: () => void) => () => void;
}

interface DiskProgress {
  label: string;
  percent: number;
}

/** nbdcopy's default request size (nbdcopy 1.10 and later). */
const NBDCOPY_REQUEST_SIZE = 256 * 1024;

/**
 * nbdcopy's request options, as virt-v2v chooses them: the output's request size if it has one,
 * and as many requests in flight as fill a 64 MiB buffer, at most 64.
 */
export function requestArguments(requestSize: number | null): string[] {
  const size = requestSize ?? NBDCOPY_REQUEST_SIZE;
  const requests = Math.max(1, Math.min(64, Math.floor((64 * 1024 * 1024) / size)));
  return [...(requestSize === null ? [] : [`--request-size=${size}`]), `--requests=${requests}`];
}

export async function copyDisks(plan: CopyPlan): Promise<{ bytesAllocated: bigint }> {
  const logger = createFileLogger(plan.logFile);
  const bars: DiskProgress[] = [];
  let bytesAllocated = 0n;
  const total = plan.diskIds.length;
  const redraw = () => plan.reporter.drawProgress(bars);

  const copyOne = async (position: number, diskId: number): Promise<void> => {
    const source = inputSocket(plan.workdir, diskId);
    const target = outputSocket(plan.workdir, diskId);
    // Check both ends before the long copy: a target smaller than the source would fail late.
    const input = await NbdConnection.connectUnix(source);
    const output = await NbdConnection.connectUnix(target);
    try {
      if (output.size < input.size) {
        throw new StageFailure(
          "copy",
          `target disk out${diskId} (${output.size} bytes) is smaller than the source (${input.size} bytes)`,
          true,
        );
      }
      const allocation = await input.allocation();
      bytesAllocated += allocation.allocatedBytes;
      logger.info(
        `disk ${diskId}: ${input.size} bytes, ${allocation.allocatedBytes} allocated after conversion and trim`,
      );
    } finally {
      input.close();
      output.close();
    }

    plan.reporter.message(`Copying disk ${position}/${total}`);
    const bar: DiskProgress = { label: `disk ${position}/${total}`, percent: 0 };
    bars.push(bar);
    redraw();
    const args = [
      nbdUnixUri(source),
      nbdUnixUri(target),
      ...requestArguments(plan.requestSize),
      "--flush",
      "--progress=3",
    ];
    if (plan.preallocated) args.push("--allocated");
    if (plan.targetIsZero && !plan.preallocated) args.push("--target-is-zero");
    logger.info(`running: nbdcopy ${args.join(" ")}`);
    const child = execa("setpriv", ["--pdeathsig", "TERM", "--", "nbdcopy", ...args], {
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      reject: false,
      buffer: false,
      env: { LANG: "C" },
    });
    const untrack = plan.onProcess(() => child.kill("SIGTERM"));
    const lines: string[] = [];
    const log = (line: string) => {
      logger.info(`nbdcopy: ${line}`);
      lines.push(line);
    };
    readline.createInterface({ input: child.stdout! }).on("line", log);
    readline.createInterface({ input: child.stderr! }).on("line", log);
    readline.createInterface({ input: child.stdio[3] as Readable }).on("line", (line) => {
      const match = /^(\d+)\/100$/.exec(line.trim());
      if (!match) return;
      const percent = Number(match[1]);
      if (percent === bar.percent) return;
      bar.percent = percent;
      plan.reporter.progress(position, total, percent);
      redraw();
    });
    const result = await child;
    untrack();
    if (result.exitCode !== 0) {
      throw new StageFailure(
        "copy",
        `nbdcopy command failed, see earlier error messages${lines.length ? `: ${lines[lines.length - 1]}` : ""}`,
        true,
      );
    }
    bar.percent = 100;
    redraw();
  };

  try {
    // A small pool: at most `parallel` copies at once, disks started in order.
    let next = 0;
    const worker = async () => {
      while (next < plan.diskIds.length) {
        const position = next++;
        await copyOne(position + 1, plan.diskIds[position]!);
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(plan.parallel, plan.diskIds.length)) }, worker),
    );
    plan.reporter.keepProgress();
  } finally {
    plan.reporter.clearProgress();
    await closeLogger(logger);
  }
  return { bytesAllocated };
}
