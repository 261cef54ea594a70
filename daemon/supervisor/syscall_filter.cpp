// syscall_filter.cpp — SystemCallFilter= as a libseccomp allow-list.
#include "syscall_filter.hpp"

#include "errors.hpp"

#include "offshoot/common/syscall_sets.hpp"

#include <seccomp.h>

namespace offshoot {

std::unique_ptr<SyscallFilter> SyscallFilter::build(const ClassConfig& cls) {
    if (cls.syscall_filter.empty()) return nullptr;
    std::string err;
    auto allowed = resolve_syscall_filter(cls.syscall_filter, err);
    if (!allowed) fail(error_name::spawn_failed, "seccomp: class {}: {}", cls.name, err);
    // Anything not allowed kills the whole worker (SIGSYS), or fails with the class's errno.
    // Only the native architecture is added, so the 32-bit syscall ABIs hit the default too.
    const uint32_t deny = cls.syscall_errno ? SCMP_ACT_ERRNO(static_cast<uint32_t>(*cls.syscall_errno))
                                            : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(deny);
    if (!ctx) fail(error_name::spawn_failed, "seccomp: cannot create a filter");
    std::unique_ptr<SyscallFilter> f{new SyscallFilter(ctx)};
    for (int nr : *allowed) {
        int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (r < 0) fail(error_name::spawn_failed, "seccomp: cannot allow syscall {}: {}", nr, errno_text(r));
    }
    return f;
}

SyscallFilter::~SyscallFilter() { seccomp_release(static_cast<scmp_filter_ctx>(ctx_)); }

int SyscallFilter::load() const noexcept { return seccomp_load(static_cast<scmp_filter_ctx>(ctx_)); }

}  // namespace offshoot
