/**
 * @split-v2v/helper-output-rhv-upload: -o rhv-upload (virt-v2v 2.2's output_rhv_upload), a
 * guest uploaded to a running oVirt/RHV engine through its REST API and imageio.
 */
export * from "./rhv-upload.js";
export {
  checkRhvUploadOptions,
  isNonNilUuid,
  rhvUploadRequestOf,
  RHV_UPLOAD_OPTIONS_HELP,
} from "./mode.js";
export {
  OvirtEngine,
  EngineError,
  membersOf,
  objectOf,
  stringOf,
  type ApiObject,
  type ApiResponse,
  type EngineOptions,
} from "./ovirt-api.js";
export {
  IMAGEIO_WRITER_SCRIPT,
  imageioOptions,
  imageioWriterSpec,
  redactTicket,
  writeUrlConfig,
  type ImageioFeatures,
  type ImageioTls,
} from "./imageio.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { outputRhvUploadMode } from "./mode.js";
