/**
 * The two files that join the stages (see ../README.md):
 *
 *   metadata.in   written by helper-v2v-input-*, read by everything after it: the source guest.
 *   metadata.out  written by helper-v2v-convert, read by the output helpers: what inspection found,
 *                 what the converted guest can drive (guest capabilities) and the target bus layout.
 *
 * The schemas are the single definition: the TypeScript types are inferred from these constants
 * (json-schema-to-ts), and ajv validates every read and every write against them. A field is added
 * here once and appears everywhere.
 *
 * Sub-schemas are plain constants composed by value rather than `$ref`, so that the inferred types
 * stay exact and the emitted JSON Schema is self-contained.
 */

/** Bumped when a change would make an old reader misread a new file (not for added optional fields). */
export const SCHEMA_VERSION = 1;

const nullableString = { type: ["string", "null"] } as const;
const positiveInteger = { type: "integer", minimum: 1 } as const;
const byteCount = { type: "integer", minimum: 0 } as const;

/** The disk controller a source disk or removable was attached to (virt-v2v's s_controller). */
const sourceController = {
  enum: ["ide", "sata", "scsi", "virtio-blk", "virtio-scsi", "nvme", null],
} as const;

const cpuTopology = {
  type: "object",
  additionalProperties: false,
  required: ["sockets", "cores", "threads"],
  properties: {
    sockets: positiveInteger,
    cores: positiveInteger,
    threads: positiveInteger,
  },
} as const;

const display = {
  type: "object",
  additionalProperties: false,
  required: ["type", "keymap", "password", "listen", "port"],
  properties: {
    type: { enum: ["window", "vnc", "spice"] },
    keymap: nullableString,
    password: nullableString,
    listen: {
      description:
        "Where the display listens: none, an address, a libvirt network, a Unix socket (path, or null for an automatic one), or a private fd.",
      type: "object",
      additionalProperties: false,
      required: ["kind"],
      properties: {
        kind: { enum: ["none", "address", "network", "socket", "private-fd"] },
        value: nullableString,
      },
    },
    port: { type: ["integer", "null"] },
  },
} as const;

const sourceDisk = {
  type: "object",
  additionalProperties: false,
  required: ["id", "virtualSize", "controller"],
  // Where the disk is served: the short form (a socket in the work dir), or any NBD URI.
  anyOf: [{ required: ["socket"] }, { required: ["endpoint"] }],
  properties: {
    id: {
      type: "integer",
      minimum: 0,
      description: "Index of the disk, 0-based, in source order.",
    },
    socket: {
      type: "string",
      pattern: "^in[0-9]+$",
      description:
        "Name of the NBD Unix socket in the work dir that serves this disk (the short form of endpoint).",
    },
    endpoint: {
      type: "string",
      pattern: "^nbd(\\+unix|\\+tcp|s|s\\+unix)?://",
      description:
        "The NBD URI that serves this disk, e.g. nbd+unix:///?socket=/run/x.sock or nbd://127.0.0.1:10809/export (given by a program that serves the disk itself); wins over socket.",
    },
    overlay: {
      type: "boolean",
      description:
        "Whether writes land in an overlay (true: the source is never touched) or on the disk itself (false: in-place conversion). Absent: true.",
    },
    virtualSize: { ...byteCount, description: "Virtual size in bytes." },
    controller: sourceController,
    format: {
      ...nullableString,
      description: "Format of the source file (raw, qcow2, vmdk…), where known.",
    },
    location: {
      ...nullableString,
      description: "Where the disk comes from (a path or URL), for messages and logs only.",
    },
  },
} as const;

const sourceRemovable = {
  type: "object",
  additionalProperties: false,
  required: ["type", "controller", "slot"],
  properties: {
    type: { enum: ["cdrom", "floppy"] },
    controller: sourceController,
    slot: { type: ["integer", "null"], minimum: 0 },
  },
} as const;

const sourceNic = {
  type: "object",
  additionalProperties: false,
  required: ["mac", "model", "network", "networkType"],
  properties: {
    mac: { type: ["string", "null"], pattern: "^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$" },
    model: {
      ...nullableString,
      description: "virtio, e1000, rtl8139, or the source's own model name (vmxnet3…).",
    },
    network: { type: "string", description: "Name of the network or bridge." },
    networkType: { enum: ["network", "bridge"] },
  },
} as const;

