/**
 * A libvirt domain XML document read as virt-v2v 2.2 reads it (input/parse_libvirt_xml.ml):
 * the same XPath expressions, defaults, warnings and errors, through libxml2 (xmllint). What it
 * gives is the source guest (for metadata.in) and each non-removable disk, with where its data
 * is; how to serve a disk is disk-plan.ts's.
 *
 * Differences from 2.2, each where 2.2 would go on with a value metadata.in cannot hold, or
 * would crash: a memory, vCPU count or topology that is not positive is a UserError; an `srN`
 * slot that is negative is warned about and dropped like any unparseable name; a MAC address
 * that is not one is dropped with a warning; an http(s) port below 1 is a UserError (2.2 raises
 * Invalid_argument). Secure boot, which 2.2 does not read, is read as newer virt-v2v does.
 */
import {
  UserError,
  XmlDocument,
  elIn,
  parseOcamlInteger,
  type SourceFacts,
  type XPathAnswer,
} from "@split-v2v/common";
import type {
  SourceController,
  SourceGuest,
  SourceNic,
  SourceRemovable,
} from "@split-v2v/metadata-schema";
import { driveIndex, uriQuote } from "./names.js";

/** Where a disk's data is (virt-v2v's disk_type). */
export type DomainDiskSource =
  | { kind: "block"; path: string }
  | { kind: "file"; path: string }
  | { kind: "nbd"; host: string; port: number }
  | { kind: "http"; url: string };

/** A non-removable disk of the domain. */
export interface DomainDisk {
  /** `<driver type=…>` (`aio` read as raw), or the volume's own format; null: unknown. */
  format: string | null;
  /** From `<target bus=…>`; null when absent or not one virt-v2v knows. */
  controller: SourceController | null;
  source: DomainDiskSource;
}

export interface ParsedDomain {
  /** The source guest, every field of metadata.in's source but its disks. */
  source: Partial<SourceFacts> & { name: string };
  /** Non-removable disks, in XML order (their ids are 0, 1, …). */
  disks: DomainDisk[];
  /**
   * `<vmware:moref>` and `<vmware:datacenterpath>` (namespace
   * http://libvirt.org/schemas/domain/vmware/1.0), which libvirt's ESX driver writes and the
   * vCenter modes need; null when absent.
   */
  vmware: { moref: string | null; datacenterPath: string | null };
}

/** Reads a storage volume's XML (for <disk type='volume'>); null: no libvirt connection is available. */
export type VolumeXmlReader = (pool: string, volume: string) => Promise<string>;

export interface ParseDomainOptions {
  /** Names the document in messages: "-i libvirtxml: guest.xml". */
  label: string;
  readVolumeXml: VolumeXmlReader | null;
  /** virt-v2v's warnings, for the user. */
  warn: (text: string) => void;
}

const VMWARE_NAMESPACE = "http://libvirt.org/schemas/domain/vmware/1.0";
const GRAPHICS = "(/domain/devices/graphics)[1]";
const SOUND = "(/domain/devices/sound)[1]";

/** The questions about the domain as a whole, asked in one xmllint run. */
const DOMAIN_QUESTIONS = {
  type: "/domain/@type",
  name: "/domain/name/text()",
  genid: "/domain/genid/text()",
  memory: "/domain/memory/text()",
  cpuVendor: "/domain/cpu/vendor/text()",
  cpuModel: "/domain/cpu/model/text()",
  sockets: "/domain/cpu/topology/@sockets",
  cores: "/domain/cpu/topology/@cores",
  threads: "/domain/cpu/topology/@threads",
  vcpu: "/domain/vcpu/text()",
  graphics: GRAPHICS,
  graphicsType: `${GRAPHICS}/@type`,
  keymap: `${GRAPHICS}/@keymap`,
  password: `${GRAPHICS}/@passwd`,
  listenAttribute: `${GRAPHICS}/@listen`,
  listen: `${GRAPHICS}/listen`,
  listenType: `${GRAPHICS}/listen[1]/@type`,
  listenAddress: `${GRAPHICS}/listen[1]/@address`,
  listenNetwork: `${GRAPHICS}/listen[1]/@network`,
  listenSocket: `${GRAPHICS}/listen[1]/@socket`,
  autoport: `${GRAPHICS}/@autoport`,
  port: `${GRAPHICS}/@port`,
  sound: SOUND,
  soundModel: `${SOUND}/@model`,
  virtioScsi: "/domain/devices/controller[@model='virtio-scsi']",
  osFirmware: "/domain/os/@firmware",
  loaderType: "/domain/os/loader/@type",
  loaderSecure: "/domain/os/loader/@secure",
  secureBootFeature: "/domain/os/firmware/feature[@name='secure-boot']/@enabled",
  hostdevs: "/domain/devices/hostdev",
  directInterfaces: "/domain/devices/interface[@type='direct']",
  moref: `/domain/${elIn(VMWARE_NAMESPACE, "moref")}`,
  datacenterPath: `/domain/${elIn(VMWARE_NAMESPACE, "datacenterpath")}`,
} as const;

