/**
 * @split-v2v/test-sshd (tests only): an sshd on 127.0.0.1 for the tests of the modes that read
 * over SSH (-i vmx -it ssh, -i libvirt -ic xen+ssh://), with the user's key in an ssh-agent and,
 * where the user has a shadow entry, a password.
 *
 * nbdkit's ssh plugin (libssh) insists on a known host key and reads it only from
 * ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts, so sshd and the programs under test run in a
 * private mount namespace where /etc/ssh (and, for password logins, /etc/shadow) are this
 * host's own copies; the machine's files are never touched. Needs root (sshd, the namespace).
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, readlink, rmdir, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";

/** The password of the user on this host (when password logins could be set up). */
export const SSH_PASSWORD = "split-v2v test password";

export interface RunInNamespaceOptions {
  /** Whether the test's ssh-agent (holding the user's key) is offered (SSH_AUTH_SOCK). */
  agent: boolean;
  /** Variables added to the environment. */
  env?: Record<string, string | undefined>;
}

export interface RunResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

export interface SshHost {
  port: number;
  user: string;
  /** A file holding the user's password, or null if logins by password cannot be set up. */
  passwordFile: string | null;
  /** Runs a command inside the namespace to its end (stdin ignored, output collected). */
  run(command: readonly string[], options: RunInNamespaceOptions): Promise<RunResult>;
  /** Starts a command inside the namespace; its output is streamed, not collected. */
  start(
    command: readonly string[],
    options: RunInNamespaceOptions,
  ): ResultPromise<{ buffer: false; reject: false; stdin: "ignore" }>;
  dispose(): Promise<void>;
}

const REQUIRED_PROGRAMS = [
  "/usr/sbin/sshd",
  "/usr/bin/ssh-keygen",
  "/usr/bin/ssh-agent",
  "/usr/bin/ssh-add",
  "/usr/bin/unshare",
  "/usr/bin/nsenter",
  "/usr/bin/openssl",
];

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Stops a process the host started and waits for it. */
async function stop(child: ResultPromise): Promise<void> {
  child.kill("SIGTERM");
  await child.catch(() => {});
}

/** Why an sshd cannot be run here, or null. */
export async function sshUnavailableReason(): Promise<string | null> {
  if (process.getuid?.() !== 0)
    return "needs root: sshd and a private mount namespace for its known_hosts file";
  const missing = REQUIRED_PROGRAMS.filter((program) => !existsSync(program));
  if (missing.length > 0)
    return `missing ${missing.join(", ")} (apt-get install openssh-server openssh-client)`;
  const probe = await execa("unshare", ["--mount", "--propagation", "private", "--", "true"], {
    reject: false,
  });
  if (probe.exitCode !== 0)
    return `cannot create a mount namespace: ${String(probe.stderr).trim()}`;
  return null;
}

