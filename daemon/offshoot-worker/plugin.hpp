// plugin.hpp — loading a class plugin and creating its one object.
//
// A plugin is a shared object exporting offshoot::create_object_symbol (OFFSHOOT_CLASS).
// It is loaded RTLD_NOW (a missing symbol fails here, at start-up, not at the first call)
// and RTLD_LOCAL (two plugins' symbols never mix). The object is deleted before the
// plugin is unloaded: its code lives there.
#pragma once

#include "startup_error.hpp"

#include "offshoot/object.hpp"

#include <memory>
#include <stdexcept>
#include <string>

namespace offshoot::worker {

class Plugin {
public:
    // Throws StartupError("load-plugin", …).
    explicit Plugin(const std::string& path);
    ~Plugin();
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;

    // Creates the object; throws StartupError("create-object", …) for anything the
    // constructor throws, a null object or an empty interface name.
    std::unique_ptr<Object> create(const ClassContext& context) const;

private:
    void* handle_ = nullptr;
    CreateObjectFn create_ = nullptr;
};


}  // namespace offshoot::worker