const DISKS = "/domain/devices/disk[@device='disk']";
const REMOVABLES = "/domain/devices/disk[@device='cdrom' or @device='floppy']";
const INTERFACES = "/domain/devices/interface";

/** virt-v2v's xpath_string: the first node's string value, or null when nothing matches. */
function text(answer: XPathAnswer): string | null {
  return answer.count > 0 ? answer.text : null;
}

/**
 * virt-v2v's xpath_int / xpath_int64: null when nothing matches, the number as OCaml reads it,
 * or 2.2's error naming the expression (as 2.2 writes it) and the text.
 */
function integer(answer: XPathAnswer, expression: string, bits: 63 | 64 = 63): bigint | null {
  const value = text(answer);
  if (value === null) return null;
  const parsed = parseOcamlInteger(value, bits);
  if (parsed === null) {
    throw new UserError(
      `expecting XML expression to return an integer (expression: ${expression}, matching string: ${value})`,
    );
  }
  return parsed;
}

function positive(value: bigint, what: string): number {
  const result = Number(value);
  if (!Number.isSafeInteger(result) || result < 1) {
    throw new UserError(
      `in the libvirt XML metadata, ${what} is ${value}: it must be a positive number`,
    );
  }
  return result;
}

/** `<target bus=…>` as virt-v2v's controller (SCSI is virtio-scsi when such a controller exists). */
function controllerOf(bus: string | null, hasVirtioScsi: boolean): SourceController | null {
  switch (bus) {
    case "ide":
      return "ide";
    case "sata":
      return "sata";
    case "scsi":
      return hasVirtioScsi ? "virtio-scsi" : "scsi";
    case "virtio":
      return "virtio-blk";
    default:
      return null;
  }
}

type Answers<K extends string> = Record<K, XPathAnswer>;

function readDisplay(
  answers: Answers<keyof typeof DOMAIN_QUESTIONS>,
  warn: (text: string) => void,
): SourceGuest["display"] {
  if (answers.graphics.count < 1) return null;
  // Only the first <graphics> counts, and its first <listen>.
  let listen: NonNullable<SourceGuest["display"]>["listen"] = { kind: "none", value: null };
  if (answers.listen.count < 1) {
    const address = text(answers.listenAttribute);
    if (address !== null) listen = { kind: "address", value: address };
  } else {
    const type = text(answers.listenType);
    const address = text(answers.listenAddress);
    const network = text(answers.listenNetwork);
    if (type === "address") {
      if (address !== null) listen = { kind: "address", value: address };
    } else if (type === "network") {
      if (network !== null) listen = { kind: "network", value: network };
    } else if (type === "socket") {
      listen = { kind: "socket", value: text(answers.listenSocket) };
    } else if (type === "none") {
      listen = { kind: "private-fd", value: null };
    } else if (type !== null) {
      warn(`<listen type='${type}'> in the input libvirt XML was ignored`);
    }
  }
  let port: number | null = null;
  if (text(answers.autoport) === "no") {
    const value = integer(answers.port, "@port");
    if (value !== null && value > 0n && value <= BigInt(Number.MAX_SAFE_INTEGER))
      port = Number(value);
  }
  const type = text(answers.graphicsType);
  if (type === null) return null;
  if (type === "vnc" || type === "spice") {
    return {
      type,
      keymap: text(answers.keymap),
      password: text(answers.password),
      listen,
      port,
    };
  }
  if (type === "sdl" || type === "desktop") {
    warn(
      `virt-v2v does not support local displays, so <graphics type='${type}'> in the input libvirt XML was ignored`,
    );
  } else {
    warn(`display <graphics type='${type}'> in the input libvirt XML was ignored`);
  }
  return null;
}