const sourceGuest = {
  type: "object",
  additionalProperties: false,
  required: [
    "name",
    "hypervisor",
    "genid",
    "memoryBytes",
    "vcpus",
    "cpuVendor",
    "cpuModel",
    "cpuTopology",
    "features",
    "firmware",
    "uefiSecureBoot",
    "display",
    "sound",
    "disks",
    "removables",
    "nics",
  ],
  properties: {
    name: { type: "string", minLength: 1 },
    hypervisor: {
      type: "string",
      description:
        "qemu, kvm, xen, vmware, hyperv, vbox, …, or unknownhv (-i disk), as virt-v2v names them.",
    },
    genid: nullableString,
    memoryBytes: positiveInteger,
    vcpus: positiveInteger,
    cpuVendor: nullableString,
    cpuModel: nullableString,
    cpuTopology: { oneOf: [cpuTopology, { type: "null" }] },
    features: { type: "array", items: { type: "string" } },
    firmware: { enum: ["bios", "uefi", "unknown"] },
    uefiSecureBoot: { type: "boolean" },
    display: { oneOf: [display, { type: "null" }] },
    sound: {
      enum: ["ac97", "es1370", "ich6", "ich9", "pcspk", "sb16", "usb", null],
    },
    disks: { type: "array", minItems: 1, items: sourceDisk },
    removables: { type: "array", items: sourceRemovable },
    nics: { type: "array", items: sourceNic },
  },
} as const;

export const metadataInSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://split-v2v.invalid/schema/metadata.in.json",
  title: "split-v2v metadata.in: the source guest",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "input", "source"],
  properties: {
    schemaVersion: { const: SCHEMA_VERSION },
    kind: { const: "metadata.in" },
    input: {
      type: "object",
      additionalProperties: false,
      required: ["mode", "description"],
      properties: {
        mode: { type: "string", description: "The -i mode: disk, ova, vmx, libvirt…" },
        description: {
          type: "string",
          description: "What virt-v2v prints after 'Setting up the source:'.",
        },
      },
    },
    source: sourceGuest,
  },
} as const;

const mountpoint = {
  type: "object",
  additionalProperties: false,
  required: ["mountpoint", "device"],
  properties: { mountpoint: { type: "string" }, device: { type: "string" } },
} as const;

const inspection = {
  type: "object",
  additionalProperties: false,
  required: [
    "root",
    "type",
    "distro",
    "osinfo",
    "arch",
    "majorVersion",
    "minorVersion",
    "packageFormat",
    "packageManagement",
    "productName",
    "productVariant",
    "hostname",
    "mountpoints",
    "firmware",
    "windows",
  ],
  properties: {
    root: { type: "string", description: "The root device chosen (--root)." },
    type: { type: "string", description: "linux, windows, …" },
    distro: { type: "string" },
    osinfo: { type: "string", description: "libosinfo short id, e.g. debian12, win2k22." },
    arch: { type: "string" },
    majorVersion: { type: "integer" },
    minorVersion: { type: "integer" },
    packageFormat: { type: "string" },
    packageManagement: { type: "string" },
    productName: { type: "string" },
    productVariant: { type: "string" },
    hostname: { type: "string" },
    mountpoints: { type: "array", items: mountpoint },
    firmware: {
      type: "object",
      additionalProperties: false,
      required: ["type", "espDevices"],
      properties: {
        type: { enum: ["bios", "uefi"] },
        espDevices: {
          type: "array",
          items: { type: "string" },
          description: "EFI system partitions found (UEFI only).",
        },
      },
    },
    windows: {
      oneOf: [
        { type: "null" },
        {
          type: "object",
          additionalProperties: false,
          required: ["systemroot", "softwareHive", "systemHive", "currentControlSet"],
          properties: {
            systemroot: { type: "string" },
            softwareHive: { type: "string" },
            systemHive: { type: "string" },
            currentControlSet: { type: "string" },
          },
        },
      ],
    },
    applications: {
      description:
        "Optional (virt-v2v 2.13): the applications installed in the guest, as libguestfs's inspection lists them (packages on Linux, the Uninstall registry on Windows).",
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "displayName", "epoch", "version", "release", "arch"],
        properties: {
          name: { type: "string" },
          displayName: { type: "string" },
          epoch: { type: "integer", minimum: 0 },
          version: { type: "string" },
          release: { type: "string" },
          arch: { type: "string" },
        },
      },
    },
  },
} as const;

