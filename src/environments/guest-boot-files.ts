import { AGENT_PORT_NAME } from "./catalog.js";

/** Where the image keeps the agent bundle and the pyro init script. */
export const GUEST_AGENT_DIR = "/opt/pyro";
const GUEST_AGENT_FILE = `${GUEST_AGENT_DIR}/pyro-agent.mjs`;
export const GUEST_INIT_FILE = "/sbin/pyro-init";

/**
 * /init of the initramfs (busybox sh). Debian's cloud kernel has virtio as modules, so
 * something must load them before the root disk exists: this does, mounts /dev/vda and
 * switches to the rootfs. Every failure is printed on the console (which the host keeps
 * and shows in boot errors) and powers the VM off instead of hanging until the deadline.
 * `pyro.init=PROGRAM` on the kernel command line replaces pyro-init (the benchmark's bare
 * boot uses `pyro.init=/bin/sh -- -c "echo ready"`; also handy for debugging an image);
 * arguments after `--` reach that program.
 */
export const INITRAMFS_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() {
  echo "pyro-initramfs: $*"
  poweroff -f
}
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r module; do
  insmod "/modules/$module.ko" || fail "could not load module $module"
done < /modules.list
tries=0
while [ ! -b /dev/vda ]; do
  tries=$((tries + 1))
  [ "$tries" -gt 1000 ] && fail "root disk /dev/vda did not appear"
  usleep 10000
done
mount -t ext4 -o rw,noatime /dev/vda /newroot || fail "could not mount the root disk"
init=${GUEST_INIT_FILE}
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    pyro.init=*) init="\${arg#pyro.init=}" ;;
  esac
done
[ -x "/newroot$init" ] || fail "$init is missing from the root disk"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot "$init" "$@"
`;

/**
 * PID 1's script on the rootfs: mounts what a Debian userland expects, sets the clock from
 * the host (TCG guests have no trustworthy clock), brings up loopback and hands PID 1 to
 * tini, which reaps orphans while the agent serves the virtio-serial port.
 */
export const GUEST_INIT = `#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    pyro.epoch=*) date -u -s "@\${arg#pyro.epoch=}" >/dev/null ;;
  esac
done
echo pyro > /proc/sys/kernel/hostname
ip link set lo up 2>/dev/null
mkdir -p /workspace
echo "pyro-init: starting the agent"
# The agent's port reader blocks one libuv pool thread for good; give file work room.
export UV_THREADPOOL_SIZE=8
exec /usr/bin/tini -s -- /usr/bin/node ${GUEST_AGENT_FILE} --serial-port ${AGENT_PORT_NAME} --root /workspace --state-dir /run/pyro-agent
`;
