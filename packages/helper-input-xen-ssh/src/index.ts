/**
 * @split-v2v/helper-input-xen-ssh: `-i libvirt -ic xen+ssh://…` (a Xen guest, its disks read
 * over SSH) as a helper program, and the pieces it is built from for programs that want them.
 */
export {
  setUpInputXenSsh,
  precheckInputXenSsh,
  xenSshDiskPlan,
  type InputXenSshOptions,
  type InputXenSshCheckOptions,
  type CheckedXenSsh,
} from "./input-xen-ssh.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputXenSshMode } from "./mode.js";
