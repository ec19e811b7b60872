/**
 * The koffi binding of libguestfs. It runs only on the thread that owns the handle (see
 * worker.ts): libguestfs ≥ 1.38 keeps the last error and the error handler per thread, so
 * the call, `guestfs_last_error` and `guestfs_set_error_handler` must all run on one thread.
 *
 * Everything is driven by the table in calls.ts: the C prototype gives the FFI declaration
 * and the argument marshalling, the return kind gives the error test, the decoding and the
 * freeing.
 */
import koffi from "koffi";
import {
  CALLS,
  OPTARG_STRUCTS,
  RETURN_STRUCTS,
  type CallName,
  type DecodedStruct,
  type OptargFieldType,
  type ReturnKind,
  type StructFieldType,
} from "./calls.js";
import type { LogKind, WireError } from "./protocol.js";

type KoffiLibrary = ReturnType<typeof koffi.load>;
type KoffiFunction = ReturnType<KoffiLibrary["func"]>;
type KoffiType = ReturnType<typeof koffi.struct>;
type KoffiCallback = ReturnType<typeof koffi.register>;

/** Thrown on the handle's thread; turned into a WireError for the caller's thread. */
export class CallFailure extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

const POINTER_SIZE = 8;

const EVENT_APPLIANCE = 0x10;
const EVENT_LIBRARY = 0x20;
const EVENT_TRACE = 0x40;
const EVENT_WARNING = 0x200;
const LOG_EVENTS = BigInt(EVENT_APPLIANCE | EVENT_LIBRARY | EVENT_TRACE | EVENT_WARNING);

/** Receives log messages of the call in progress. */
export type LogSink = (kind: LogKind, text: string) => void;

const libguestfs: KoffiLibrary = koffi.load("libguestfs.so.0");
const libc: KoffiLibrary = koffi.load("libc.so.6");

// Named types: the table's prototypes refer to these names.
koffi.opaque("guestfs_h");
const EventCallbackType = koffi.proto(
  "void guestfs_event_callback(guestfs_h *g, void *opaque, uint64_t event, int event_handle," +
    " int flags, const void *buf, size_t buf_len, const uint64_t *array, size_t array_len)",
);

const cFree = libc.func("void free(void *ptr)");
const cStrlen = libc.func("size_t strlen(const void *s)");
const guestfsCreate = libguestfs.func("guestfs_h *guestfs_create(void)");
const guestfsClose = libguestfs.func("void guestfs_close(guestfs_h *g)");
const guestfsSetErrorHandler = libguestfs.func(
  "void guestfs_set_error_handler(guestfs_h *g, void *cb, void *opaque)",
);
const guestfsLastError = libguestfs.func("const char *guestfs_last_error(guestfs_h *g)");
const guestfsLastErrno = libguestfs.func("int guestfs_last_errno(guestfs_h *g)");
const guestfsSetEventCallback = libguestfs.func(
  "int guestfs_set_event_callback(guestfs_h *g, guestfs_event_callback *cb," +
    " uint64_t event_bitmask, int flags, void *opaque)",
);
const guestfsDeleteEventCallback = libguestfs.func(
  "void guestfs_delete_event_callback(guestfs_h *g, int event_handle)",
);

/** koffi spelling of the C types used in struct fields. */
function koffiFieldType(cType: OptargFieldType | StructFieldType): string {
  switch (cType) {
    case "char *":
    case "const char *":
      return "const char *";
    case "char *const *":
      return "const char **";
    default:
      return cType;
  }
}

const optargStructTypes = new Map<string, KoffiType>();
for (const [structName, fields] of Object.entries(OPTARG_STRUCTS)) {
  const members: Record<string, string> = { bitmask: "uint64_t" };
  for (const [field, cType] of fields) members[field] = koffiFieldType(cType);
  optargStructTypes.set(structName, koffi.struct(structName, members));
}

interface ReturnStructTypes {
  element: KoffiType;
  list: KoffiType;
  fields: readonly (readonly [string, StructFieldType])[];
}
const returnStructTypes = new Map<string, ReturnStructTypes>();
for (const [structName, fields] of Object.entries(RETURN_STRUCTS)) {
  const members: Record<string, string> = {};
  for (const [field, cType] of fields) members[field] = koffiFieldType(cType);
  returnStructTypes.set(structName, {
    element: koffi.struct(structName, members),
    list: koffi.struct(`${structName}_list`, { len: "uint32_t", val: "void *" }),
    fields,
  });
}

