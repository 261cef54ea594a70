// plugin.cpp — see plugin.hpp.
#include "plugin.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

namespace offshoot::worker {

std::string describe_current_exception() {
    const detail::ExceptionParts e = detail::current_exception_parts();
    // An offshoot::Error's name is the class author's own word for what went wrong (a caller
    // may match on it): it stays in front of the message, "<error name>: <message>". Any other
    // exception has no name of its own, only what(); the name current_exception_parts() gives
    // it (org.freedesktop.DBus.Error.Failed) would say nothing.
    if (!e.expected) return e.message.empty() ? e.name : e.message;
    return e.message.empty() ? e.name : e.name + ": " + e.message;
}

Plugin::Plugin(const std::string& path) {
    // dlopen's message says little about a file that is not there or not readable; errno
    // from access() gives the supervisor something precise to report.
    if (::access(path.c_str(), R_OK) < 0) {
        int e = errno;
        throw StartupError("load-plugin", e, "cannot read plugin " + path);
    }
    // RTLD_NODELETE: the plugin's code stays mapped after dlclose(). A thread the class started
    // (one answering a deferred call, say) may still be running it while the worker exits.
    handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle_) {
        // dlerror() says it all ("…: undefined symbol: …"); no errno stands behind it, so none
        // is reported (offshootd would print its text after the message).
        const char* msg = ::dlerror();
        throw StartupError("load-plugin", 0, msg ? msg : ("cannot load " + path));
    }
    ::dlerror();
    void* sym = ::dlsym(handle_, create_object_symbol);
    if (!sym) {
        ::dlclose(handle_);
        handle_ = nullptr;
        throw StartupError("load-plugin", 0,
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
