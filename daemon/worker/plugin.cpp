// plugin.cpp — see plugin.hpp.
#include "plugin.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

namespace offshoot::worker {

std::string describe_current_exception() {
    try {
        throw;
    } catch (const Error& e) {
        // offshoot::Error carries a D-Bus error name; its message is what a person reads.
        return e.getMessage().empty() ? e.getName() : e.getMessage();
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception (not derived from std::exception)";
    }
}

Plugin::Plugin(const std::string& path) {
    // dlopen's message says little about a file that is not there or not readable; errno
    // from access() gives the supervisor something precise to report.
    if (::access(path.c_str(), R_OK) < 0) {
        int e = errno;
        throw StartupError("load-plugin", e, "cannot read plugin " + path);
    }
    handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
        const char* msg = ::dlerror();
        throw StartupError("load-plugin", ENOEXEC, msg ? msg : ("cannot load " + path));
    }
    ::dlerror();
    void* sym = ::dlsym(handle_, create_object_symbol);
    if (!sym) {
        ::dlclose(handle_);
        handle_ = nullptr;
        throw StartupError("load-plugin", ENOENT,
                           path + " does not export " + create_object_symbol +
                               " (is OFFSHOOT_CLASS missing?)");
    }
    create_ = reinterpret_cast<CreateObjectFn>(sym);
}

Plugin::~Plugin() {
    if (handle_) ::dlclose(handle_);
}

std::unique_ptr<Object> Plugin::create(const ClassContext& context) const {
    std::unique_ptr<Object> object;
    try {
        object.reset(create_(context));
    } catch (...) {
        throw StartupError("create-object", 0, describe_current_exception());
    }
    if (!object) throw StartupError("create-object", 0, "the plugin returned no object");
    const char* iface = object->interface_name();
    if (!iface || !*iface)
        throw StartupError("create-object", EINVAL, "the object has no interface name");
    if (!object->vtable())
        throw StartupError("create-object", EINVAL, "the object has no vtable");
    return object;
}

}  // namespace offshoot::worker