/** How one C parameter is fed from JS arguments. */
type Param =
  | { kind: "handle" }
  | { kind: "string"; name: string }
  | { kind: "strings"; name: string }
  | { kind: "int"; name: string }
  | { kind: "int64"; name: string }
  /** `const char *x, size_t x_size`: one JS Buffer fills both. */
  | { kind: "buffer"; name: string }
  | { kind: "bufferSize" }
  /** `size_t *size_r`: filled by the call, read to size a "buffer" return. */
  | { kind: "sizeOut" }
  | { kind: "optargs"; struct: string };

interface Binding {
  jsName: CallName;
  cName: string;
  returnKind: ReturnKind;
  params: Param[];
  /** For "struct"/"structList" returns: the element struct (e.g. guestfs_statvfs). */
  structName?: string;
  fn: KoffiFunction;
  freeStruct?: KoffiFunction;
}

const PROTOTYPE = /^(.*?)\s*\b(guestfs_\w+)\s*\((.*)\)$/;

/** "const char *" → "const char*": one spelling for comparisons. */
function compactType(cType: string): string {
  return cType
    .replace(/\s+/g, " ")
    .replace(/\s*\*\s*/g, "*")
    .trim();
}

function parseParams(list: string, where: string): { params: Param[]; koffiTypes: string[] } {
  const raw = list.split(",").map((p) => {
    const match = /^(.*?)\s*(\w+)$/.exec(p.trim());
    if (!match) throw new Error(`${where}: cannot parse parameter "${p}"`);
    return { type: compactType(match[1] ?? ""), name: match[2] ?? "" };
  });
  const params: Param[] = [];
  const koffiTypes: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const { type, name } = raw[i] ?? { type: "", name: "" };
    const next = raw[i + 1];
    if (i === 0) {
      if (type !== "guestfs_h*") throw new Error(`${where}: first parameter must be guestfs_h *g`);
      params.push({ kind: "handle" });
      koffiTypes.push("guestfs_h *");
    } else if (type === "const char*" && next?.type === "size_t" && next.name === `${name}_size`) {
      params.push({ kind: "buffer", name }, { kind: "bufferSize" });
      koffiTypes.push("const void *", "size_t");
      i++;
    } else if (type === "const char*") {
      params.push({ kind: "string", name });
      koffiTypes.push("const char *");
    } else if (type === "char*const*") {
      params.push({ kind: "strings", name });
      koffiTypes.push("const char **");
    } else if (type === "int") {
      params.push({ kind: "int", name });
      koffiTypes.push("int");
    } else if (type === "int64_t") {
      params.push({ kind: "int64", name });
      koffiTypes.push("int64_t");
    } else if (type === "size_t*" && i === raw.length - 1) {
      params.push({ kind: "sizeOut" });
      koffiTypes.push("_Out_ size_t *");
    } else {
      const optargs = /^const struct (guestfs_\w+_argv)\*$/.exec(type);
      if (!optargs?.[1] || !optargStructTypes.has(optargs[1])) {
        throw new Error(`${where}: unsupported parameter type "${type}"`);
      }
      params.push({ kind: "optargs", struct: optargs[1] });
      koffiTypes.push(`const ${optargs[1]} *`);
    }
  }
  return { params, koffiTypes };
}

/** Checks that the return kind fits the C return type; returns the koffi return type. */
function koffiReturnType(
  kind: ReturnKind,
  cType: string,
  params: Param[],
  where: string,
): { koffiType: string; structName?: string } {
  const mismatch = (): Error =>
    new Error(`${where}: return kind "${kind}" does not fit "${cType}"`);
  switch (kind) {
    case "void":
    case "int":
    case "bool":
      if (cType !== "int") throw mismatch();
      return { koffiType: "int" };
    case "int64":
    case "handle":
    case "optionalHandle":
      if (cType !== "int64_t") throw mismatch();
      return { koffiType: "int64_t" };
    case "constString":
      if (cType !== "const char*") throw mismatch();
      return { koffiType: "const char *" };
    case "string":
      if (cType !== "char*") throw mismatch();
      return { koffiType: "void *" };
    case "buffer":
      if (cType !== "char*" || params[params.length - 1]?.kind !== "sizeOut") throw mismatch();
      return { koffiType: "void *" };
    case "strings":
    case "hash":
      if (cType !== "char**") throw mismatch();
      return { koffiType: "void *" };
    case "struct":
    case "structList": {
      const match = /^struct (guestfs_\w+?)(_list)?\*$/.exec(cType);
      const structName = match?.[1];
      const isList = match?.[2] !== undefined;
      if (!structName || isList !== (kind === "structList") || !returnStructTypes.has(structName)) {
        throw mismatch();
      }
      return { koffiType: "void *", structName };
    }
  }
}

