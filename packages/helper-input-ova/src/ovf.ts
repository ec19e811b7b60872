/**
 * The OVF descriptor of an OVA, read as virt-v2v 2.2 reads it (input/OVF.ml): the same elements,
 * the same defaults, the same warnings. Where 2.2 stops with a bare message, ours also names the
 * element at fault, so that the user can find it in the file.
 *
 * Namespaces: 2.2 registers ovf/rasd/vmw/vssd; here elements are matched by local name (see @split-v2v/common's xml-query.ts),
 * which accepts the same documents and also those that bind the namespaces to other prefixes.
 */
import { UserError, XmlDocument, attr, el, type XPathAnswer } from "@split-v2v/common";
import type { SourceController, SourceNic, SourceRemovable } from "@split-v2v/metadata-schema";

export interface OvfDisk {
  /** The disk's index among the hard disk Items (virt-v2v's s_disk_id). */
  id: number;
  controller: SourceController;
  /** `References/File@href`: the disk's file, relative to the OVF's folder. */
  href: string;
  /** `File@compression="gzip"`: the file is a gzip stream of the disk image. */
  compressed: boolean;
  /** The hard disk Item, for messages: `Item "Hard disk 1"`. */
  item: string;
}

export interface OvfGuest {
  /** `VirtualSystem/Name`, or null when absent or empty (the caller warns and picks one). */
  name: string | null;
  memoryBytes: number;
  vcpus: number;
  cpuTopology: { sockets: number; cores: number; threads: number } | null;
  firmware: "bios" | "uefi" | "unknown";
  disks: OvfDisk[];
  removables: SourceRemovable[];
  nics: SourceNic[];
}

const ENVELOPE = `/${el("Envelope")}`;
const VIRTUAL_SYSTEM = `${ENVELOPE}/${el("VirtualSystem")}`;
const HARDWARE = `${VIRTUAL_SYSTEM}/${el("VirtualHardwareSection")}`;
const ITEMS = `${HARDWARE}/${el("Item")}`;
const DISKS = `${ENVELOPE}/${el("DiskSection")}/${el("Disk")}`;
const FILES = `${ENVELOPE}/${el("References")}/${el("File")}`;

/** CIM resource types (rasd:ResourceType) that virt-v2v reads. */
const RESOURCE = {
  cpu: 3,
  memory: 4,
  ideController: 5,
  scsiController: 6,
  nic: 10,
  floppy: 14,
  cdDrive: 15,
  dvdDrive: 16,
  hardDisk: 17,
  sataController: 20,
} as const;

/** The fields of an Item that matter, as text (`text()` of the child, as 2.2's XPaths use). */
const ITEM_FIELDS = {
  elementName: "ElementName",
  resourceType: "ResourceType",
  instanceId: "InstanceID",
  parent: "Parent",
  addressOnParent: "AddressOnParent",
  hostResource: "HostResource",
  connection: "Connection",
  address: "Address",
  resourceSubType: "ResourceSubType",
  virtualQuantity: "VirtualQuantity",
  allocationUnits: "AllocationUnits",
  coresPerSocket: "CoresPerSocket",
} as const;
type ItemField = keyof typeof ITEM_FIELDS;

class Item {
  constructor(
    /** 1-based position among the VirtualHardwareSection's Items. */
    readonly position: number,
    private readonly fields: Record<ItemField, XPathAnswer>,
  ) {}

  /** The element's text, or null when the element (or its text) is absent. */
  text(field: ItemField): string | null {
    const answer = this.fields[field];
    return answer.count > 0 ? answer.text : null;
  }

  /** An integer field; a value that is not an integer is an error naming the element. */
  integer(field: ItemField): number | null {
    const text = this.text(field);
    if (text === null) return null;
    return parseInteger(text, () => `rasd:${ITEM_FIELDS[field]} of ${this.describe()}`);
  }

  get resourceType(): number | null {
    // 2.2 selects Items with the XPath predicate `rasd:ResourceType/text()=N`, a numeric
    // comparison: a ResourceType that is not a number simply matches nothing.
    const text = this.text("resourceType");
    if (text === null) return null;
    const value = Number(text.trim());
    return Number.isInteger(value) && text.trim() !== "" ? value : null;
  }

