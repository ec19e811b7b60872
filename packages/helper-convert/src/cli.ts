#!/usr/bin/env node
/**
 * helper-v2v-convert: convert the guest served on WORKDIR/in* (described by WORKDIR/metadata.in)
 * to run on KVM, writing only into the overlays, and describe the result in WORKDIR/metadata.out.
 * See ../README.md for the contract.
 */
import os from "node:os";
import path from "node:path";
import readline from "node:readline/promises";
import { HELPER_CONTRACT_VERSION, defineHelper } from "@split-v2v/common";
import { convertGuest } from "./convert.js";
import { parseRootChoice } from "./inspect.js";
import { parseNetworkMapping } from "./networks.js";
import { EMPTY_KEY_STORE, askOnTerminal, parseKeyStore } from "./luks.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return path.join(base, "split-v2v");
}

/** Asks on the terminal, as virt-v2v --root ask does, when there is one. */
async function askRootOnTerminal(roots: string[]): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    process.stderr.write(
      "Dual- or multi-boot operating system detected. Choose the root filesystem\nthat contains the main operating system:\n\n",
    );
    roots.forEach((root, i) => process.stderr.write(`[${i + 1}] ${root}\n`));
    for (;;) {
      const answer = Number(
        (await rl.question(`\nEnter a number between 1 and ${roots.length}, or 'exit': `)).trim(),
      );
      if (Number.isInteger(answer) && answer >= 1 && answer <= roots.length)
        return roots[answer - 1]!;
    }
  } finally {
    rl.close();
  }
}

defineHelper({
  program: "helper-v2v-convert",
  // --describe: what this helper does, as JSON, for supervisors that are not ours.
  facts: {
    contract: HELPER_CONTRACT_VERSION,
    kind: "convert",
    name: "convert",
    program: "helper-v2v-convert",
    summary:
      "inspects the guest on WORKDIR/in0… and converts it to run on KVM, writing only into what it is served",
    usage:
      "helper-v2v-convert [--root ask|single|first|/dev/X] [--network in:out] [--bridge in:out] [--mac MAC:network|bridge|ip:…] [--keys-from-stdin] [--remove-serial-console] WORKDIR",
    reads: ["metadata.in", "in0…"],
    writes: ["metadata.out"],
    capabilities: ["convert:linux", "convert:windows"],
  },
  synopsis: "[options] WORKDIR",
  help: "Converts the guest on WORKDIR/in0… (see WORKDIR/metadata.in) and writes WORKDIR/metadata.out.",
  options: {
    root: {
      type: "string",
      describe: "ask | single | first | /dev/DEVICE: which root to convert in a multi-boot guest",
    },
    network: {
      alias: "n",
      type: "string",
      array: true,
      default: [] as string[],
      describe: "Map network IN to OUT (IN:OUT, or OUT for all)",
    },
    bridge: {
      alias: "b",
      type: "string",
      array: true,
      default: [] as string[],
      describe: "Map bridge IN to OUT (IN:OUT, or OUT for all)",
    },
    mac: {
      type: "string",
      array: true,
      default: [] as string[],
      describe: "MAC:network|bridge:OUT",
    },
    "keys-from-stdin": {
      type: "boolean",
      default: false,
      describe:
        'Read the keys of encrypted devices from stdin: {"keys":[{"id":DEVICE|UUID|"all","key":…}],"passphrases":[…]}',
    },
    "echo-keys": {
      type: "boolean",
      default: false,
      describe: "Show the passphrases typed at the terminal prompt",
    },
    "remove-serial-console": {
      type: "boolean",
      default: false,
      describe:
        "For a target without a serial port (-o rhv, -o vdsm): remove the guest's serial console instead of keeping it",
    },
    "cache-dir": { type: "string", describe: "Where to cache the KVM/TCG verdict" },
    trace: {
      alias: "x",
      type: "boolean",
      default: false,
      describe: "libguestfs API trace",
    },
  },
  verboseHelp: "Debug messages, libguestfs debug",
  positionals: { min: 1, max: 1, missing: "WORKDIR is required", tooMany: "only one WORKDIR" },
  async main({ options: argv, positionals: [workdir] }, helper) {
    // Read before anything starts: a bad document fails at once.
    const keys = argv["keys-from-stdin"] ? parseKeyStore(await readStdin()) : EMPTY_KEY_STORE;
    await convertGuest(
      {
        workdir: workdir!,
        root: parseRootChoice(argv.root),
        networks: parseNetworkMapping(argv.network, argv.bridge, argv.mac),
        cacheDir: argv["cache-dir"] ?? defaultCacheDir(),
        verbose: argv.verbose,
        trace: argv.trace,
        askRoot: process.stdin.isTTY ? askRootOnTerminal : null,
        keepSerialConsole: !argv["remove-serial-console"],
        keys,
        // Only where the user is at a terminal (as the supervisor passes it on): a helper run
        // by a program must never wait on a prompt nobody sees.
        askKey: process.stdin.isTTY ? (device) => askOnTerminal(device, argv["echo-keys"]) : null,
      },
      {
        message: helper.message,
        info: helper.info,
        warning: helper.warning,
        log: (line) => helper.log.debug(line),
      },
    );
  },
});