const SOUND_MODELS = ["ac97", "es1370", "ich6", "ich9", "pcspk", "sb16", "usb"] as const;

function readSound(
  answers: Answers<keyof typeof DOMAIN_QUESTIONS>,
  warn: (text: string) => void,
): SourceGuest["sound"] {
  if (answers.sound.count < 1) return null;
  const model = text(answers.soundModel);
  if (model === null) return null;
  const known = SOUND_MODELS.find((candidate) => candidate === model);
  if (known === undefined) {
    warn(`unknown sound model ${model} ignored`);
    return null;
  }
  return known;
}

/** virt-v2v's own words for a link whose port is the scheme's default. */
function httpUrl(protocol: "http" | "https", host: string, port: bigint | null, path: string) {
  let portText = "";
  if (
    port !== null &&
    !(protocol === "https" && port === 443n) &&
    !(protocol === "http" && port === 80n)
  ) {
    if (port < 1n) throw new UserError("invalid port number in libvirt XML");
    portText = `:${port}`;
  }
  return `${protocol}://${host}${portText}${uriQuote(path)}`;
}

async function readVolume(
  pool: string,
  volume: string,
  options: ParseDomainOptions,
): Promise<{ format: string | null; source: DomainDiskSource | null }> {
  if (options.readVolumeXml === null) {
    throw new UserError(
      `${options.label}: <disk type='volume'> (volume ‘${volume}’ in pool ‘${pool}’) needs a libvirt connection to find the volume; use -i libvirt`,
    );
  }
  const document = await XmlDocument.parse(
    await options.readVolumeXml(pool, volume),
    `the XML of volume ‘${volume}’ in pool ‘${pool}’`,
  );
  const answers = await document.ask({
    format: "/volume/target/format/@type",
    type: "/volume/@type",
    path: "/volume/target/path/text()",
  });
  // The volume's own format wins over the disk's <driver type>.
  const format = text(answers.format);
  const type = text(answers.type);
  if (type === null || type === "file") {
    const path = text(answers.path);
    return { format, source: path === null ? null : { kind: "file", path } };
  }
  options.warn(`<disk type='volume'> with <volume type='${type}'> was ignored`);
  return { format, source: null };
}

async function readDisks(
  document: XmlDocument,
  hasVirtioScsi: boolean,
  options: ParseDomainOptions,
): Promise<DomainDisk[]> {
  const found = await document.askEach(DISKS, (disk) => ({
    bus: `${disk}/target/@bus`,
    driverType: `${disk}/driver/@type`,
    type: `${disk}/@type`,
    dev: `${disk}/source/@dev`,
    file: `${disk}/source/@file`,
    protocol: `${disk}/source/@protocol`,
    hostName: `${disk}/source/host/@name`,
    hostPort: `${disk}/source/host/@port`,
    name: `${disk}/source/@name`,
    pool: `${disk}/source/@pool`,
    volume: `${disk}/source/@volume`,
  }));
  if (found.length < 1) throw new UserError("this guest has no non-removable disks");
  const disks: DomainDisk[] = [];
  for (const answers of found) {
    const controller = controllerOf(text(answers.bus), hasVirtioScsi);
    const driverType = text(answers.driverType);
    // "aio" is what Xen writes for a raw file.
    const format = driverType === "aio" ? "raw" : driverType;
    const add = (source: DomainDiskSource, diskFormat = format) =>
      disks.push({ format: diskFormat, controller, source });
    const type = text(answers.type);
    if (type === null) {
      options.warn("<disk> element with no type attribute ignored");
    } else if (type === "block") {
      const path = text(answers.dev);
      if (path !== null) add({ kind: "block", path });
    } else if (type === "file") {
      const path = text(answers.file);
      if (path !== null) add({ kind: "file", path });
    } else if (type === "network") {
      const protocol = text(answers.protocol);
      const host = text(answers.hostName);
      const port = integer(answers.hostPort, "source/host/@port");
      if (protocol === null) {
        options.warn("<disk type='network'> was ignored");
      } else if (protocol === "nbd" && host === "localhost" && port !== null && port > 0n) {
        // What virt-p2v writes: its disks are served by an NBD server on this host.
        if (port > 65535n) throw new UserError("invalid port number in libvirt XML");
        add({ kind: "nbd", host, port: Number(port) });
      } else if ((protocol === "http" || protocol === "https") && host !== null) {
        // For testing curl (VMware conversions without VMware).
        add({ kind: "http", url: httpUrl(protocol, host, port, text(answers.name) ?? "") });
      } else {
        options.warn(`<disk type='network'> with <source protocol='${protocol}'> was ignored`);
      }
    } else if (type === "volume") {
      const pool = text(answers.pool);
      const volume = text(answers.volume);
      if (pool !== null && volume !== null) {
        const read = await readVolume(pool, volume, options);
        if (read.source !== null) add(read.source, read.format);
      }
    } else {
      options.warn(`<disk type='${type}'> was ignored`);
    }
  }
  return disks;
}