const guestcaps = {
  type: "object",
  additionalProperties: false,
  required: [
    "blockBus",
    "netBus",
    "virtioRng",
    "virtioBalloon",
    "isaPvpanic",
    "virtioSocket",
    "machine",
    "arch",
    "acpi",
    "virtio10",
    "defaultCpu",
  ],
  properties: {
    blockBus: { enum: ["virtio-blk", "virtio-scsi", "ide"] },
    netBus: { enum: ["virtio-net", "e1000", "rtl8139"] },
    virtioRng: { type: "boolean" },
    virtioBalloon: { type: "boolean" },
    isaPvpanic: { type: "boolean" },
    virtioSocket: { type: "boolean" },
    machine: { enum: ["i440fx", "q35", "virt"] },
    arch: { type: "string" },
    acpi: { type: "boolean" },
    virtio10: { type: "boolean", description: "The guest drives virtio 1.0 (modern) devices." },
    defaultCpu: {
      type: "boolean",
      description: "The hypervisor's default CPU model is enough (else host-passthrough).",
    },
    rtcUtc: {
      type: "boolean",
      description:
        "Optional (virt-v2v 2.13): the guest expects the real-time clock in UTC (true: every Linux guest, Windows with RealTimeIsUniversal=1) or in local time (false).",
    },
  },
} as const;

/** One slot of a target bus: empty, a fixed disk (by source disk id) or a removable (by index). */
const busSlot = {
  oneOf: [
    { type: "null" },
    {
      type: "object",
      additionalProperties: false,
      required: ["disk"],
      properties: { disk: { type: "integer", minimum: 0 } },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["removable"],
      properties: { removable: { type: "integer", minimum: 0 } },
    },
  ],
} as const;

const busSlots = { type: "array", items: busSlot } as const;

const targetNic = {
  ...sourceNic,
  required: [...sourceNic.required, "targetModel"],
  properties: {
    ...sourceNic.properties,
    targetModel: { enum: ["virtio-net", "e1000", "rtl8139"] },
  },
} as const;

const conversionChange = {
  type: "object",
  additionalProperties: false,
  required: ["what", "detail"],
  properties: {
    what: { type: "string", description: "The file, registry key or package changed." },
    detail: { type: "string", description: "What was done to it." },
  },
} as const;

export const metadataOutSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://split-v2v.invalid/schema/metadata.out.json",
  title: "split-v2v metadata.out: inspection, guest capabilities and target layout",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "inspection", "guestcaps", "target", "conversion"],
  properties: {
    schemaVersion: { const: SCHEMA_VERSION },
    kind: { const: "metadata.out" },
    inspection,
    guestcaps,
    target: {
      type: "object",
      additionalProperties: false,
      required: ["firmware", "buses", "nics"],
      properties: {
        firmware: { enum: ["bios", "uefi"] },
        buses: {
          type: "object",
          additionalProperties: false,
          required: ["virtioBlk", "ide", "scsi", "floppy"],
          properties: {
            virtioBlk: busSlots,
            ide: busSlots,
            scsi: busSlots,
            floppy: busSlots,
          },
        },
        nics: { type: "array", items: targetNic },
        bootDevice: {
          description:
            "Optional (virt-v2v 2.13): the index of the source disk holding the boot loader (Linux: the disk of /boot), for a boot order on the target; null when unknown.",
          type: ["integer", "null"],
          minimum: 0,
        },
      },
    },
    conversion: {
      type: "object",
      additionalProperties: false,
      required: ["family", "converter", "changes", "warnings"],
      properties: {
        family: { enum: ["linux", "windows"] },
        converter: { type: "string", description: "The conversion module that ran." },
        changes: { type: "array", items: conversionChange },
        warnings: { type: "array", items: { type: "string" } },
      },
    },
  },
} as const;

/**
 * The helper event lines (see CONTRACT.md): one JSON object per line on a helper's stdout.
 * Readers ignore an event kind they do not know, so new kinds do not bump the version.
 */
export const helperEventSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://split-v2v.invalid/schema/helper-event.json",
  title: "split-v2v helper event: one line of a helper's stdout",
  oneOf: [
    {
      type: "object",
      required: ["event", "text"],
      properties: {
        event: { enum: ["message", "info", "warning"] },
        text: { type: "string" },
      },
    },
    {
      type: "object",
      required: ["event", "text"],
      properties: {
        event: { const: "error" },
        text: { type: "string" },
        bug: { type: "boolean", description: "True when the user cannot fix it." },
      },
    },
    {
      type: "object",
      required: ["event", "sockets"],
      properties: {
        event: { const: "ready" },
        sockets: {
          type: "array",
          items: { type: "string" },
          description: "The sockets now served, as names in the work dir.",
        },
      },
    },
  ],
} as const;

/** The files shipped in the package's schema/ folder, generated from these constants. */
export const SHIPPED_SCHEMAS = {
  "metadata.in.json": metadataInSchema,
  "metadata.out.json": metadataOutSchema,
  "helper-event.json": helperEventSchema,
} as const;
