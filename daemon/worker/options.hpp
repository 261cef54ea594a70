// options.hpp — offshoot-worker's command line (the argv half of the supervisor contract in
// offshoot/common/protocol.hpp):
//   offshoot-worker --class=NAME --plugin=PATH --instance=ID --owner-uid=UID
//                   [--stop-mode=terminate|wait] -- [ARGUMENT…]
// Parsed by hand: the worker sits on the spawn latency path, so no option framework.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace offshoot::worker {

enum class StopMode { terminate, wait };

struct Options {
    std::string class_name;
    std::string plugin_path;
    uint64_t instance_id = 0;
    uid_t owner_uid = 0;
    StopMode stop_mode = StopMode::terminate;
    std::vector<std::string> arguments;  // everything after "--", handed to the class
};

// Fills `out` from argv; on failure returns false with a message a person can act on.
bool parse_options(int argc, const char* const* argv, Options& out, std::string& error);

const char* to_string(StopMode mode) noexcept;

}  // namespace offshoot::worker
