/**
 * @split-v2v/target-formats: the metadata an output mode writes beside the target disks, so
 * that the converted guest can be defined and booted on the target. Every output mode that
 * writes libvirt-like or other target metadata (-o local and -o disk today; -o libvirt,
 * -o qemu, -o kubevirt, -o rhv's OVF…) builds on this package, so that they all describe the
 * guest the same way virt-v2v 2.2 does.
 *
 * - `libvirt-xml.ts`: the libvirt domain XML (`createLibvirtXml`), the osinfo table
 *   (`osinfoUrl`), the target's features (`targetFeaturesFor`), and one builder per section
 *   of the document, for formats that reuse part of it.
 * - `ovf.ts`: the OVF document (`createOvf`) and the volume `.meta` files (`createMetaFiles`)
 *   that -o rhv, -o vdsm and -o rhv-upload write for oVirt/RHV, byte for byte as 2.2 does.
 * - `uefi.ts`: the UEFI firmware (OVMF/AAVMF code and vars) installed on this host.
 * - `xml.ts`: a minimal XML element tree and its serialiser (escaping, two-space indent).
 */
export {
  createLibvirtXml,
  osinfoUrl,
  targetFeaturesFor,
  GENERATED_BY,
  domainBasics,
  cpuElement,
  targetMachine,
  featuresElement,
  osElements,
  virtioModelFor,
  diskElements,
  diskElement,
  removableElement,
  nicElements,
  displayElements,
  graphicsElement,
  platformDeviceElements,
  QEMU_SOUND_CARDS,
  type LibvirtXmlInput,
  type DiskElementsInput,
  type DiskSource,
  type Machine,
  type VirtioModel,
} from "./libvirt-xml.js";
export {
  createOvf,
  createMetaFiles,
  ovfOsType,
  ovirtOsId,
  ovfFlavourOf,
  OVF_FLAVOURS,
  OVF_GENERATED_BY,
  OVIRT_MAX_DISKS,
  refuseTooManyOvirtDisks,
  type OvfFlavour,
  type OvfDisk,
  type OvfInput,
} from "./ovf.js";
export { findUefiFirmware, type UefiFirmware } from "./uefi.js";
export {
  createOpenstackImageProperties,
  type OpenstackImageProperty,
  type OpenstackImagePropertiesInput,
} from "./openstack-image-properties.js";
export {
  createQemuScript,
  QEMU_ACCEL_VARIABLE,
  DEFAULT_QEMU_ACCEL,
  type QemuScriptInput,
} from "./qemu-script.js";
export {
  createKubevirtYaml,
  kubevirtDiskName,
  KUBEVIRT_YAML_FORMS,
  yamlDocument,
  yamlMap,
  type KubevirtYamlForm,
  type KubevirtYamlInput,
  type YamlMap,
  type YamlValue,
} from "./kubevirt-yaml.js";
export {
  element,
  text,
  comment,
  serialiseDocument,
  type SerialiseOptions,
  type XmlElement,
  type XmlEscaping,
  type XmlNode,
} from "./xml.js";
