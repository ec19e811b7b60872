/**
 * The declarative list of libguestfs calls this package binds.
 *
 * Each entry is `jsName: [returnKind, C prototype]`. The prototype is copied verbatim from
 * /usr/include/guestfs.h (libguestfs 1.48), so it can be checked against the header; the
 * worker derives the FFI declaration and the argument marshalling from it. The return kind
 * says what the C return value means, which the C type alone does not tell (an `int` may be
 * a status, a count or a boolean; a `char **` may be a list or a key/value table).
 *
 * Adding a call: one line here, plus one typed method on `Guestfs` (src/guestfs.ts).
 */

/** What a C return value means, and how failure is signalled. */
export type ReturnKind =
  /** `int`: -1 is an error, anything else is success and carries nothing. */
  | "void"
  /** `int`: -1 is an error, otherwise a number. */
  | "int"
  /** `int`: -1 is an error, otherwise 0 or 1. */
  | "bool"
  /** `int64_t`: -1 is an error, otherwise a number (byte counts, small enums). */
  | "int64"
  /** `int64_t`: -1 is an error, otherwise an opaque handle (hivex node or value) as bigint. */
  | "handle"
  /** `int64_t`: -1 is an error, 0 means "not found" (→ null), otherwise a handle as bigint. */
  | "optionalHandle"
  /** `char *`: NULL is an error; the string is copied, then freed. */
  | "string"
  /** `const char *`: owned by the handle, copied and never freed. */
  | "constString"
  /** `char **` NULL-terminated: NULL is an error; every string and the array are freed. */
  | "strings"
  /** `char **` of key, value, key, value…: same ownership as "strings", returned as a record. */
  | "hash"
  /** `char *` with a `size_t *size_r` out-parameter: binary data, copied into a Buffer and freed. */
  | "buffer"
  /** `struct guestfs_X *`: decoded, then freed with `guestfs_free_X`. */
  | "struct"
  /** `struct guestfs_X_list *`: every element decoded, then freed with `guestfs_free_X_list`. */
  | "structList";