const DRIVE_PREFIXES = ["hd", "sd", "vd", "xvd", "fd"];

/** The slot of a CD-ROM or floppy from its `<target dev=…>`, with 2.2's warnings. */
function slotOf(dev: string | null, warn: (text: string) => void): number | null {
  if (dev === null) return null;
  const unparseable = () => {
    warn(`could not parse device name ‘${dev}’ from the source libvirt XML`);
    return null;
  };
  if (dev.startsWith("sr")) {
    // "srN": mostly in the physical-machine XML virt-p2v writes.
    const number = parseOcamlInteger(dev.slice(2), 63);
    if (number === null || number < 0n || number > BigInt(Number.MAX_SAFE_INTEGER))
      return unparseable();
    return Number(number);
  }
  const prefix = DRIVE_PREFIXES.find((candidate) => dev.startsWith(candidate));
  if (prefix === undefined) {
    warn(`<target dev='${dev}'> was ignored because the device name could not be recognized`);
    return null;
  }
  return driveIndex(dev.slice(prefix.length)) ?? unparseable();
}

async function readRemovables(
  document: XmlDocument,
  hasVirtioScsi: boolean,
  warn: (text: string) => void,
): Promise<SourceRemovable[]> {
  const found = await document.askEach(REMOVABLES, (disk) => ({
    bus: `${disk}/target/@bus`,
    dev: `${disk}/target/@dev`,
    device: `${disk}/@device`,
  }));
  return found.map((answers) => ({
    type: text(answers.device) === "floppy" ? "floppy" : "cdrom",
    controller: controllerOf(text(answers.bus), hasVirtioScsi),
    slot: slotOf(text(answers.dev), warn),
  }));
}

const MAC_ADDRESS = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

async function readNics(document: XmlDocument, warn: (text: string) => void): Promise<SourceNic[]> {
  const found = await document.askEach(INTERFACES, (nic) => ({
    mac: `${nic}/mac/@address`,
    model: `${nic}/model/@type`,
    type: `${nic}/@type`,
    // The first of the two in document order, as 2.2's union.
    network: `${nic}/source/@network | ${nic}/source/@bridge`,
  }));
  const nics: SourceNic[] = [];
  for (const [index, answers] of found.entries()) {
    const type = text(answers.type);
    if (type !== "network" && type !== "bridge") continue;
    const network = text(answers.network);
    if (network === null) continue;
    let mac = text(answers.mac);
    // VMware's way of saying "no MAC address".
    if (mac === "00:00:00:00:00:00") mac = null;
    if (mac !== null && !MAC_ADDRESS.test(mac)) {
      warn(`<mac address='${mac}'> in the input libvirt XML is not a MAC address and was ignored`);
      mac = null;
    }
    nics.push({
      mac,
      model: text(answers.model),
      // libvirt's VMware driver writes <source bridge=''/> (RHBZ#1257895): named by position.
      network: network === "" ? `eth${index}` : network,
      networkType: type,
    });
  }
  return nics;
}

