/*
 * pyro's private-discard guard, loaded into qemu (LD_PRELOAD) when it restores a booted-guest
 * template (docs/qemu-backend.md, "Memory of a restored guest").
 *
 * A restored guest's RAM is the template's ram.bin mapped privately: pages it reads are the
 * file's page cache, shared by every guest restored from it; pages it writes become its own
 * copies. When the guest reports free memory (virtio-balloon free page reporting), QEMU's
 * ram_block_discard_range first punches a hole in the RAM block's file, then drops its own
 * mapping of the range (madvise MADV_DONTNEED). On a private mapping the punch is wrong: it
 * would zero the template under every guest restored from it. The drop alone is exactly
 * right: it frees the guest's copies, and the range reads as the template again, which is
 * what every guest restored from it started with.
 *
 * So this library answers a hole punch in the file named by PYRO_PRIVATE_RAM_FILE (matched
 * by device and inode, not by path) with success and does nothing else; QEMU then drops its
 * copies. Any other fallocate on that file fails with EPERM; any other file is left alone.
 * If the variable is set and the file cannot be identified, qemu is stopped before it
 * maps anything: a guard that cannot tell the file must not let the punch through.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static dev_t guarded_dev;
static ino_t guarded_ino;
static int guarding;

__attribute__((constructor)) static void pyro_private_discard_init(void) {
  const char *path = getenv("PYRO_PRIVATE_RAM_FILE");
  struct stat st;
  if (path == NULL) return;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "pyro private-discard: cannot stat %s\n", path);
    _exit(70);
  }
  guarded_dev = st.st_dev;
  guarded_ino = st.st_ino;
  guarding = 1;
  /* The programs qemu starts (the migration's `cat`) need neither. */
  unsetenv("LD_PRELOAD");
  unsetenv("PYRO_PRIVATE_RAM_FILE");
}

static int is_guarded(int fd) {
  struct stat st;
  if (!guarding || fstat(fd, &st) != 0) return 0;
  return st.st_dev == guarded_dev && st.st_ino == guarded_ino;
}

static int guarded_fallocate(int fd, int mode, off_t offset, off_t len) {
  if (is_guarded(fd)) {
    if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) return 0;
    errno = EPERM;
    return -1;
  }
  return (int)syscall(SYS_fallocate, fd, mode, offset, len);
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  return guarded_fallocate(fd, mode, offset, len);
}

int fallocate64(int fd, int mode, off_t offset, off_t len) {
  return guarded_fallocate(fd, mode, offset, len);
}