const bindings = new Map<CallName, Binding>();

/** Declares a call on first use, so one missing symbol only breaks that call. */
export function bindingFor(jsName: CallName): Binding {
  const existing = bindings.get(jsName);
  if (existing) return existing;
  const [returnKind, prototype] = CALLS[jsName];
  const match = PROTOTYPE.exec(prototype);
  if (!match?.[2]) throw new Error(`${jsName}: cannot parse prototype "${prototype}"`);
  const cName = match[2];
  const { params, koffiTypes } = parseParams(match[3] ?? "", cName);
  const { koffiType, structName } = koffiReturnType(
    returnKind,
    compactType(match[1] ?? ""),
    params,
    cName,
  );
  const binding: Binding = {
    jsName,
    cName,
    returnKind,
    params,
    fn: libguestfs.func(cName, koffiType, koffiTypes),
  };
  if (structName) {
    binding.structName = structName;
    const freeName =
      returnKind === "structList"
        ? `guestfs_free_${structName.slice(8)}_list`
        : `guestfs_free_${structName.slice(8)}`;
    binding.freeStruct = libguestfs.func(freeName, "void", ["void *"]);
  }
  bindings.set(jsName, binding);
  return binding;
}

function usage(call: string, message: string): CallFailure {
  return new CallFailure({ kind: "usage", call, message: `${call}: ${message}`, errno: 0 });
}

function toInt(call: string, name: string, value: unknown): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw usage(call, `${name} must be an integer or boolean, got ${typeof value}`);
}

function toInt64(call: string, name: string, value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw usage(call, `${name} must be an integer or bigint, got ${typeof value}`);
}

function toStringOrNull(call: string, name: string, value: unknown): string | null {
  if (typeof value === "string" || value === null) return value;
  throw usage(call, `${name} must be a string, got ${typeof value}`);
}

/** A JS string list as C `char *const *`: koffi copies the array; the NULL ends it. */
function toStringList(call: string, name: string, value: unknown): (string | null)[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
    throw usage(call, `${name} must be an array of strings`);
  }
  return [...value, null];
}

function toBytes(call: string, name: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw usage(call, `${name} must be a Buffer`);
}

function toOptargs(call: string, structName: string, value: unknown): Record<string, unknown> {
  const fields = OPTARG_STRUCTS[structName as keyof typeof OPTARG_STRUCTS];
  if (value !== undefined && value !== null && typeof value !== "object") {
    throw usage(call, "options must be an object");
  }
  const given = (value ?? {}) as Record<string, unknown>;
  const known = new Set<string>(fields.map(([field]) => field));
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !known.has(key)) throw usage(call, `unknown option "${key}"`);
  }
  let bitmask = 0n;
  const struct: Record<string, unknown> = {};
  fields.forEach(([field, cType], bit) => {
    const v = given[field];
    if (v === undefined) return;
    bitmask |= 1n << BigInt(bit);
    switch (cType) {
      case "int":
        struct[field] = toInt(call, field, v);
        break;
      case "int64_t":
        struct[field] = toInt64(call, field, v);
        break;
      case "const char *":
        struct[field] = toStringOrNull(call, field, v);
        break;
      case "char *const *":
        struct[field] = toStringList(call, field, v);
        break;
    }
  });
  struct.bitmask = bitmask;
  return struct;
}

/** Copies a NUL-terminated C string (UTF-8) into a JS string. */
function copyCString(pointer: unknown): string {
  const length = Number(cStrlen(pointer));
  if (length === 0) return "";
  return Buffer.from(new Uint8Array(koffi.view(pointer, length))).toString("utf8");
}

/** Copies then frees a NULL-terminated `char **` and every string in it. */
function takeStringList(array: unknown): string[] {
  const strings: string[] = [];
  try {
    for (let i = 0; ; i++) {
      const element: unknown = koffi.decode(array, i * POINTER_SIZE, "void *");
      if (element === null) break;
      strings.push(copyCString(element));
      cFree(element);
    }
  } finally {
    cFree(array);
  }
  return strings;
}

