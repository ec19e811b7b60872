// virt-v2v 2.2's Libvirt_utils (lib/libvirt_utils.ml): the lookups -i libvirt and -o libvirt make,
// with virt-v2v's own messages as UserError.
import { UserError } from "@split-v2v/common";

import type { LibvirtConnection, LibvirtDomain, LibvirtPool, LibvirtVolume } from "./connection.js";
import { LibvirtError } from "./errors.js";
import {
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_NO_STORAGE_POOL,
  VIR_ERR_NO_STORAGE_VOL,
  VIR_FROM_DOMAIN,
} from "./ffi.js";

function isLibvirtError(error: unknown, code: number): error is LibvirtError {
  return error instanceof LibvirtError && error.code === code;
}

/**
 * virt-v2v's get_domain: `guest` is a UUID or a name (tried in that order). The domain must be
 * shut down, so that its disks are not changing under the conversion (RHBZ#1138586), except on
 * the test: driver, whose default domain is always running.
 */
export function findGuest(connection: LibvirtConnection, guest: string): LibvirtDomain {
  let domain: LibvirtDomain;
  try {
    domain = connection.lookupDomainByUuid(guest);
  } catch (error: unknown) {
    const notAUuidOrNoSuchDomain =
      isLibvirtError(error, VIR_ERR_NO_DOMAIN) ||
      (isLibvirtError(error, VIR_ERR_INVALID_ARG) && error.domain === VIR_FROM_DOMAIN);
    if (!notAUuidOrNoSuchDomain) throw error;
    try {
      domain = connection.lookupDomainByName(guest);
    } catch (nameError: unknown) {
      if (isLibvirtError(nameError, VIR_ERR_NO_DOMAIN)) {
        throw new UserError(`cannot find libvirt domain ‘${guest}’: ${nameError.message}`);
      }
      throw nameError;
    }
  }
  return checkGuestShutDown(connection.uri, domain);
}

/**
 * The check findGuest makes after the lookup: on any URI but test:, a running, blocked or paused
 * domain is refused (and freed). Returns the domain otherwise.
 */
export function checkGuestShutDown(uri: string, domain: LibvirtDomain): LibvirtDomain {
  if (uri.startsWith("test:")) return domain;
  let state;
  try {
    state = domain.state();
  } catch (error: unknown) {
    domain.free();
    throw error;
  }
  if (state === "running" || state === "blocked" || state === "paused") {
    const name = domain.name;
    domain.free();
    throw new UserError(
      `libvirt domain ‘${name}’ is running or paused.  It must be shut down in order to perform virt-v2v conversion`,
    );
  }
  return domain;
}

/** virt-v2v's get_pool: by UUID, then by name. */
export function findPool(connection: LibvirtConnection, name: string): LibvirtPool {
  try {
    return connection.lookupPool(name);
  } catch (error: unknown) {
    if (isLibvirtError(error, VIR_ERR_NO_STORAGE_POOL)) {
      throw new UserError(
        `cannot find libvirt pool ‘${name}’: ${error.message}\n\n` +
          "Use ‘virsh pool-list --all’ to list all available pools, and ‘virsh pool-dumpxml <pool>’ " +
          "to display details about a particular pool.\n\n" +
          "To set the pool which virt-v2v uses, add the ‘-os <pool>’ option.",
      );
    }
    throw error;
  }
}

/** virt-v2v's get_volume: by name within the pool. */
export function findVolume(pool: LibvirtPool, name: string): LibvirtVolume {
  try {
    return pool.lookupVolume(name);
  } catch (error: unknown) {
    if (isLibvirtError(error, VIR_ERR_NO_STORAGE_VOL)) {
      throw new UserError(`cannot find libvirt volume ‘${name}’: ${error.message}`);
    }
    throw error;
  }
}
