export * from "./output-libvirt.js";
// The libvirt XML this mode defines, from the package every target format builds on.
export { createLibvirtXml, type DiskSource } from "@split-v2v/target-formats";

// The mode this package serves, as the supervisor's table sees it and --describe prints it.
export { outputLibvirtMode, checkOutputLibvirtOptions, checkOutputLibvirtFormat } from "./mode.js";
