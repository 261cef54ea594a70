// syscall_filter.cpp — SystemCallFilter= as a libseccomp allow-list.
#include "spawn/syscall_filter.hpp"

#include "offshoot/common/errors.hpp"

#include "config/syscall_sets.hpp"

#include <seccomp.h>

namespace offshoot {

std::unique_ptr<SyscallFilter> SyscallFilter::build(const ClassConfig& cls) {
    if (cls.syscall_filter.empty()) return nullptr;
    std::string err;
    auto allowed = resolve_syscall_filter(cls.syscall_filter, err);
    if (!allowed) fail(errors::spawn_failed, "seccomp: class {}: {}", cls.name, err);
    // Anything not allowed kills the whole worker (SIGSYS), or fails with the class's errno.
    // Only the native architecture is added, so the 32-bit syscall ABIs hit the default too.
    const uint32_t deny = cls.syscall_errno ? SCMP_ACT_ERRNO(static_cast<uint32_t>(*cls.syscall_errno))
                                            : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(deny);
    if (!ctx) fail(errors::spawn_failed, "seccomp: cannot create a filter");
    std::unique_ptr<SyscallFilter> f{new SyscallFilter(ctx)};
    // A call through another ABI (int $0x80's 32-bit table on x86-64) meets the same answer as
    // a call outside the list; libseccomp's own default would kill only the calling thread.
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny);
    if (r < 0) fail(errors::spawn_failed, "seccomp: cannot set the action for other ABIs: {}", errno_text(r));
    for (int nr : *allowed) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (r < 0) fail(errors::spawn_failed, "seccomp: cannot allow syscall {}: {}", nr, errno_text(r));
    }
    return f;
}

SyscallFilter::~SyscallFilter() { seccomp_release(static_cast<scmp_filter_ctx>(ctx_)); }

int SyscallFilter::load() const noexcept { return seccomp_load(static_cast<scmp_filter_ctx>(ctx_)); }

}  // namespace offshoot