  describe(): string {
    const name = this.text("elementName");
    return name !== null && name.trim() !== ""
      ? `Item "${name}"`
      : `Item #${this.position} of VirtualHardwareSection`;
  }
}

/** OCaml's int_of_string accepts a sign and digits; surrounding blanks are forgiven here. */
function parseInteger(text: string, what: () => string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new UserError(
      `-i ova: invalid OVF: ${what()} is not an integer: ${JSON.stringify(text)}; fix that element in the .ovf file`,
    );
  }
  return Number(trimmed);
}

/**
 * Bytes per unit of a memory Item's VirtualQuantity. 2.2 always reads MiB; the units VMware
 * writes ("byte * 2^20") say the same, and the other usual spellings are honoured rather than
 * misread. Anything else: MiB, as 2.2.
 */
function memoryUnitBytes(units: string | null): number {
  if (units === null) return 2 ** 20;
  const normalised = units.trim().toLowerCase().replace(/\s+/g, "");
  const power = /^byte\*2\^(\d+)$/.exec(normalised);
  if (power) return 2 ** Number(power[1]);
  const named: Record<string, number> = {
    byte: 1,
    bytes: 1,
    kilobytes: 2 ** 10,
    kb: 2 ** 10,
    megabytes: 2 ** 20,
    mb: 2 ** 20,
    gigabytes: 2 ** 30,
    gb: 2 ** 30,
  };
  return named[normalised] ?? 2 ** 20;
}

/** A MAC as libvirt wants it (xx:xx:…), or null if the OVF's rasd:Address is not one. */
function normaliseMac(address: string): string | null {
  const mac = address.trim().replace(/-/g, ":");
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac) ? mac : null;
}

async function readItems(document: XmlDocument, count: number): Promise<Item[]> {
  const queries: Record<string, string> = {};
  for (let position = 1; position <= count; position++) {
    for (const [field, localName] of Object.entries(ITEM_FIELDS)) {
      queries[`${position}:${field}`] = `(${ITEMS})[${position}]/${el(localName)}/text()`;
    }
  }
  const answers = await document.ask(queries);
  const items: Item[] = [];
  for (let position = 1; position <= count; position++) {
    const fields = {} as Record<ItemField, XPathAnswer>;
    for (const field of Object.keys(ITEM_FIELDS) as ItemField[]) {
      fields[field] = answers[`${position}:${field}`]!;
    }
    items.push(new Item(position, fields));
  }
  return items;
}

/** Elements found by an attribute (Disk by ovf:diskId, File by ovf:id): the first one wins, as
 *  an XPath lookup `[@ovf:id='…']` takes the first match. */
type ById = Map<string, Record<string, XPathAnswer>>;

async function readById(
  document: XmlDocument,
  list: string,
  count: number,
  idAttribute: string,
  attributes: readonly string[],
): Promise<ById> {
  const queries: Record<string, string> = {};
  for (let position = 1; position <= count; position++) {
    for (const name of [idAttribute, ...attributes])
      queries[`${position}:${name}`] = `(${list})[${position}]/${attr(name)}`;
  }
  const answers = await document.ask(queries);
  const byId: ById = new Map();
  for (let position = 1; position <= count; position++) {
    const id = answers[`${position}:${idAttribute}`]!;
    if (id.count === 0 || byId.has(id.text)) continue;
    const element: Record<string, XPathAnswer> = {};
    for (const name of attributes) element[name] = answers[`${position}:${name}`]!;
    byId.set(id.text, element);
  }
  return byId;
}

/**
 * Parses an OVF descriptor. `label` names it in messages (its path inside the OVA); `warn`
 * receives virt-v2v's warnings (unknown controllers, bad CoresPerSocket…).
 */
