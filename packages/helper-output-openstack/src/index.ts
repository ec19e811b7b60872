export * from "./output-openstack.js";
export {
  OPENSTACK_PROGRAM,
  OpenstackClient,
  programOnPath,
  type OpenstackClientOptions,
  type OpenstackResult,
} from "./openstack-client.js";
// The mode this package serves, as the supervisor's table and --describe see it.
export {
  outputOpenstackMode,
  checkOutputOpenstackOptions,
  openstackGlobalArgs,
  DEFAULT_DEV_DISK_BY_ID,
  OPENSTACK_OPTIONS_HELP,
} from "./mode.js";
