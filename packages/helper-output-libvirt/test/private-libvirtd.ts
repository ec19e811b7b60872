/**
 * Tests only: a libvirtd of the test's own, in session mode, in a temporary directory, so that a
 * test can define pools and domains without touching the host's libvirt (/run/libvirt,
 * /var/lib/libvirt, /etc/libvirt).
 *
 * libvirtd runs in session mode when it is not root, and then keeps everything under
 * $XDG_RUNTIME_DIR (its socket), $XDG_CONFIG_HOME (domains, pools) and $XDG_CACHE_HOME (qemu's
 * capabilities): all three point into the temporary directory. Run as root (as the tests are on
 * CI), the daemon is started as `nobody` through setpriv, with the kvm group when /dev/kvm exists
 * (so that its capabilities offer KVM guests). setpriv's --pdeathsig stops it if the test dies;
 * stop() ends it and removes the directory. The tests connect through its socket:
 * `qemu+unix:///session?socket=DIR/run/libvirt/libvirt-sock`.
 */
import { access, chmod, chown, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import { LibvirtConnection } from "@split-v2v/libvirt";

const LIBVIRTD = "/usr/sbin/libvirtd";
const QEMU_DRIVER = "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so";

export interface PrivateLibvirtd {
  /** The daemon's temporary directory (removed by stop()). */
  dir: string;
  /** The URI of the daemon's qemu driver, through its socket. */
  uri: string;
  /** Whether its capabilities offer x86_64 KVM guests. */
  kvm: boolean;
  /** Stops the daemon (and waits for it), then removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Why a private libvirtd cannot run here, or null if it can be tried. */
async function missingPieces(): Promise<string | null> {
  for (const [file, what] of [
    [LIBVIRTD, "libvirtd is not installed (Debian package libvirt-daemon)"],
    [QEMU_DRIVER, "libvirt's qemu driver is not installed (libvirt-daemon-driver-qemu)"],
    ["/usr/bin/qemu-system-x86_64", "qemu-system-x86_64 is not installed (qemu-system-x86)"],
  ] as const) {
    try {
      await access(file);
    } catch {
      return what;
    }
  }
  return null;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The ids of user nobody and of groups nogroup and kvm, as root needs them to start the daemon. */
async function daemonIdentity(): Promise<{ uid: number; gid: number; kvmGroup: boolean }> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const group = await readFile("/etc/group", "utf8");
  const field = (text: string, name: string, index: number) =>
    text
      .split("\n")
      .map((line) => line.split(":"))
      .find((fields) => fields[0] === name)?.[index];
  const uid = Number(field(passwd, "nobody", 2) ?? NaN);
  const gid = Number(field(passwd, "nobody", 3) ?? NaN);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("no user nobody");
  const kvmGroup = field(group, "kvm", 0) !== undefined && (await exists("/dev/kvm"));
  return { uid, gid, kvmGroup };
}

/**
 * Starts the daemon and waits until a connection through its socket works. Returns the reason
 * as a string when it cannot run here (for t.skip).
 */
export async function startPrivateLibvirtd(): Promise<PrivateLibvirtd | string> {
  const missing = await missingPieces();
  if (missing !== null) return missing;
  const dir = await mkdtemp(path.join(os.tmpdir(), "private-libvirtd-"));
  // The daemon's user must be able to reach its directories below this one.
  await chmod(dir, 0o755);
  const subdirs = ["home", "run", "config", "cache"] as const;
  for (const subdir of subdirs) await mkdir(path.join(dir, subdir), { mode: 0o700 });
  const env = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: path.join(dir, "home"),
    XDG_RUNTIME_DIR: path.join(dir, "run"),
    XDG_CONFIG_HOME: path.join(dir, "config"),
    XDG_CACHE_HOME: path.join(dir, "cache"),
    LANG: "C",
  };
  const asRoot = process.getuid?.() === 0;
  const setprivArgs = ["--pdeathsig", "TERM"];
  if (asRoot) {
    // As root libvirtd would be the system daemon; as nobody it is a session daemon.
    const identity = await daemonIdentity();
    for (const subdir of subdirs) await chown(path.join(dir, subdir), identity.uid, identity.gid);
    setprivArgs.push(
      `--reuid=${identity.uid}`,
      `--regid=${identity.gid}`,
      identity.kvmGroup ? "--groups=kvm" : "--clear-groups",
      "--inh-caps=-all",
    );
  }
  const daemon: ResultPromise = execa("setpriv", [...setprivArgs, "--", LIBVIRTD], {
    env,
    extendEnv: false,
    cwd: path.join(dir, asRoot ? "/" : "home"),
    reject: false,
    all: true,
    buffer: true,
  });
  let exited = false;
  void daemon.then(() => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => daemon.kill("SIGKILL"), 15_000);
      await daemon;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const socket = path.join(dir, "run", "libvirt", "libvirt-sock");
  const uri = `qemu+unix:///session?socket=${socket}`;
  const deadline = Date.now() + 60_000;
  let lastError = "its socket did not appear";
  while (Date.now() < deadline && !exited) {
    if (await exists(socket)) {
      try {
        const connection = LibvirtConnection.open(uri);
        try {
          const capabilities = connection.capabilities();
          const kvm = /<arch name='x86_64'>(?:(?!<\/arch>)[\s\S])*<domain type='kvm'/.test(
            capabilities,
          );
          return { dir, uri, kvm, stop };
        } finally {
          connection.close();
        }
      } catch (err: unknown) {
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
    await sleep(100);
  }
  const output = exited ? String((await daemon).all ?? "").trim() : "";
  await stop();
  return `a private libvirtd did not start: ${exited ? `it exited: ${output.split("\n").at(-1) ?? ""}` : lastError}`;
}