function normaliseStruct(
  raw: Record<string, unknown>,
  fields: readonly (readonly [string, StructFieldType])[],
): DecodedStruct {
  const out: DecodedStruct = {};
  for (const [field, cType] of fields) {
    const v = raw[field];
    if (cType === "char *") out[field] = typeof v === "string" ? v : null;
    else if (cType === "int32_t") out[field] = Number(v);
    else out[field] = typeof v === "bigint" || typeof v === "number" ? BigInt(v) : 0n;
  }
  return out;
}

/**
 * One thread's view of a libguestfs handle. The same C handle may be used from two threads
 * (libguestfs ≥ 1.38 locks it per call), each through its own GuestfsHandle: the error
 * handler and the last error are per thread, and a koffi callback may only be invoked on
 * the thread whose JS engine registered it, so each thread attaches its own log callback,
 * for the duration of its own calls only.
 */
export class GuestfsHandle {
  private logCallback: KoffiCallback | null = null;
  private currentSink: LogSink | null = null;
  private applianceLine = "";
  private closed = false;

  private constructor(private readonly pointer: unknown) {
    // Failures become GuestfsError instead of lines on stderr. Per thread, hence here.
    guestfsSetErrorHandler(pointer, null, null);
  }

  /** guestfs_create(): honours the LIBGUESTFS_* environment variables. */
  static create(): GuestfsHandle {
    const pointer: unknown = guestfsCreate();
    if (pointer === null) {
      throw new Error("guestfs_create failed (out of memory, or bad LIBGUESTFS_* settings)");
    }
    return new GuestfsHandle(pointer);
  }

  /** Uses, from this thread, a handle created on another one. */
  static attach(address: bigint): GuestfsHandle {
    return new GuestfsHandle(address);
  }

  get address(): bigint {
    return typeof this.pointer === "bigint" ? this.pointer : koffi.address(this.pointer);
  }

  /** Runs one table call synchronously on this thread; `logSink` receives its messages. */
  call(jsName: CallName, args: readonly unknown[], logSink: LogSink | null): unknown {
    if (this.closed) throw usage(jsName, "the handle is closed");
    const eventHandle = logSink ? this.attachLogs(logSink) : -1;
    try {
      return this.invoke(bindingFor(jsName), args);
    } finally {
      if (eventHandle >= 0) this.detachLogs(eventHandle);
    }
  }

  /** guestfs_close: stops the appliance, if any, and frees the handle. */
  close(logSink: LogSink | null): void {
    if (this.closed) return;
    if (logSink) this.attachLogs(logSink);
    this.closed = true;
    guestfsClose(this.pointer);
    // The handle, and the callback registration with it, is gone: nothing to delete.
    this.flushApplianceLine();
    this.currentSink = null;
    if (this.logCallback) koffi.unregister(this.logCallback);
    this.logCallback = null;
  }

  private attachLogs(sink: LogSink): number {
    this.currentSink = sink;
    this.logCallback ??= koffi.register(
      (
        _g: unknown,
        _opaque: unknown,
        event: number | bigint,
        _eventHandle: number,
        _flags: number,
        buf: unknown,
        bufLen: number | bigint,
      ): void => this.onEvent(Number(event), buf, Number(bufLen)),
      koffi.pointer(EventCallbackType),
    );
    const eventHandle: unknown = guestfsSetEventCallback(
      this.pointer,
      this.logCallback,
      LOG_EVENTS,
      0,
      null,
    );
    if (typeof eventHandle !== "number" || eventHandle < 0) {
      throw this.failure("guestfs_set_event_callback");
    }
    return eventHandle;
  }

  private detachLogs(eventHandle: number): void {
    guestfsDeleteEventCallback(this.pointer, eventHandle);
    this.flushApplianceLine();
    this.currentSink = null;
  }

  private onEvent(event: number, buf: unknown, length: number): void {
    const sink = this.currentSink;
    if (!sink) return;
    // Copy now: the buffer belongs to libguestfs and is reused after the callback returns.
    const text =
      buf === null || length === 0
        ? ""
        : Buffer.from(new Uint8Array(koffi.view(buf, length))).toString("utf8");
    if (event === EVENT_APPLIANCE) {
      // The console arrives in arbitrary chunks; callers want whole lines.
      const lines = (this.applianceLine + text).split("\n");
      this.applianceLine = lines.pop() ?? "";
      for (const line of lines) sink("appliance", line.replace(/\r$/, ""));
    } else if (event === EVENT_LIBRARY) sink("library", text);
    else if (event === EVENT_TRACE) sink("trace", text);
    else if (event === EVENT_WARNING) sink("warning", text);
  }

