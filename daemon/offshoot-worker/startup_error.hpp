// startup_error.hpp — how the worker's start-up fails: a named step (load-plugin,
// create-object, register, listen, start, begin, …; main.cpp lists them in order), its errno
// (0 when it is not a system error) and a message. main() reports it on the readiness channel
// as ERROR=<step> (offshoot/wire/readiness.hpp), which offshootd answers as SpawnFailed.
#pragma once

#include <stdexcept>
#include <string>

namespace offshoot::worker {

struct StartupError : std::runtime_error {
    StartupError(std::string step_, int errno_, const std::string& message)
        : std::runtime_error(message), step(std::move(step_)), errno_value(errno_) {}
    std::string step;
    int errno_value;
};

// What the exception being handled says, as a start-up failure's text: "<error name>:
// <message>" for an offshoot::Error (the name is kept: docs/lifecycle.md promises it for every
// hook), what() of another exception (offshoot/error.hpp's catch ladder). Call it only from
// inside a catch block.
std::string describe_current_exception();

}  // namespace offshoot::worker
