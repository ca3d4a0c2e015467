/* sandbox_local: what a launched command gives up besides capabilities —
 * the caller's session keyring, and the keyring syscalls.
 *
 * Keys are not namespaced by a mount or pid namespace: a command that
 * inherits the caller's session keyring possesses (and reads) every key in
 * it.  The command joins a fresh anonymous session keyring, then a seccomp
 * filter refuses add_key, request_key and keyctl with EPERM, as Docker's
 * default profile does.  The filter checks the architecture: on x86_64 the
 * i386 entry points have their own numbers and x32 sets a bit in the
 * number; a foreign architecture gets ENOSYS for everything. */
#include <errno.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "local.h"

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define NR_MASK 0xBFFFFFFFu /* drop __X32_SYSCALL_BIT: x32 shares the numbers */
#define COMPAT_ARCH AUDIT_ARCH_I386
#define COMPAT_ADD_KEY 286
#define COMPAT_REQUEST_KEY 287
#define COMPAT_KEYCTL 288
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define NR_MASK 0xFFFFFFFFu
#define COMPAT_ARCH AUDIT_ARCH_ARM
#define COMPAT_ADD_KEY 309
#define COMPAT_REQUEST_KEY 310
#define COMPAT_KEYCTL 311
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#define NR_MASK 0xFFFFFFFFu
#define COMPAT_ARCH 0xFFFFFFFFu /* none: never matches */
#define COMPAT_ADD_KEY 0xFFFFFFFFu
#define COMPAT_REQUEST_KEY 0xFFFFFFFFu
#define COMPAT_KEYCTL 0xFFFFFFFFu
#else
#error "sandbox_local: add this architecture's audit arch and keyring syscall numbers to confine.c"
#endif

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

/* Jump offsets are relative to the next instruction; the indices in the
 * comments make them checkable. */
static const struct sock_filter keyring_filter[] = {
    /*  0 */ LD(offsetof(struct seccomp_data, arch)),
    /*  1 */ JEQ(NATIVE_ARCH, 0, 6), /* -> 8 */
    /*  2 */ LD(offsetof(struct seccomp_data, nr)),
    /*  3 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, NR_MASK),
    /*  4 */ JEQ(__NR_add_key, 10, 0), /* -> 15 */
    /*  5 */ JEQ(__NR_request_key, 9, 0),
    /*  6 */ JEQ(__NR_keyctl, 8, 0),
    /*  7 */ RET(SECCOMP_RET_ALLOW),
    /*  8 */ JEQ(COMPAT_ARCH, 0, 5), /* -> 14 */
    /*  9 */ LD(offsetof(struct seccomp_data, nr)),
    /* 10 */ JEQ(COMPAT_ADD_KEY, 4, 0), /* -> 15 */
    /* 11 */ JEQ(COMPAT_REQUEST_KEY, 3, 0),
    /* 12 */ JEQ(COMPAT_KEYCTL, 2, 0),
    /* 13 */ RET(SECCOMP_RET_ALLOW),
    /* 14 */ RET(SECCOMP_RET_ERRNO | ENOSYS),
    /* 15 */ RET(SECCOMP_RET_ERRNO | EPERM),
};

int local_confine(void)
{
    /* ENOSYS: a kernel without keys has no keyring to leak. */
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
        return -1;
    struct sock_fprog prog = {.len = sizeof(keyring_filter) / sizeof(keyring_filter[0]),
                              .filter = (struct sock_filter *)keyring_filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return -1;
    return 0;
}
