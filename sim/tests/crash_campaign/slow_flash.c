/* A slow flash for the crash campaign, preloaded into ukey-sim (LD_PRELOAD): every
 * positional write, which is how the image file's flash programs and erases, first waits
 * UKEY_SLOW_FLASH_US microseconds, as a NOR part takes its time to program. A command then
 * lasts long enough for a SIGKILL at a random instant to land between its flash writes,
 * which on a page-cache write of a few microseconds it almost never does. Nothing else
 * changes: the sockets and the log use other calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off_t);

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    static pwrite64_fn real;
    static long delay_ns;
    if (!real) {
        const char *us = getenv("UKEY_SLOW_FLASH_US");
        delay_ns = us ? atol(us) * 1000 : 0;
        real = (pwrite64_fn)dlsym(RTLD_NEXT, "pwrite64");
    }
    struct timespec pause = {delay_ns / 1000000000, delay_ns % 1000000000};
    nanosleep(&pause, NULL);
    return real(fd, buf, count, offset);
}
