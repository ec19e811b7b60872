/**
 * Firstboot: scripts the converted guest runs once, at its first boot on KVM, for what cannot be
 * done offline (installing packages from the network). Same layout as libguestfs's firstboot
 * (used by virt-v2v and virt-customize), so guests converted by either look alike:
 *   /usr/lib/virt-sysprep/firstboot.sh, /usr/lib/virt-sysprep/scripts/NNNN-name,
 *   a systemd unit guestfs-firstboot.service enabled for multi-user.target.
 */
import type { ConversionContext } from "../family.js";

const FIRSTBOOT_DIR = "/usr/lib/virt-sysprep";

const FIRSTBOOT_SH = `#!/bin/sh -
### BEGIN INIT INFO
# Provides:          virt-sysprep
# Required-Start:    $null
# Should-Start:      $all
# Required-Stop:     $null
# Should-Stop:       $all
# Short-Description: Start scripts to run once at next boot
# Description:       Start scripts to run once at next boot
#	These scripts run the first time the guest boots,
#	and then are deleted. Output or errors from the scripts
#	are written to ~root/virt-sysprep-firstboot.log.
### END INIT INFO

d=${FIRSTBOOT_DIR}/scripts
d_done=${FIRSTBOOT_DIR}/scripts-done
logfile=~root/virt-sysprep-firstboot.log

echo "$0" "$@" 2>&1 | tee -a $logfile
echo "Scripts dir: $d" 2>&1 | tee -a $logfile

if test "$1" = "start"
then
  mkdir -p $d_done
  for f in $d/* ; do
    if test -x "$f"
    then
      # move the script to the 'scripts-done' directory, so it is not
      # executed again at the next boot
      mv $f $d_done
      echo '=== Running' $f '===' 2>&1 | tee -a $logfile
      $d_done/$(basename $f) 2>&1 | tee -a $logfile
      echo '=== Exit code:' $? '===' 2>&1 | tee -a $logfile
    fi
  done
  rm -f $d_done/*
fi
`;

const FIRSTBOOT_SERVICE = `[Unit]
Description=libguestfs firstboot service
After=network.target
Before=prefdm.service

[Service]
Type=oneshot
ExecStart=${FIRSTBOOT_DIR}/firstboot.sh start
RemainAfterExit=yes
StandardOutput=kmsg+console
StandardError=kmsg+console

[Install]
WantedBy=multi-user.target
`;

async function installFirstbootService(context: ConversionContext): Promise<void> {
  const { g } = context;
  if (await g.isFile(`${FIRSTBOOT_DIR}/firstboot.sh`)) return;
  await g.mkdirP(`${FIRSTBOOT_DIR}/scripts`);
  await g.write(`${FIRSTBOOT_DIR}/firstboot.sh`, FIRSTBOOT_SH);
  await g.chmod(0o755, `${FIRSTBOOT_DIR}/firstboot.sh`);
  if (await g.isDir("/etc/systemd/system")) {
    // The administrator's unit directory: present wherever systemd is, unlike /lib/systemd/system.
    const unit = "/etc/systemd/system/guestfs-firstboot.service";
    await g.write(unit, FIRSTBOOT_SERVICE);
    await g.mkdirP("/etc/systemd/system/multi-user.target.wants");
    await g.lnSf(unit, "/etc/systemd/system/multi-user.target.wants/guestfs-firstboot.service");
    context.recordChange(unit, "installed and enabled the firstboot service");
  } else if (await g.isDir("/etc/init.d")) {
    // SysV init: run from rc3/rc5 once.
    await g.lnSf(`${FIRSTBOOT_DIR}/firstboot.sh`, "/etc/init.d/virt-sysprep-firstboot");
    for (const level of ["2", "3", "5"]) {
      if (await g.isDir(`/etc/rc${level}.d`))
        await g.lnSf(
          "/etc/init.d/virt-sysprep-firstboot",
          `/etc/rc${level}.d/S99virt-sysprep-firstboot`,
        );
    }
    context.recordChange(
      "/etc/init.d/virt-sysprep-firstboot",
      "installed the firstboot init script",
    );
  }
  context.recordChange(`${FIRSTBOOT_DIR}/firstboot.sh`, "installed the firstboot runner");
}

