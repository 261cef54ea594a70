// options.cpp — hand-written parser for offshoot-worker's argv (see options.hpp).
#include "options.hpp"

#include <charconv>
#include <limits>
#include <string_view>

namespace offshoot::worker {
namespace {

template <class T>
bool parse_unsigned(std::string_view text, T max, T& out) {
    if (text.empty() || text.front() == '+' || text.front() == '-') return false;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v > static_cast<uint64_t>(max))
        return false;
    out = static_cast<T>(v);
    return true;
}

}  // namespace

const char* to_string(StopMode mode) noexcept {
    return mode == StopMode::wait ? "wait" : "terminate";
}

bool parse_options(int argc, const char* const* argv, Options& out, std::string& error) {
    bool have_class = false, have_plugin = false, have_instance = false, have_owner = false;
    int i = 1;
    for (; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        auto eq = arg.find('=');
        if (!arg.starts_with("--") || eq == std::string_view::npos) {
            error = "unexpected argument '" + std::string(arg) + "' (options are --name=value)";
            return false;
        }
        std::string_view name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
        if (name == "class") {
            if (value.empty()) { error = "--class= is empty"; return false; }
            out.class_name = value;
            have_class = true;
        } else if (name == "plugin") {
            if (!value.starts_with('/')) {
                error = "--plugin= must be an absolute path, got '" + std::string(value) + "'";
                return false;
            }
            out.plugin_path = value;
            have_plugin = true;
        } else if (name == "instance") {
            if (!parse_unsigned(value, std::numeric_limits<uint64_t>::max(), out.instance_id)) {
                error = "--instance= is not an unsigned 64-bit number: '" + std::string(value) + "'";
                return false;
            }
            have_instance = true;
        } else if (name == "owner-uid") {
            // (uid_t)-1 is "no uid" everywhere in the kernel API: never a valid owner.
            if (!parse_unsigned<uid_t>(value, static_cast<uid_t>(-2), out.owner_uid)) {
                error = "--owner-uid= is not a valid uid: '" + std::string(value) + "'";
                return false;
            }
            have_owner = true;
        } else if (name == "stop-mode") {
            if (value == "terminate") out.stop_mode = StopMode::terminate;
            else if (value == "wait") out.stop_mode = StopMode::wait;
            else {
                error = "--stop-mode= must be 'terminate' or 'wait', got '" + std::string(value) + "'";
                return false;
            }
        } else {
            error = "unknown option '--" + std::string(name) + "'";
            return false;
        }
    }
    for (; i < argc; ++i) out.arguments.emplace_back(argv[i]);

    const char* missing = !have_class ? "--class" : !have_plugin ? "--plugin"
                        : !have_instance ? "--instance" : !have_owner ? "--owner-uid" : nullptr;
    if (missing) {
        error = std::string("missing required option ") + missing + "=";
        return false;
    }
    return true;
}

}  // namespace offshoot::worker
