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

/** The commands that install and start qemu-guest-agent, per family (virt-v2v's choices). */
export function guestAgentInstallScript(family: string, distro: string, major: number): string {
  const install =
    family === "debian"
      ? "apt-get update\nDEBIAN_FRONTEND=noninteractive apt-get -y install qemu-guest-agent"
      : family === "suse"
        ? "zypper --non-interactive install qemu-guest-agent"
        : "if command -v dnf >/dev/null; then dnf -y install qemu-guest-agent; else yum -y install qemu-guest-agent; fi";
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
# Wait for the network (up to 2 minutes), as the package comes from the guest's repositories.
for i in $(seq 1 120); do
  if ip route 2>/dev/null | grep -q '^default'; then break; fi
  sleep 1
done
${install}
${start}
`;
}