  private flushApplianceLine(): void {
    if (this.applianceLine !== "") this.currentSink?.("appliance", this.applianceLine);
    this.applianceLine = "";
  }

  private invoke(binding: Binding, args: readonly unknown[]): unknown {
    const jsName = binding.jsName;
    const cArgs: unknown[] = [];
    const sizeOut: [number | bigint | null] = [null];
    let argIndex = 0;
    let pendingBuffer: Uint8Array | null = null;
    for (const param of binding.params) {
      switch (param.kind) {
        case "handle":
          cArgs.push(this.pointer);
          break;
        case "string":
          cArgs.push(toStringOrNull(jsName, param.name, args[argIndex++]));
          break;
        case "strings":
          cArgs.push(toStringList(jsName, param.name, args[argIndex++]));
          break;
        case "int":
          cArgs.push(toInt(jsName, param.name, args[argIndex++]));
          break;
        case "int64":
          cArgs.push(toInt64(jsName, param.name, args[argIndex++]));
          break;
        case "buffer":
          pendingBuffer = toBytes(jsName, param.name, args[argIndex++]);
          cArgs.push(pendingBuffer);
          break;
        case "bufferSize":
          cArgs.push(pendingBuffer?.byteLength ?? 0);
          break;
        case "sizeOut":
          cArgs.push(sizeOut);
          break;
        case "optargs":
          cArgs.push(toOptargs(jsName, param.struct, args[argIndex++]));
          break;
      }
    }
    if (args.length > argIndex) {
      throw usage(jsName, `expected ${argIndex} arguments, got ${args.length}`);
    }
    const result: unknown = binding.fn(...cArgs);
    return this.decode(binding, result, sizeOut[0]);
  }

  private failure(cName: string): CallFailure {
    const message: unknown = guestfsLastError(this.pointer);
    const errno: unknown = guestfsLastErrno(this.pointer);
    return new CallFailure({
      kind: "guestfs",
      call: cName,
      message: typeof message === "string" ? message : `${cName} failed`,
      errno: typeof errno === "number" ? errno : 0,
    });
  }

  private decode(binding: Binding, result: unknown, size: number | bigint | null): unknown {
    const kind = binding.returnKind;
    const isPointerKind = ![
      "void",
      "int",
      "bool",
      "int64",
      "handle",
      "optionalHandle",
      "constString",
    ].includes(kind);
    if (isPointerKind ? result === null : Number(result) === -1) throw this.failure(binding.cName);
    switch (kind) {
      case "void":
        return undefined;
      case "bool":
        return Number(result) !== 0;
      case "int":
      case "int64":
        return Number(result);
      case "handle":
        return BigInt(result as number | bigint);
      case "optionalHandle":
        return Number(result) === 0 ? null : BigInt(result as number | bigint);
      case "constString":
        return typeof result === "string" ? result : null;
      case "string":
        try {
          return copyCString(result);
        } finally {
          cFree(result);
        }
      case "buffer":
        try {
          const length = Number(size ?? 0);
          return length === 0
            ? Buffer.alloc(0)
            : Buffer.from(new Uint8Array(koffi.view(result, length)));
        } finally {
          cFree(result);
        }
      case "strings":
        return takeStringList(result);
      case "hash": {
        const flat = takeStringList(result);
        const record: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i] ?? ""] = flat[i + 1] ?? "";
        return record;
      }
      case "struct":
      case "structList":
        return this.takeStruct(binding, result);
    }
  }

  private takeStruct(binding: Binding, pointer: unknown): DecodedStruct | DecodedStruct[] {
    const types = returnStructTypes.get(binding.structName ?? "");
    if (!types || !binding.freeStruct) throw new Error(`${binding.cName}: no struct layout`);
    try {
      if (binding.returnKind === "struct") {
        const decoded = koffi.decode(pointer, types.element) as Record<string, unknown>;
        return normaliseStruct(decoded, types.fields);
      }
      const list = koffi.decode(pointer, types.list) as { len: number; val: unknown };
      if (list.len === 0) return [];
      const elements = koffi.decode(list.val, types.element, list.len) as Record<string, unknown>[];
      return elements.map((element) => normaliseStruct(element, types.fields));
    } finally {
      binding.freeStruct(pointer);
    }
  }
}