function firmwareOf(answers: Answers<keyof typeof DOMAIN_QUESTIONS>): SourceGuest["firmware"] {
  // <os firmware=…> is libvirt's automatic firmware; a pflash <loader> its manual UEFI.
  const automatic = text(answers.osFirmware);
  if (automatic === "bios") return "bios";
  if (automatic === "efi") return "uefi";
  if (automatic !== null) return "unknown";
  return text(answers.loaderType) === "pflash" ? "uefi" : "unknown";
}

function warnIfAny(count: number, singular: string, plural: string, warn: (t: string) => void) {
  if (count > 0) warn(count === 1 ? singular : plural);
}

/** Reads a domain's XML as virt-v2v 2.2 does. */
export async function parseDomainXml(
  xml: string,
  options: ParseDomainOptions,
): Promise<ParsedDomain> {
  const { warn } = options;
  const document = await XmlDocument.parse(xml, options.label);
  const answers = await document.ask(DOMAIN_QUESTIONS);

  const hypervisor = text(answers.type);
  if (hypervisor === null || hypervisor === "") {
    throw new UserError("in the libvirt XML metadata, <domain type='...'> is missing or empty");
  }
  const name = text(answers.name);
  if (name === null || name === "") {
    throw new UserError("in the libvirt XML metadata, <name> is missing or empty");
  }
  const genid = text(answers.genid) || null;
  // KiB; 1 GiB when absent.
  const memoryKib = integer(answers.memory, "/domain/memory/text()", 64) ?? 1024n * 1024n;
  const memoryBytes = positive(BigInt.asIntN(64, memoryKib * 1024n), "<memory>");

  const sockets = integer(answers.sockets, "/domain/cpu/topology/@sockets");
  const cores = integer(answers.cores, "/domain/cpu/topology/@cores");
  const threads = integer(answers.threads, "/domain/cpu/topology/@threads");
  // <vcpu>, else what the topology adds up to (a missing part counts 1), else 1.
  const vcpu = integer(answers.vcpu, "/domain/vcpu/text()");
  const vcpus = positive(
    vcpu ??
      (sockets === null && cores === null && threads === null
        ? 1n
        : (sockets ?? 1n) * (cores ?? 1n) * (threads ?? 1n)),
    "the number of vCPUs",
  );
  const cpuTopology =
    sockets !== null && cores !== null && threads !== null
      ? {
          sockets: positive(sockets, "<topology sockets>"),
          cores: positive(cores, "<topology cores>"),
          threads: positive(threads, "<topology threads>"),
        }
      : null;

  const features = await document.localNamesOfEach("/domain/features/*");
  const display = readDisplay(answers, warn);
  const sound = readSound(answers, warn);
  const hasVirtioScsi = answers.virtioScsi.count > 0;
  const disks = await readDisks(document, hasVirtioScsi, options);
  const removables = await readRemovables(document, hasVirtioScsi, warn);
  const nics = await readNics(document, warn);
  const firmware = firmwareOf(answers);
  // 2.2 reads no secure-boot flag; newer virt-v2v reads the firmware feature, and libvirt's
  // manual form is <loader secure='yes'>.
  const uefiSecureBoot =
    text(answers.secureBootFeature) === "yes" || text(answers.loaderSecure) === "yes";

  // RHBZ#1472719, RHBZ#1518539.
  warnIfAny(
    answers.hostdevs.count,
    "this guest has a passthrough host device which will be ignored",
    "this guest has passthrough host devices which will be ignored",
    warn,
  );
  warnIfAny(
    answers.directInterfaces.count,
    "this guest has a direct network interface which will be ignored",
    "this guest has direct network interfaces which will be ignored",
    warn,
  );

  return {
    source: {
      name,
      hypervisor,
      genid,
      memoryBytes,
      vcpus,
      cpuVendor: text(answers.cpuVendor),
      cpuModel: text(answers.cpuModel),
      cpuTopology,
      features,
      firmware,
      uefiSecureBoot,
      display,
      sound,
      removables,
      nics,
    },
    disks,
    vmware: { moref: text(answers.moref), datacenterPath: text(answers.datacenterPath) },
  };
}