/** Starts the host: its files (keys, config, copies of /etc/ssh and /etc/shadow) go in `root`. */
export async function startSshHost(root: string): Promise<SshHost> {
  const started: ResultPromise[] = [];
  let createdRunSshd = false;
  const dispose = async () => {
    for (const child of started.reverse()) await stop(child);
    if (createdRunSshd) await rmdir("/run/sshd").catch(() => {});
  };
  try {
    const user = os.userInfo().username;
    const keys = path.join(root, "keys");
    const etcSsh = path.join(root, "etc-ssh");
    await mkdir(keys, { mode: 0o700 });
    await mkdir(etcSsh);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keys, "host")]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keys, "user")]);
    await copyFile(path.join(keys, "user.pub"), path.join(keys, "authorized_keys"));
    const port = await freePort();
    // The host key the user would have accepted on a first `ssh` to the host.
    const hostKey = (await readFile(path.join(keys, "host.pub"), "utf8")).trim();
    await writeFile(path.join(etcSsh, "ssh_known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);

    // The namespace lives as long as this process.
    const holder = execa(
      "unshare",
      ["--mount", "--propagation", "private", "--", "sleep", "infinity"],
      { reject: false },
    );
    started.push(holder);
    const pid = String(holder.pid);
    const ownNamespace = await readlink("/proc/self/ns/mnt");
    await waitFor("the mount namespace", async () => {
      const namespace = await readlink(`/proc/${pid}/ns/mnt`).catch(() => ownNamespace);
      return namespace !== ownNamespace;
    });
    const enter = ["nsenter", "--target", pid, "--mount", `--wd=${process.cwd()}`, "--"];
    const inNamespace = (command: string[]) => execa(enter[0]!, [...enter.slice(1), ...command]);
    await inNamespace(["mount", "--bind", etcSsh, "/etc/ssh"]);

    // A password for the user, seen only by the namespace's sshd (through its own /etc/shadow).
    let passwordFile: string | null = null;
    const shadow = await readFile("/etc/shadow", "utf8").catch(() => null);
    if (shadow !== null && shadow.split("\n").some((line) => line.startsWith(`${user}:`))) {
      const hash = String(
        (await execa("openssl", ["passwd", "-6", "-stdin"], { input: SSH_PASSWORD })).stdout,
      ).trim();
      const ownShadow = path.join(root, "shadow");
      await writeFile(
        ownShadow,
        shadow
          .split("\n")
          .map((line) => {
            const fields = line.split(":");
            if (fields[0] === user) fields[1] = hash;
            return fields.join(":");
          })
          .join("\n"),
        { mode: 0o600 },
      );
      await inNamespace(["mount", "--bind", ownShadow, "/etc/shadow"]);
      passwordFile = path.join(root, "password");
      await writeFile(passwordFile, SSH_PASSWORD, { mode: 0o600 });
    }

    // sshd running as root checks its privilege separation directory (systemd creates it).
    if (!existsSync("/run/sshd")) {
      await mkdir("/run/sshd", { mode: 0o755 });
      createdRunSshd = true;
    }
    const config = path.join(root, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${path.join(keys, "host")}`,
        `AuthorizedKeysFile ${path.join(keys, "authorized_keys")}`,
        "PermitRootLogin yes",
        `PasswordAuthentication ${passwordFile === null ? "no" : "yes"}`,
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PidFile none",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const sshd = execa(
      "nsenter",
      ["--target", pid, "--mount", "--", "/usr/sbin/sshd", "-D", "-e", "-f", config],
      { reject: false },
    );
    started.push(sshd);
    await waitFor("sshd", () => accepts(port));

    const agentSocket = path.join(keys, "agent.sock");
    const agent = execa("ssh-agent", ["-D", "-a", agentSocket], { reject: false });
    started.push(agent);
    await waitFor("ssh-agent", async () => existsSync(agentSocket));
    await execa("ssh-add", ["-q", path.join(keys, "user")], {
      env: { SSH_AUTH_SOCK: agentSocket },
    });

    const environment = (options: RunInNamespaceOptions) => ({
      ...options.env,
      SSH_AUTH_SOCK: options.agent ? agentSocket : undefined,
    });
    return {
      port,
      user,
      passwordFile,
      run: async (command, options) => {
        const result = await execa(enter[0]!, [...enter.slice(1), ...command], {
          env: environment(options),
          reject: false,
          stripFinalNewline: false,
          stdin: "ignore",
        });
        return {
          exitCode: result.exitCode,
          signal: result.signal,
          stdout: String(result.stdout),
          stderr: String(result.stderr),
        };
      },
      start: (command, options) =>
        execa(enter[0]!, [...enter.slice(1), ...command], {
          env: environment(options),
          buffer: false,
          reject: false,
          stdin: "ignore",
        }),
      dispose,
    };
  } catch (err: unknown) {
    await dispose();
    throw err;
  }
}

/**
 * One host for every test of a file, started on first use: `get()` gives the host, or why there
 * is none (the tests then skip, saying so); `dispose()` (in an `after` hook) stops it.
 */
export function sharedSshHost(): {
  get(): Promise<SshHost | string>;
  dispose(): Promise<void>;
} {
  let host: Promise<{ host: SshHost; root: string } | string> | null = null;
  return {
    get: async () => {
      host ??= (async () => {
        const reason = await sshUnavailableReason();
        if (reason !== null) return reason;
        const root = await mkdtemp(path.join(os.tmpdir(), "split-v2v-test-sshd-"));
        return { host: await startSshHost(root), root };
      })();
      const started = await host;
      return typeof started === "string" ? started : started.host;
    },
    dispose: async () => {
      if (host === null) return;
      const started = await host.catch(() => null);
      if (started !== null && typeof started !== "string") {
        await started.host.dispose();
        await execa("rm", ["-rf", started.root]);
      }
    },
  };
}