export async function parseOvf(
  text: string,
  label: string,
  warn: (text: string) => void,
): Promise<OvfGuest> {
  const document = await XmlDocument.parse(text, `-i ova: the OVF file ${label}`);
  const { root } = await document.localNames({ root: "/*" });
  if (root.text !== "Envelope") {
    throw new UserError(
      `-i ova: invalid OVF: ${label} has the root element <${root.text}>, not <Envelope>; is it really an OVF descriptor?`,
    );
  }
  const top = await document.ask({
    virtualSystems: VIRTUAL_SYSTEM,
    hardware: HARDWARE,
    name: `${VIRTUAL_SYSTEM}/${el("Name")}/text()`,
    firmware: `${HARDWARE}/${el("Config")}[${attr("key")}='firmware']/${attr("value")}`,
    items: ITEMS,
    disks: DISKS,
    files: FILES,
  });
  if (top.virtualSystems.count === 0) {
    throw new UserError(
      `-i ova: invalid OVF: ${label} has no <VirtualSystem> in its <Envelope> (an OVF describing several virtual machines in a <VirtualSystemCollection> is not supported)`,
    );
  }
  if (top.hardware.count === 0) {
    throw new UserError(
      `-i ova: invalid OVF: the <VirtualSystem> of ${label} has no <VirtualHardwareSection>`,
    );
  }

  const name = top.name.count > 0 && top.name.text !== "" ? top.name.text : null;
  const items = await readItems(document, top.items.count);
  const ofType = (...types: number[]) =>
    items.filter((item) => item.resourceType !== null && types.includes(item.resourceType));
  /** The first Item of a type that has the field: what 2.2's `Item[…]/field/text()` selects. */
  const firstWith = (type: number, field: ItemField) =>
    ofType(type).find((item) => item.text(field) !== null) ?? null;

  const memoryItem = firstWith(RESOURCE.memory, "virtualQuantity");
  // Without a memory Item, 1 GiB. (2.2 meant this too, but multiplied its default by 1 MiB twice.)
  let memoryBytes = 1024 * 2 ** 20;
  if (memoryItem !== null) {
    const quantity = memoryItem.integer("virtualQuantity")!;
    memoryBytes = quantity * memoryUnitBytes(memoryItem.text("allocationUnits"));
    if (memoryBytes <= 0 || !Number.isSafeInteger(memoryBytes)) {
      throw new UserError(
        `-i ova: invalid OVF: rasd:VirtualQuantity of ${memoryItem.describe()} gives a memory size of ${quantity}; it must be positive`,
      );
    }
  }

  const cpuItem = firstWith(RESOURCE.cpu, "virtualQuantity");
  const vcpus = cpuItem === null ? 1 : cpuItem.integer("virtualQuantity")!;
  if (vcpus <= 0) {
    throw new UserError(
      `-i ova: invalid OVF: rasd:VirtualQuantity of ${cpuItem!.describe()} gives ${vcpus} vCPUs; it must be at least 1`,
    );
  }

  // coresPerSocket is VMware's extension, inside the CPU Item.
  const coresItem = firstWith(RESOURCE.cpu, "coresPerSocket");
  let cpuTopology: OvfGuest["cpuTopology"] = null;
  if (coresItem !== null) {
    const cores = parseInteger(
      coresItem.text("coresPerSocket")!,
      () => `vmw:CoresPerSocket of ${coresItem.describe()}`,
    );
    if (cores <= 0) warn(`invalid vmw:CoresPerSocket (${cores}) ignored`);
    else if (Math.floor(vcpus / cores) <= 0) warn("invalid vmw:CoresPerSocket < number of cores");
    else cpuTopology = { sockets: Math.floor(vcpus / cores), cores, threads: 1 };
  }

  // No firmware key: unknown, so that inspection decides (newer virt-v2v; 2.2 assumed BIOS).
  let firmware: OvfGuest["firmware"] = "unknown";
  if (top.firmware.count > 0) {
    if (top.firmware.text === "bios") firmware = "bios";
    else if (top.firmware.text === "efi") firmware = "uefi";
    else {
      throw new UserError(
        `-i ova: invalid OVF: unknown Config:firmware value ${top.firmware.text} (expected "bios" or "efi") in <vmw:Config vmw:key="firmware"> of ${label}`,
      );
    }
  }

  const controllerOf = (item: Item): SourceController => {
    const parent = item.integer("parent");
    if (parent === null) return null;
    const parentItem = items.find((candidate) => {
      const id = candidate.text("instanceId");
      return id !== null && id.trim() !== "" && Number(id.trim()) === parent;
    });
    const type = parentItem?.resourceType ?? null;
    if (type === RESOURCE.ideController) return "ide";
    if (type === RESOURCE.scsiController) return "scsi";
    if (type === RESOURCE.sataController) return "sata";
    if (type === null) {
      warn(
        "ova disk has no parent controller, please report this as a bug supplying the *.ovf file extracted from the ova",
      );
    } else {
      warn(
        `ova disk has an unknown VMware controller type (${type}), please report this as a bug supplying the *.ovf file extracted from the ova`,
      );
    }
    return null;
  };

  const diskSection = await readById(document, DISKS, top.disks.count, "diskId", ["fileRef"]);
  const references = await readById(document, FILES, top.files.count, "id", [
    "href",
    "compression",
  ]);

  const disks: OvfDisk[] = ofType(RESOURCE.hardDisk).map((item, id) => {
    const controller = controllerOf(item);
    const hostResource = item.text("hostResource") ?? "";
    const viaDisk = /^(?:ovf:)?\/+disk\/(.*)$/.exec(hostResource);
    const viaFile = /^(?:ovf:)?\/+file\/(.*)$/.exec(hostResource);
    let fileRef: string;
    if (viaDisk) {
      const disk = diskSection.get(viaDisk[1]!);
      const ref = disk?.fileRef;
      if (ref === undefined || ref.count === 0) {
        throw new UserError(
          `-i ova: invalid OVF: error parsing disk fileRef: no <DiskSection><Disk ovf:diskId="${viaDisk[1]}"> with an ovf:fileRef (named by rasd:HostResource of ${item.describe()})`,
        );
      }
      fileRef = ref.text;
    } else if (viaFile) {
      // A HostResource may name the file directly (OVF allows ovf:/file/ID); 2.2 refused it.
      fileRef = viaFile[1]!;
    } else {
      throw new UserError(
        `-i ova: invalid OVF: could not parse disk rasd:HostResource from OVF document: ${JSON.stringify(hostResource)} in ${item.describe()} (expected ovf:/disk/ID)`,
      );
    }
    const file = references.get(fileRef);
    if (file?.href === undefined || file.href.count === 0) {
      throw new UserError(
        `-i ova: invalid OVF: no href in ovf:File (id=${fileRef}): <References> has no <File ovf:id="${fileRef}" ovf:href="…"> for ${item.describe()}`,
      );
    }
    const compression = file.compression;
    let compressed = false;
    if (compression !== undefined && compression.count > 0 && compression.text !== "identity") {
      if (compression.text !== "gzip") {
        throw new UserError(
          `-i ova: unsupported compression in OVF: ${compression.text} (ovf:compression of <File ovf:id="${fileRef}">; only gzip is supported)`,
        );
      }
      compressed = true;
    }
    return { id, controller, href: file.href.text, compressed, item: item.describe() };
  });

  const removables: SourceRemovable[] = ofType(
    RESOURCE.floppy,
    RESOURCE.cdDrive,
    RESOURCE.dvdDrive,
  ).map((item) => {
    const slot = item.integer("addressOnParent");
    if (slot !== null && slot < 0) {
      throw new UserError(
        `-i ova: invalid OVF: rasd:AddressOnParent of ${item.describe()} is negative (${slot})`,
      );
    }
    return {
      type: item.resourceType === RESOURCE.floppy ? "floppy" : "cdrom",
      controller: controllerOf(item),
      slot,
    };
  });

  const nics: SourceNic[] = ofType(RESOURCE.nic).map((item, index) => {
    const connection = item.text("connection");
    const address = item.text("address");
    let mac: string | null = null;
    if (address !== null) {
      mac = normaliseMac(address);
      if (mac === null)
        warn(`ignoring the MAC address ${JSON.stringify(address)} of ${item.describe()}`);
    }
    const subType = item.text("resourceSubType");
    return {
      mac,
      model: subType === null ? null : subType === "E1000" ? "e1000" : subType.toLowerCase(),
      network: connection ?? `eth${index}`,
      networkType: connection !== null ? "bridge" : "network",
    };
  });

  return { name, memoryBytes, vcpus, cpuTopology, firmware, disks, removables, nics };
}