// One call per line, as in guestfs.h: keep the table greppable.
// prettier-ignore
export const CALLS = {
  setIdentifier: ["void", "int guestfs_set_identifier (guestfs_h *g, const char *identifier)"],
  getIdentifier: ["constString", "const char *guestfs_get_identifier (guestfs_h *g)"],
  setTrace: ["void", "int guestfs_set_trace (guestfs_h *g, int trace)"],
  getTrace: ["bool", "int guestfs_get_trace (guestfs_h *g)"],
  setVerbose: ["void", "int guestfs_set_verbose (guestfs_h *g, int verbose)"],
  getVerbose: ["bool", "int guestfs_get_verbose (guestfs_h *g)"],
  getMemsize: ["int", "int guestfs_get_memsize (guestfs_h *g)"],
  setMemsize: ["void", "int guestfs_set_memsize (guestfs_h *g, int memsize)"],
  getSmp: ["int", "int guestfs_get_smp (guestfs_h *g)"],
  setSmp: ["void", "int guestfs_set_smp (guestfs_h *g, int smp)"],
  setNetwork: ["void", "int guestfs_set_network (guestfs_h *g, int network)"],
  getNetwork: ["bool", "int guestfs_get_network (guestfs_h *g)"],
  setBackendSettings: ["void", "int guestfs_set_backend_settings (guestfs_h *g, char *const *settings)"],
  getBackendSettings: ["strings", "char **guestfs_get_backend_settings (guestfs_h *g)"],
  getBackend: ["string", "char *guestfs_get_backend (guestfs_h *g)"],
  setBackend: ["void", "int guestfs_set_backend (guestfs_h *g, const char *backend)"],
  setProgram: ["void", "int guestfs_set_program (guestfs_h *g, const char *program)"],
  getProgram: ["constString", "const char *guestfs_get_program (guestfs_h *g)"],
  setAutosync: ["void", "int guestfs_set_autosync (guestfs_h *g, int autosync)"],
  setPgroup: ["void", "int guestfs_set_pgroup (guestfs_h *g, int pgroup)"],
  getTmpdir: ["string", "char *guestfs_get_tmpdir (guestfs_h *g)"],
  getCachedir: ["string", "char *guestfs_get_cachedir (guestfs_h *g)"],
  addDrive: ["void", "int guestfs_add_drive_opts_argv (guestfs_h *g, const char *filename, const struct guestfs_add_drive_opts_argv *optargs)"],
  launch: ["void", "int guestfs_launch (guestfs_h *g)"],
  shutdown: ["void", "int guestfs_shutdown (guestfs_h *g)"],
  version: ["struct", "struct guestfs_version *guestfs_version (guestfs_h *g)"],
  available: ["void", "int guestfs_available (guestfs_h *g, char *const *groups)"],
  featureAvailable: ["bool", "int guestfs_feature_available (guestfs_h *g, char *const *groups)"],
  inspectOs: ["strings", "char **guestfs_inspect_os (guestfs_h *g)"],
  inspectGetRoots: ["strings", "char **guestfs_inspect_get_roots (guestfs_h *g)"],
  inspectGetType: ["string", "char *guestfs_inspect_get_type (guestfs_h *g, const char *root)"],
  inspectGetDistro: ["string", "char *guestfs_inspect_get_distro (guestfs_h *g, const char *root)"],
  inspectGetProductName: ["string", "char *guestfs_inspect_get_product_name (guestfs_h *g, const char *root)"],
  inspectGetProductVariant: ["string", "char *guestfs_inspect_get_product_variant (guestfs_h *g, const char *root)"],
  inspectGetMajorVersion: ["int", "int guestfs_inspect_get_major_version (guestfs_h *g, const char *root)"],
  inspectGetMinorVersion: ["int", "int guestfs_inspect_get_minor_version (guestfs_h *g, const char *root)"],
  inspectGetArch: ["string", "char *guestfs_inspect_get_arch (guestfs_h *g, const char *root)"],
  inspectGetOsinfo: ["string", "char *guestfs_inspect_get_osinfo (guestfs_h *g, const char *root)"],
  inspectGetPackageFormat: ["string", "char *guestfs_inspect_get_package_format (guestfs_h *g, const char *root)"],
  inspectGetPackageManagement: ["string", "char *guestfs_inspect_get_package_management (guestfs_h *g, const char *root)"],
  inspectGetHostname: ["string", "char *guestfs_inspect_get_hostname (guestfs_h *g, const char *root)"],
  inspectGetMountpoints: ["hash", "char **guestfs_inspect_get_mountpoints (guestfs_h *g, const char *root)"],
  inspectGetFilesystems: ["strings", "char **guestfs_inspect_get_filesystems (guestfs_h *g, const char *root)"],
  inspectGetWindowsSystemroot: ["string", "char *guestfs_inspect_get_windows_systemroot (guestfs_h *g, const char *root)"],
  inspectGetWindowsSoftwareHive: ["string", "char *guestfs_inspect_get_windows_software_hive (guestfs_h *g, const char *root)"],
  inspectGetWindowsSystemHive: ["string", "char *guestfs_inspect_get_windows_system_hive (guestfs_h *g, const char *root)"],
  inspectGetWindowsCurrentControlSet: ["string", "char *guestfs_inspect_get_windows_current_control_set (guestfs_h *g, const char *root)"],
  inspectGetDriveMappings: ["hash", "char **guestfs_inspect_get_drive_mappings (guestfs_h *g, const char *root)"],
  inspectListApplications2: ["structList", "struct guestfs_application2_list *guestfs_inspect_list_applications2 (guestfs_h *g, const char *root)"],
  listDevices: ["strings", "char **guestfs_list_devices (guestfs_h *g)"],
  listPartitions: ["strings", "char **guestfs_list_partitions (guestfs_h *g)"],
  listFilesystems: ["hash", "char **guestfs_list_filesystems (guestfs_h *g)"],
  listDmDevices: ["strings", "char **guestfs_list_dm_devices (guestfs_h *g)"],
  vfsType: ["string", "char *guestfs_vfs_type (guestfs_h *g, const char *mountable)"],
  vfsLabel: ["string", "char *guestfs_vfs_label (guestfs_h *g, const char *mountable)"],
  vfsUuid: ["string", "char *guestfs_vfs_uuid (guestfs_h *g, const char *mountable)"],
  cryptsetupOpen: ["void", "int guestfs_cryptsetup_open_argv (guestfs_h *g, const char *device, const char *key, const char *mapname, const struct guestfs_cryptsetup_open_argv *optargs)"],
  luksUuid: ["string", "char *guestfs_luks_uuid (guestfs_h *g, const char *device)"],
  lvmScan: ["void", "int guestfs_lvm_scan (guestfs_h *g, int activate)"],
  lvs: ["strings", "char **guestfs_lvs (guestfs_h *g)"],
  partInit: ["void", "int guestfs_part_init (guestfs_h *g, const char *device, const char *parttype)"],
  partDisk: ["void", "int guestfs_part_disk (guestfs_h *g, const char *device, const char *parttype)"],
  partGetParttype: ["string", "char *guestfs_part_get_parttype (guestfs_h *g, const char *device)"],
  partGetGptType: ["string", "char *guestfs_part_get_gpt_type (guestfs_h *g, const char *device, int partnum)"],
  partToDev: ["string", "char *guestfs_part_to_dev (guestfs_h *g, const char *partition)"],
  deviceIndex: ["int", "int guestfs_device_index (guestfs_h *g, const char *device)"],
  partToPartnum: ["int", "int guestfs_part_to_partnum (guestfs_h *g, const char *partition)"],
  partList: ["structList", "struct guestfs_partition_list *guestfs_part_list (guestfs_h *g, const char *device)"],
  mkfs: ["void", "int guestfs_mkfs_opts_argv (guestfs_h *g, const char *fstype, const char *device, const struct guestfs_mkfs_opts_argv *optargs)"],
  blockdevGetsize64: ["int64", "int64_t guestfs_blockdev_getsize64 (guestfs_h *g, const char *device)"],
  blockdevGetss: ["int", "int guestfs_blockdev_getss (guestfs_h *g, const char *device)"],
  isWholeDevice: ["bool", "int guestfs_is_whole_device (guestfs_h *g, const char *device)"],
  preadDevice: ["buffer", "char *guestfs_pread_device (guestfs_h *g, const char *device, int count, int64_t offset, size_t *size_r)"],
  pwriteDevice: ["int", "int guestfs_pwrite_device (guestfs_h *g, const char *device, const char *content, size_t content_size, int64_t offset)"],
  mount: ["void", "int guestfs_mount (guestfs_h *g, const char *mountable, const char *mountpoint)"],
  mountOptions: ["void", "int guestfs_mount_options (guestfs_h *g, const char *options, const char *mountable, const char *mountpoint)"],
  mountRo: ["void", "int guestfs_mount_ro (guestfs_h *g, const char *mountable, const char *mountpoint)"],
  umount: ["void", "int guestfs_umount (guestfs_h *g, const char *pathordevice)"],
  umountAll: ["void", "int guestfs_umount_all (guestfs_h *g)"],
  sync: ["void", "int guestfs_sync (guestfs_h *g)"],
  fstrim: ["void", "int guestfs_fstrim_argv (guestfs_h *g, const char *mountpoint, const struct guestfs_fstrim_argv *optargs)"],
  statvfs: ["struct", "struct guestfs_statvfs *guestfs_statvfs (guestfs_h *g, const char *path)"],
  exists: ["bool", "int guestfs_exists (guestfs_h *g, const char *path)"],
  isFile: ["bool", "int guestfs_is_file (guestfs_h *g, const char *path)"],
  isDir: ["bool", "int guestfs_is_dir (guestfs_h *g, const char *path)"],
  isSymlink: ["bool", "int guestfs_is_symlink (guestfs_h *g, const char *path)"],
  ls: ["strings", "char **guestfs_ls (guestfs_h *g, const char *directory)"],
  ll: ["string", "char *guestfs_ll (guestfs_h *g, const char *directory)"],
  find: ["strings", "char **guestfs_find (guestfs_h *g, const char *directory)"],
  globExpand: ["strings", "char **guestfs_glob_expand (guestfs_h *g, const char *pattern)"],
  readFile: ["buffer", "char *guestfs_read_file (guestfs_h *g, const char *path, size_t *size_r)"],
  readLines: ["strings", "char **guestfs_read_lines (guestfs_h *g, const char *path)"],
  cat: ["string", "char *guestfs_cat (guestfs_h *g, const char *path)"],
  write: ["void", "int guestfs_write (guestfs_h *g, const char *path, const char *content, size_t content_size)"],
  writeAppend: ["void", "int guestfs_write_append (guestfs_h *g, const char *path, const char *content, size_t content_size)"],
  upload: ["void", "int guestfs_upload (guestfs_h *g, const char *filename, const char *remotefilename)"],
  download: ["void", "int guestfs_download (guestfs_h *g, const char *remotefilename, const char *filename)"],
  mkdir: ["void", "int guestfs_mkdir (guestfs_h *g, const char *path)"],
  mkdirP: ["void", "int guestfs_mkdir_p (guestfs_h *g, const char *path)"],
  rm: ["void", "int guestfs_rm (guestfs_h *g, const char *path)"],
  rmRf: ["void", "int guestfs_rm_rf (guestfs_h *g, const char *path)"],
  cp: ["void", "int guestfs_cp (guestfs_h *g, const char *src, const char *dest)"],
  cpA: ["void", "int guestfs_cp_a (guestfs_h *g, const char *src, const char *dest)"],
  mv: ["void", "int guestfs_mv (guestfs_h *g, const char *src, const char *dest)"],
  chmod: ["void", "int guestfs_chmod (guestfs_h *g, int mode, const char *path)"],
  chown: ["void", "int guestfs_chown (guestfs_h *g, int owner, int group, const char *path)"],
  ln: ["void", "int guestfs_ln (guestfs_h *g, const char *target, const char *linkname)"],
  lnSf: ["void", "int guestfs_ln_sf (guestfs_h *g, const char *target, const char *linkname)"],
  realpath: ["string", "char *guestfs_realpath (guestfs_h *g, const char *path)"],
  caseSensitivePath: ["string", "char *guestfs_case_sensitive_path (guestfs_h *g, const char *path)"],
  touch: ["void", "int guestfs_touch (guestfs_h *g, const char *path)"],
  mkdtemp: ["string", "char *guestfs_mkdtemp (guestfs_h *g, const char *tmpl)"],
  rmdir: ["void", "int guestfs_rmdir (guestfs_h *g, const char *path)"],
  equal: ["bool", "int guestfs_equal (guestfs_h *g, const char *file1, const char *file2)"],
  command: ["string", "char *guestfs_command (guestfs_h *g, char *const *arguments)"],
  commandLines: ["strings", "char **guestfs_command_lines (guestfs_h *g, char *const *arguments)"],
  sh: ["string", "char *guestfs_sh (guestfs_h *g, const char *command)"],
  shLines: ["strings", "char **guestfs_sh_lines (guestfs_h *g, const char *command)"],
  augInit: ["void", "int guestfs_aug_init (guestfs_h *g, const char *root, int flags)"],
  augClose: ["void", "int guestfs_aug_close (guestfs_h *g)"],
  augGet: ["string", "char *guestfs_aug_get (guestfs_h *g, const char *augpath)"],
  augSet: ["void", "int guestfs_aug_set (guestfs_h *g, const char *augpath, const char *val)"],
  augRm: ["int", "int guestfs_aug_rm (guestfs_h *g, const char *augpath)"],
  augMatch: ["strings", "char **guestfs_aug_match (guestfs_h *g, const char *augpath)"],
  augSave: ["void", "int guestfs_aug_save (guestfs_h *g)"],
  augLoad: ["void", "int guestfs_aug_load (guestfs_h *g)"],
  augDefvar: ["int", "int guestfs_aug_defvar (guestfs_h *g, const char *name, const char *expr)"],
  augInsert: ["void", "int guestfs_aug_insert (guestfs_h *g, const char *augpath, const char *label, int before)"],
  hivexOpen: ["void", "int guestfs_hivex_open_argv (guestfs_h *g, const char *filename, const struct guestfs_hivex_open_argv *optargs)"],
  hivexClose: ["void", "int guestfs_hivex_close (guestfs_h *g)"],
  hivexCommit: ["void", "int guestfs_hivex_commit (guestfs_h *g, const char *filename)"],
  hivexRoot: ["handle", "int64_t guestfs_hivex_root (guestfs_h *g)"],
  hivexNodeGetChild: ["optionalHandle", "int64_t guestfs_hivex_node_get_child (guestfs_h *g, int64_t nodeh, const char *name)"],
  hivexNodeChildren: ["structList", "struct guestfs_hivex_node_list *guestfs_hivex_node_children (guestfs_h *g, int64_t nodeh)"],
  hivexNodeName: ["string", "char *guestfs_hivex_node_name (guestfs_h *g, int64_t nodeh)"],
  hivexNodeValues: ["structList", "struct guestfs_hivex_value_list *guestfs_hivex_node_values (guestfs_h *g, int64_t nodeh)"],
  hivexNodeGetValue: ["optionalHandle", "int64_t guestfs_hivex_node_get_value (guestfs_h *g, int64_t nodeh, const char *key)"],
  hivexNodeParent: ["handle", "int64_t guestfs_hivex_node_parent (guestfs_h *g, int64_t nodeh)"],
  hivexNodeAddChild: ["handle", "int64_t guestfs_hivex_node_add_child (guestfs_h *g, int64_t parent, const char *name)"],
  hivexNodeDeleteChild: ["void", "int guestfs_hivex_node_delete_child (guestfs_h *g, int64_t nodeh)"],
  hivexNodeSetValue: ["void", "int guestfs_hivex_node_set_value (guestfs_h *g, int64_t nodeh, const char *key, int64_t t, const char *val, size_t val_size)"],
  hivexValueKey: ["string", "char *guestfs_hivex_value_key (guestfs_h *g, int64_t valueh)"],
  hivexValueType: ["int64", "int64_t guestfs_hivex_value_type (guestfs_h *g, int64_t valueh)"],
  hivexValueValue: ["buffer", "char *guestfs_hivex_value_value (guestfs_h *g, int64_t valueh, size_t *size_r)"],
  hivexValueString: ["string", "char *guestfs_hivex_value_string (guestfs_h *g, int64_t valueh)"],
} as const satisfies Record<string, readonly [ReturnKind, string]>;

