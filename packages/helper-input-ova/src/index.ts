/**
 * helper-v2v-input-ova: `virt-v2v -i ova` as a program and a library. The program is cli.ts; these
 * are the pieces other programs (and the tests) may use on their own.
 */
export {
  setUpInputOva,
  precheckInputOva,
  readOva,
  findOvf,
  nameFromOvaPath,
  describeInput,
  type InputOvaOptions,
  type InputOvaCheckOptions,
  type CheckedOva,
} from "./input-ova.js";
export {
  openOva,
  ovaPackaging,
  detectFileType,
  largeTmpDir,
  insideArchive,
  type OvaArchive,
  type OvaFile,
  type OvaFileType,
  type OvaPackaging,
  type OpenOvaOptions,
} from "./archive.js";
export { parseManifest, verifyManifests, ocamlQuoted, type ManifestEntry } from "./manifest.js";
export { parseOvf, type OvfGuest, type OvfDisk } from "./ovf.js";
export { locateDiskFile, prepareDisk, tarMemberView, type ServableDisk } from "./disks.js";
export {
  listTarMembers,
  tarMemberDataOffset,
  normaliseArchivePath,
  type TarMember,
  type TarMemberType,
} from "./tar.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputOvaMode } from "./mode.js";
