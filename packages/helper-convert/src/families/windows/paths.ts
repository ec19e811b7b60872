/**
 * Windows paths in the guest. NTFS through ntfs-3g is case-sensitive where Windows is not, so a
 * path virt-v2v writes to must be spelled as the guest already spells its existing parts
 * ("/Windows/System32/Drivers" for %SystemRoot%\system32\drivers), or the conversion would
 * create a second directory that Windows cannot tell from the first.
 */
import type { Guestfs } from "@split-v2v/libguestfs";

/**
 * `path` with each existing component spelled as in the guest and the missing ones as given.
 * (libguestfs's case_sensitive_path allows only the last component to be missing.)
 */
export async function guestSpelling(g: Guestfs, path: string): Promise<string> {
  const parts = path.split("/").filter((part) => part !== "");
  let resolved = "";
  for (const [index, part] of parts.entries()) {
    const candidate = await g.caseSensitivePath(`${resolved}/${part}`);
    if (!(await g.exists(candidate))) return [candidate, ...parts.slice(index + 1)].join("/");
    resolved = candidate;
  }
  return resolved === "" ? "/" : resolved;
}