export type CallName = keyof typeof CALLS;

/**
 * Optional-argument structs of the `_argv` calls, field by field in header order. Field i
 * (counting from 0, after `bitmask`) is enabled by bit i of `bitmask`, which is how
 * guestfs.h numbers them (e.g. GUESTFS_ADD_DRIVE_OPTS_SERVER_BITMASK = 1 << 6).
 */
export const OPTARG_STRUCTS = {
  guestfs_add_drive_opts_argv: [
    ["readonly", "int"],
    ["format", "const char *"],
    ["iface", "const char *"],
    ["name", "const char *"],
    ["label", "const char *"],
    ["protocol", "const char *"],
    ["server", "char *const *"],
    ["username", "const char *"],
    ["secret", "const char *"],
    ["cachemode", "const char *"],
    ["discard", "const char *"],
    ["copyonread", "int"],
    ["blocksize", "int"],
  ],
  guestfs_cryptsetup_open_argv: [
    ["readonly", "int"],
    ["crypttype", "const char *"],
  ],
  guestfs_fstrim_argv: [
    ["offset", "int64_t"],
    ["length", "int64_t"],
    ["minimumfreeextent", "int64_t"],
  ],
  guestfs_hivex_open_argv: [
    ["verbose", "int"],
    ["debug", "int"],
    ["write", "int"],
    ["unsafe", "int"],
  ],
  guestfs_mkfs_opts_argv: [
    ["blocksize", "int"],
    ["features", "const char *"],
    ["inode", "int"],
    ["sectorsize", "int"],
    ["label", "const char *"],
  ],
} as const satisfies Record<string, readonly (readonly [string, OptargFieldType])[]>;

