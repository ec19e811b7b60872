/**
 * -o libvirt: the converted guest as a domain defined through libvirt (-oc, default: libvirt's
 * default connection), its disks volumes of a directory storage pool (-os, default "default"),
 * as virt-v2v 2.2's output_libvirt does:
 *
 *   POOLDIR/NAME-sda, NAME-sdb, …   the disks, written into the pool's target directory
 *   domain NAME                     defined with its disks as <source pool=… volume=…/>
 *
 *   precheck  the options, the connection, the hypervisor's capabilities, no domain called NAME
 *             yet, the pool (a directory pool whose target is a local directory), -of; all
 *             before the conversion (2.2 checks them after it)
 *   setup     creates the disks in the pool's directory and serves them on WORKDIR/out0…;
 *             stopped before WORKDIR/done exists, it removes them, undefines the domain if
 *             final defined it, and refreshes the pool
 *   final     refreshes the pool, then defines the domain (the libvirt XML of -o local, with
 *             the target's features read from its capabilities), and notes its UUID in
 *             WORKDIR/output-state.json for setup's cleanup
 */
import { access, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import {
  UserError,
  XmlDocument,
  driveName,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  outputStatePath,
  runSucceeded,
  serveTargetDisk,
  type OutputRequest,
} from "@split-v2v/common";
import { LibvirtConnection, LibvirtError, findPool } from "@split-v2v/libvirt";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createLibvirtXml, findUefiFirmware } from "@split-v2v/target-formats";
import {
  checkOutputLibvirtFormat,
  checkOutputLibvirtOptions,
  type LibvirtRequestOptions,
} from "./mode.js";

export type { LibvirtRequestOptions } from "./mode.js";

export interface StageContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
  warn: (text: string) => void;
}

export interface CheckedLibvirt extends Omit<LibvirtRequestOptions, "format"> {
  format: "raw" | "qcow2";
  /** The pool's own name, which the domain XML must use (-os may be its UUID). */
  poolName: string;
  /** The pool's /pool/target/path: where the disks are written. */
  poolDirectory: string;
}

/** Opens -oc (null: libvirt's default URI), its failure in one line. */
export function openOutputConnection(uri: string | undefined): LibvirtConnection {
  try {
    return LibvirtConnection.open(uri ?? null);
  } catch (err: unknown) {
    if (err instanceof LibvirtError) {
      throw new UserError(
        `cannot open the libvirt connection ${uri === undefined ? "(default)" : `‘${uri}’`}: ${err.message}`,
      );
    }
    throw err;
  }
}

/** A libvirt call whose failure 2.2 does not word: libvirt's own message, as a UserError. */
function libvirtCall<T>(call: () => T): T {
  try {
    return call();
  } catch (err: unknown) {
    if (err instanceof LibvirtError) throw new UserError(`libvirt: ${err.message}`);
    throw err;
  }
}

/** virConnectGetCapabilities in 2.2's words, checked to be well-formed XML. */
async function hypervisorCapabilities(connection: LibvirtConnection): Promise<XmlDocument> {
  let xml: string;
  try {
    xml = connection.capabilities();
  } catch (err: unknown) {
    if (err instanceof LibvirtError)
      throw new UserError(`cannot get libvirt hypervisor capabilities: ${err.message}`);
    throw err;
  }
  return XmlDocument.parse(xml, "the libvirt capabilities XML");
}

/**
 * The features the target offers a KVM guest of `arch`: the element names under `<features>`
 * of the first `<guest>` of the capabilities with that arch and a kvm domain. None there: a
 * warning and no features (old virt-v2v refused, after the conversion).
 */
export async function targetFeaturesOfCapabilities(
  capabilities: XmlDocument,
  arch: string,
  warn: (text: string) => void,
): Promise<string[]> {
  // The arch comes from the guest (untrusted) and goes into an XPath expression.
  if (!/^[-_a-z0-9]+$/i.test(arch)) throw new Error(`unexpected guest architecture: ${arch}`);
  const guests = `/capabilities/guest[arch[@name='${arch}']/domain/@type='kvm']`;
  if ((await capabilities.count(guests)) < 1) {
    warn(`the target hypervisor does not support a ${arch} KVM guest`);
    return [];
  }
  return capabilities.localNamesOfEach(`(${guests})[1]/features/*`);
}

/** The guest's name on the target: -on, else the source's (null before metadata.in exists). */
async function outputNameOf(
  options: LibvirtRequestOptions,
  workdir: string,
): Promise<string | null> {
  if (options.name !== undefined) return options.name;
  try {
    await access(metadataInPath(workdir));
  } catch {
    return null;
  }
  return (await readMetadata("metadata.in", metadataInPath(workdir))).source.name;
}

