/**
 * @split-v2v/common: what every split-v2v program shares. Nothing here knows about a particular
 * input or output mode.
 */
export * from "./errors.js";
export * from "./events.js";
export * from "./helper.js";
export * from "./lifetime.js";
export * from "./log.js";
export * from "./servers.js";
export * from "./workdir.js";
export * from "./yargs.js";
export * from "./input-disks.js";
export * from "./modes.js";
export * from "./metadata-in.js";
export * from "./helper-kit.js";
export * from "./remote-disks.js";
export * from "./libvirt-uri.js";
export * from "./ocaml-int.js";
export * from "./xml-query.js";
export * from "./local-target.js";
export * from "./output-options.js";