export type OptargFieldType = "int" | "int64_t" | "const char *" | "char *const *";

/** Structs that calls return, field by field in header order (spare fields included: layout). */
export const RETURN_STRUCTS = {
  guestfs_version: [
    ["major", "int64_t"],
    ["minor", "int64_t"],
    ["release", "int64_t"],
    ["extra", "char *"],
  ],
  guestfs_statvfs: [
    ["bsize", "int64_t"],
    ["frsize", "int64_t"],
    ["blocks", "int64_t"],
    ["bfree", "int64_t"],
    ["bavail", "int64_t"],
    ["files", "int64_t"],
    ["ffree", "int64_t"],
    ["favail", "int64_t"],
    ["fsid", "int64_t"],
    ["flag", "int64_t"],
    ["namemax", "int64_t"],
  ],
  guestfs_partition: [
    ["part_num", "int32_t"],
    ["part_start", "uint64_t"],
    ["part_end", "uint64_t"],
    ["part_size", "uint64_t"],
  ],
  guestfs_application2: [
    ["app2_name", "char *"],
    ["app2_display_name", "char *"],
    ["app2_epoch", "int32_t"],
    ["app2_version", "char *"],
    ["app2_release", "char *"],
    ["app2_arch", "char *"],
    ["app2_install_path", "char *"],
    ["app2_trans_path", "char *"],
    ["app2_publisher", "char *"],
    ["app2_url", "char *"],
    ["app2_source_package", "char *"],
    ["app2_summary", "char *"],
    ["app2_description", "char *"],
    ["app2_spare1", "char *"],
    ["app2_spare2", "char *"],
    ["app2_spare3", "char *"],
    ["app2_spare4", "char *"],
  ],
  guestfs_hivex_node: [["hivex_node_h", "int64_t"]],
  guestfs_hivex_value: [["hivex_value_h", "int64_t"]],
} as const satisfies Record<string, readonly (readonly [string, StructFieldType])[]>;

export type StructFieldType = "int32_t" | "int64_t" | "uint64_t" | "char *";

/**
 * A returned struct as it crosses from the worker: 64-bit fields as bigint (exact), 32-bit
 * fields as number, strings as string (NULL → null). `Guestfs` methods reshape these.
 */
export type DecodedStruct = Record<string, bigint | number | string | null>;

/** The JS value each return kind becomes when it reaches the caller's thread. */
export interface ReturnKindValue {
  void: undefined;
  int: number;
  bool: boolean;
  int64: number;
  handle: bigint;
  optionalHandle: bigint | null;
  string: string;
  constString: string | null;
  strings: string[];
  hash: Record<string, string>;
  buffer: Buffer;
  struct: DecodedStruct;
  structList: DecodedStruct[];
}

export type CallResult<K extends CallName> = ReturnKindValue[(typeof CALLS)[K][0]];