function refuseExistingDomain(connection: LibvirtConnection, name: string): void {
  if (!libvirtCall(() => connection.domainExists(name))) return;
  // RHBZ#889082, in 2.2's words.
  throw new UserError(
    `a libvirt domain called ‘${name}’ already exists on the target.\n\n` +
      "If using virt-v2v directly, use the ‘-on’ option to select a different name. Or delete the existing domain on the target using the ‘virsh undefine’ command.\n\n" +
      "If using virt-p2v, select a different ‘Name’ in the ‘Target properties’. Or delete the existing domain on the target using the ‘virsh undefine’ command.",
  );
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}

/** The pool's name and directory; only a directory pool with a local target will do. */
async function outputPool(
  connection: LibvirtConnection,
  requested: string,
): Promise<{ poolName: string; poolDirectory: string }> {
  const pool = findPool(connection, requested);
  let xml: string;
  let poolName: string;
  try {
    xml = libvirtCall(() => pool.xml());
    poolName = pool.name;
  } finally {
    pool.free();
  }
  const document = await XmlDocument.parse(xml, `the XML of libvirt pool ‘${requested}’`);
  const answers = await document.ask({
    type: "/pool/@type",
    path: "/pool/target/path/text()",
  });
  if (answers.type.count === 0 || answers.type.text !== "dir") {
    throw new UserError(
      `-o libvirt: output pool ‘${requested}’ is not a directory (type='dir').  See virt-v2v-output-local(1)`,
    );
  }
  if (answers.path.count === 0) {
    throw new UserError(
      `-o libvirt: output pool ‘${requested}’ does not have /pool/target/path element.  See virt-v2v-output-local(1)`,
    );
  }
  if (!(await isDirectory(answers.path.text))) {
    throw new UserError(
      `-o libvirt: output pool ‘${requested}’ has type='dir' but the /pool/target/path element is not a local directory.  See virt-v2v-output-local(1)`,
    );
  }
  return { poolName, poolDirectory: answers.path.text };
}

/**
 * Everything 2.2 checks, in its order and words, before the conversion: the options, the
 * connection and its capabilities, that no domain has the guest's name (except at `final`,
 * where the domain is about to be defined), the pool, then -oo compressed and -of.
 */
export async function precheckOutputLibvirt(
  request: OutputRequest,
  context: { workdir: string; stage: "precheck" | "setup" | "final" },
): Promise<CheckedLibvirt> {
  const options = checkOutputLibvirtOptions(request);
  const connection = openOutputConnection(options.connection);
  let pool: { poolName: string; poolDirectory: string };
  try {
    await hypervisorCapabilities(connection);
    if (context.stage !== "final") {
      const name = await outputNameOf(options, context.workdir);
      if (name !== null) refuseExistingDomain(connection, name);
    }
    pool = await outputPool(connection, options.pool);
  } finally {
    connection.close();
  }
  const format = checkOutputLibvirtFormat(options);
  return { ...options, format, ...pool };
}

/** The volume (file) name of target disk `diskId`: NAME-sdX. */
export function volumeName(name: string, diskId: number): string {
  return `${name}-sd${driveName(diskId)}`;
}

function guestName(checked: CheckedLibvirt, source: MetadataIn["source"]): string {
  return checked.name ?? source.name;
}

/**
 * libvirt learns of files written into a directory pool only when the pool is refreshed. When
 * libvirt refuses, its message is returned: the caller decides whether that is worth a warning.
 */
function refreshPool(
  connection: LibvirtConnection,
  requested: string,
): { refreshed: true } | { refreshed: false; message: string } {
  try {
    const pool = connection.lookupPool(requested);
    try {
      pool.refresh();
    } finally {
      pool.free();
    }
    return { refreshed: true };
  } catch (err: unknown) {
    if (err instanceof LibvirtError) return { refreshed: false, message: err.message };
    throw err;
  }
}

/** What final leaves for setup's cleanup: the domain it defined. */
interface OutputState {
  domainUuid: string;
}

async function definedDomainUuid(workdir: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(outputStatePath(workdir), "utf8");
  } catch {
    return null;
  }
  const state = JSON.parse(text) as Partial<OutputState>;
  return typeof state.domainUuid === "string" ? state.domainUuid : null;
}

/**
 * The cleanup of a run that did not finish, once its disks are removed: the domain final
 * defined (if it did) is undefined, and the pool is refreshed so that libvirt forgets the
 * removed volumes. Failures are only logged: the disks are gone either way.
 */
