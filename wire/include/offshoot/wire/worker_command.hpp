// offshoot/wire/worker_command.hpp — offshoot-worker's command line, the argv half of the
// contract between offshootd and the worker (readiness.hpp is the other half): one type that
// offshootd turns into argv and the worker reads back, so the two cannot drift apart.
//
//   offshoot-worker --class=NAME --plugin=PATH --instance=ID --owner-uid=UID
//                   [--interface=NAME] [--stop-mode=terminate|wait] [--max-connections=N]
//                   [--dumpable=yes|no] -- [ARGUMENT…]
//
// Parsed by hand: the worker sits on the spawn latency path, so no option framework.
#pragma once

#include <offshoot/names.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace offshoot::wire {

struct WorkerCommand {
    std::string class_name;
    std::string plugin;  // absolute
    // The class config's Interface=: the plugin must serve exactly this one (empty: no check).
    std::string interface;
    uint64_t instance_id = 0;
    uid_t owner_uid = 0;
    StopMode stop_mode = StopMode::terminate;
    size_t max_connections = 256;        // the class's MaxConnections=
    bool dumpable = false;               // the class's Dumpable=
    std::vector<std::string> arguments;  // everything after "--", handed to the class

    // argv[0] is `program`.
    std::vector<std::string> to_argv(const std::string& program) const;
    // Fills `out` from argv; on failure false, with a message a person can act on.
    static bool parse(int argc, const char* const* argv, WorkerCommand& out, std::string& error);
};

}  // namespace offshoot::wire
