// worker_command.cpp — see offshoot/wire/worker_command.hpp.
#include <offshoot/wire/worker_command.hpp>

#include <charconv>
#include <limits>
#include <string_view>

namespace offshoot::wire {
namespace {

template <class T>
bool parse_unsigned(std::string_view text, T max, T& out) {
    if (text.empty() || text.front() == '+' || text.front() == '-') return false;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v > static_cast<uint64_t>(max)) return false;
    out = static_cast<T>(v);
    return true;
}

// One --name=value option into `out`; false with `error` set when the value is not good.
bool read_option(std::string_view name, std::string_view value, WorkerCommand& out, std::string& error) {
    auto bad = [&](const std::string& why) {
        error = "--" + std::string(name) + "= " + why + ", got '" + std::string(value) + "'";
        return false;
    };
    if (name == "class") {
        if (value.empty()) return bad("is empty");
        out.class_name = value;
    } else if (name == "plugin") {
        if (!value.starts_with('/')) return bad("must be an absolute path");
        out.plugin = value;
    } else if (name == "interface") {
        if (value.empty()) return bad("is empty");
        out.interface = value;
    } else if (name == "instance") {
        if (!parse_unsigned(value, std::numeric_limits<uint64_t>::max(), out.instance_id))
            return bad("is not an unsigned 64-bit number");
    } else if (name == "owner-uid") {
        // (uid_t)-1 is "no uid" everywhere in the kernel API: never a valid owner.
        if (!parse_unsigned<uid_t>(value, static_cast<uid_t>(-2), out.owner_uid)) return bad("is not a valid uid");
    } else if (name == "stop-mode") {
        const auto mode = parse_stop_mode(value);
        if (!mode) return bad("must be 'terminate' or 'wait'");
        out.stop_mode = *mode;
    } else if (name == "max-connections") {
        if (!parse_unsigned<size_t>(value, 1'000'000, out.max_connections) || out.max_connections == 0)
            return bad("must be 1 to 1000000");
    } else if (name == "dumpable") {
        if (value != "yes" && value != "no") return bad("must be 'yes' or 'no'");
        out.dumpable = value == "yes";
    } else {
        error = "unknown option '--" + std::string(name) + "'";
        return false;
    }
    return true;
}

}  // namespace

std::vector<std::string> WorkerCommand::to_argv(const std::string& program) const {
    std::vector<std::string> argv = {program,
                                     "--class=" + class_name,
                                     "--plugin=" + plugin,
                                     "--instance=" + std::to_string(instance_id),
                                     "--owner-uid=" + std::to_string(owner_uid),
                                     std::string("--stop-mode=") + stop_mode_name(stop_mode),
                                     "--max-connections=" + std::to_string(max_connections),
                                     std::string("--dumpable=") + (dumpable ? "yes" : "no"),
                                     "--"};
    if (!interface.empty()) argv.insert(argv.end() - 1, "--interface=" + interface);
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return argv;
}

bool WorkerCommand::parse(int argc, const char* const* argv, WorkerCommand& out, std::string& error) {
    bool seen_class = false, seen_plugin = false, seen_instance = false, seen_owner = false;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        const auto eq = arg.find('=');
        if (!arg.starts_with("--") || eq == std::string_view::npos) {
            error = "unexpected argument '" + std::string(arg) + "' (options are --name=value)";
            return false;
        }
        const std::string_view name = arg.substr(2, eq - 2);
        if (!read_option(name, arg.substr(eq + 1), out, error)) return false;
        seen_class |= name == "class";
        seen_plugin |= name == "plugin";
        seen_instance |= name == "instance";
        seen_owner |= name == "owner-uid";
    }
    for (; i < argc; ++i) out.arguments.emplace_back(argv[i]);
    const char* missing = !seen_class ? "--class" : !seen_plugin ? "--plugin"
                        : !seen_instance ? "--instance" : !seen_owner ? "--owner-uid" : nullptr;
    if (missing) {
        error = std::string("missing required option ") + missing + "=";
        return false;
    }
    return true;
}

}  // namespace offshoot::wire