async function forgetUnfinishedRun(checked: CheckedLibvirt, context: StageContext): Promise<void> {
  const domainUuid = await definedDomainUuid(context.workdir);
  let connection: LibvirtConnection;
  try {
    connection = LibvirtConnection.open(checked.connection ?? null);
  } catch (err: unknown) {
    context.log(`could not connect to libvirt to clean up: ${String(err)}`);
    return;
  }
  try {
    if (domainUuid !== null) {
      try {
        const domain = connection.lookupDomainByUuid(domainUuid);
        try {
          context.log(`run did not finish: undefining libvirt domain ${domain.name}`);
          domain.undefine({ nvram: true });
        } finally {
          domain.free();
        }
      } catch (err: unknown) {
        if (!(err instanceof LibvirtError)) throw err;
        context.log(`could not undefine libvirt domain ${domainUuid}: ${err.message}`);
      }
    }
    const result = refreshPool(connection, checked.pool);
    if (!result.refreshed) context.log(`could not refresh pool ${checked.pool}: ${result.message}`);
  } finally {
    connection.close();
  }
}

/** Creates the disks in the pool's directory and serves them; returns the socket names. */
export async function setUpOutputLibvirt(
  checked: CheckedLibvirt,
  context: StageContext,
): Promise<string[]> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  // A UEFI guest cannot be defined without firmware: say so before creating anything (2.2
  // finds out after the copy).
  if (metadataOut.target.firmware === "uefi") await findUefiFirmware(metadataOut.guestcaps.arch);
  const name = guestName(checked, metadataIn.source);
  // Registered before the disks, so it runs after their removal.
  onCleanup(`libvirt domain ${name} and pool ${checked.pool}`, async () => {
    if (!(await runSucceeded(context.workdir))) await forgetUnfinishedRun(checked, context);
  });
  const sockets: string[] = [];
  for (const disk of metadataIn.source.disks) {
    sockets.push(
      await serveTargetDisk(
        disk.id,
        {
          file: path.join(checked.poolDirectory, volumeName(name, disk.id)),
          format: checked.format,
          allocation: checked.allocation,
          size: disk.virtualSize,
          compressed: checked.compressed,
        },
        context,
      ),
    );
  }
  return sockets;
}

/** What final did: the domain's name, and where its XML was left when libvirt refused it. */
export interface DefinedDomain {
  name: string;
  defined: boolean;
  /** The XML's file when the domain could not be defined (the user can define it later). */
  xmlFile: string | null;
}

/** Refreshes the pool, then defines the domain. */
export async function finalizeOutputLibvirt(
  checked: CheckedLibvirt,
  context: StageContext,
): Promise<DefinedDomain> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const name = guestName(checked, metadataIn.source);
  const uefi =
    metadataOut.target.firmware === "uefi"
      ? await findUefiFirmware(metadataOut.guestcaps.arch)
      : null;
  const connection = openOutputConnection(checked.connection);
  try {
    // The disks were written straight into the pool's directory; libvirt must be told.
    const refresh = refreshPool(connection, checked.pool);
    if (!refresh.refreshed)
      context.warn(`could not refresh libvirt pool ‘${checked.pool}’: ${refresh.message}`);
    const capabilities = await hypervisorCapabilities(connection);
    const xml = createLibvirtXml({
      source: metadataIn.source,
      converted: metadataOut,
      outputName: name,
      outputFormat: checked.format,
      // The pool's name, not the UUID -os may have given.
      diskSource: (diskId) => ({ pool: checked.poolName, volume: volumeName(name, diskId) }),
      targetFeatures: await targetFeaturesOfCapabilities(
        capabilities,
        metadataOut.guestcaps.arch,
        context.warn,
      ),
      uefi,
      warn: context.warn,
    });
    context.log(`resulting XML for libvirt:\n${xml}`);
    try {
      const domain = connection.defineDomain(xml);
      try {
        const state: OutputState = { domainUuid: domain.uuid };
        await writeFile(outputStatePath(context.workdir), JSON.stringify(state));
      } finally {
        domain.free();
      }
      return { name, defined: true, xmlFile: null };
    } catch (err: unknown) {
      if (!(err instanceof LibvirtError)) throw err;
      // As 2.2: the run still succeeds (the disks are there), and the XML is kept for the user.
      const file = await keepXml(xml);
      context.warn(
        `could not define libvirt domain: ${err.message}.\nThe libvirt XML is still available in ‘${file}’.  Try running ‘virsh -c ${connection.uri} define ${file}’ yourself instead.`,
      );
      return { name, defined: false, xmlFile: file };
    }
  } finally {
    connection.close();
  }
}

/** Writes the XML to a new $TMPDIR/v2vlibvirtXXXXXX.xml (2.2's temporary file) and names it. */
async function keepXml(xml: string): Promise<string> {
  for (;;) {
    const file = path.join(os.tmpdir(), `v2vlibvirt${randomBytes(3).toString("hex")}.xml`);
    try {
      await writeFile(file, xml, { flag: "wx", mode: 0o600 });
      return file;
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}
