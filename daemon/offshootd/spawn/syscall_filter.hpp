// syscall_filter.hpp — a class's SystemCallFilter= compiled into a seccomp filter before fork;
// the child only loads it, as its last step before exec.
#pragma once

#include "config/class_config.hpp"

#include <memory>

namespace offshoot {

class SyscallFilter {
public:
    // nullptr when the class has no filter. Throws offshoot::Error (SpawnFailed) if the filter
    // cannot be built.
    static std::unique_ptr<SyscallFilter> build(const ClassConfig& cls);
    SyscallFilter(const SyscallFilter&) = delete;
    SyscallFilter& operator=(const SyscallFilter&) = delete;
    ~SyscallFilter();

    // Installs the filter in the calling process. Negative errno on failure.
    int load() const noexcept;

private:
    explicit SyscallFilter(void* ctx) : ctx_(ctx) {}
    void* ctx_;  // scmp_filter_ctx
};

}  // namespace offshoot