/** Adds a script to run at first boot (scripts run in name order). */
export async function addFirstbootScript(
  context: ConversionContext,
  name: string,
  script: string,
): Promise<void> {
  const { g } = context;
  await installFirstbootService(context);
  const existing = (await g.ls(`${FIRSTBOOT_DIR}/scripts`)).length;
  const file = `${FIRSTBOOT_DIR}/scripts/${String(existing + 1).padStart(4, "0")}-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
  await g.write(file, script);
  await g.chmod(0o755, file);
  context.recordChange(file, `firstboot script: ${name}`);
}

/** Seconds the guest-agent script waits for a default route before it gives up. */
const ROUTE_WAIT_SECONDS = 30;
/** Seconds any one network step (a name lookup, a repository request) may take. */
const NETWORK_STEP_TIMEOUT_SECONDS = 15;
/** Seconds the whole package installation may take. */
const INSTALL_TIMEOUT_SECONDS = 900;

/**
 * The shell lines that install qemu-guest-agent with the family's package manager, with short
 * timeouts and no retries: a guest without a usable network gives up at once instead of
 * waiting on resolvers and mirrors for minutes.
 */
function boundedInstall(family: string): string {
  const t = NETWORK_STEP_TIMEOUT_SECONDS;
  if (family === "debian") {
    const apt = `-o Acquire::Retries=0 -o Acquire::http::Timeout=${t} -o Acquire::https::Timeout=${t} -o Acquire::ftp::Timeout=${t}`;
    return [
      // Every repository host must resolve: apt would otherwise wait on each one in turn.
      "for host in $(sed -n -e 's#^[[:space:]]*deb\\(-src\\)\\?[[:space:]]\\+\\(\\[[^]]*\\][[:space:]]\\+\\)\\?[a-z+]*://\\([^/:[:space:]]*\\).*#\\3#p' \\",
      "    -e 's#^[[:space:]]*URIs:.*[a-z+]*://\\([^/:[:space:]]*\\).*#\\1#p' \\",
      "    /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | sort -u); do",
      `  if ! bounded ${t} getent hosts "$host" >/dev/null; then`,
      '    give_up "the package repository host $host cannot be resolved"',
      "  fi",
      "done",
      `bounded ${INSTALL_TIMEOUT_SECONDS} apt-get ${apt} update || give_up "apt-get update failed"`,
      `DEBIAN_FRONTEND=noninteractive bounded ${INSTALL_TIMEOUT_SECONDS} apt-get ${apt} -y install qemu-guest-agent || give_up "apt-get install failed"`,
    ].join("\n");
  }
  if (family === "suse") {
    return `bounded ${INSTALL_TIMEOUT_SECONDS} zypper --non-interactive install qemu-guest-agent || give_up "zypper install failed"`;
  }
  const options = `--setopt=retries=0 --setopt=timeout=${t}`;
  return [
    "if command -v dnf >/dev/null; then manager=dnf; else manager=yum; fi",
    `bounded ${INSTALL_TIMEOUT_SECONDS} $manager ${options} -y install qemu-guest-agent || give_up "$manager install failed"`,
  ].join("\n");
}

/**
 * The firstboot script that installs and starts qemu-guest-agent, per family (virt-v2v's
 * choices of package manager and service). virt-v2v's script can hold the first boot for
 * minutes on a guest without network (the firstboot service is part of multi-user.target).
 * This one never holds up the boot: under systemd it hands itself to a transient service and
 * returns at once; and every network step is bounded (a default route within
 * ROUTE_WAIT_SECONDS, each repository host resolvable, short timeouts, no retries), so a guest
 * without network gives up quickly, saying why in ~root/virt-sysprep-firstboot.log.
 */
export function guestAgentInstallScript(family: string, distro: string, major: number): string {
  const start =
    family === "debian"
      ? "service qemu-guest-agent start"
      : family === "suse"
        ? ""
        : family === "rhel" && distro !== "fedora" && major === 6
          ? "service qemu-ga start"
          : "systemctl start qemu-guest-agent";
  return `#!/bin/sh
# Installed by virt-v2v (split-v2v): the QEMU guest agent lets the host talk to this guest.
# The package comes from the guest's repositories, over the network, which a converted guest
# may not have yet: this runs outside the boot, and gives up quickly without a network.
unit=virt-v2v-install-qemu-guest-agent
if [ -z "$V2V_DETACHED" ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
  cp "$0" /run/$unit.sh &&
    exec systemd-run --no-block --quiet --unit=$unit --description="Install the QEMU guest agent (virt-v2v)" \\
      --setenv=V2V_DETACHED=1 /bin/sh /run/$unit.sh
fi
if [ -n "$V2V_DETACHED" ]; then
  exec >>/root/virt-sysprep-firstboot.log 2>&1
  trap 'rm -f /run/$unit.sh' EXIT
fi
give_up() {
  echo "qemu-guest-agent was not installed: $1; install it when the guest has network access"
  exit 0
}
bounded() {
  limit=$1; shift
  if command -v timeout >/dev/null; then timeout "$limit" "$@"; else "$@"; fi
}
if command -v ip >/dev/null; then
  waited=0
  until ip route show default 2>/dev/null | grep -q . || ip -6 route show default 2>/dev/null | grep -q .; do
    [ $waited -ge ${ROUTE_WAIT_SECONDS} ] && give_up "no default route after ${ROUTE_WAIT_SECONDS} s"
    sleep 1; waited=$((waited + 1))
  done
fi
${boundedInstall(family)}
${start}
`;
}
