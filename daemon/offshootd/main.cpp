// main.cpp — offshootd: command line, install-prefix discovery, and the daemon's run.
#include "daemon.hpp"
#include "offshoot/common/errors.hpp"

#include "offshoot/common/log.hpp"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace {

// offshootd finds its own install tree: <prefix>/bin/offshootd → <prefix>/libexec/offshoot,
// <prefix>/<libdir>/offshoot/classes, <prefix>/lib/offshoot/classes.d. The build tree has
// the same layout, so the daemon runs from either without set-up.
std::filesystem::path own_prefix() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return OFFSHOOT_INSTALL_PREFIX;
    return exe.parent_path().parent_path();
}

// The command line, as given.
struct CommandLine {
    bool system = false, session = false;
    std::string address, runtime_dir, log_level, worker, daemon_config;
    std::vector<std::string> config_dirs;
    uint32_t max_instances = 0;
};

void add_options(CLI::App& app, CommandLine& c) {
    app.add_flag("--system", c.system, "Serve on the system bus (the default)");
    app.add_flag("--session", c.session, "Serve on the session bus");
    app.add_option("--address", c.address, "Serve on the bus at this D-Bus address (embedded mode)");
    app.add_option("--runtime-dir", c.runtime_dir,
                   "Directory for instance sockets (default /run/offshoot, or $XDG_RUNTIME_DIR/offshoot when not root)");
    app.add_option("--config-dir", c.config_dirs,
                   "Extra class configuration directory; its files override vendor ones of the same name")
        ->check(CLI::ExistingDirectory);
    app.add_option("--log-level", c.log_level, "err, warning, notice, info or debug (default: $SYSTEMD_LOG_LEVEL or info)");
    app.add_option("--worker", c.worker, "Path of offshoot-worker (default: found next to offshootd)")
        ->check(CLI::ExistingFile);
    app.add_option("--max-instances", c.max_instances, "Most instance handles at once (overrides MaxInstances=)")
        ->check(CLI::Range(1u, 1000000u));
    app.add_option("--daemon-config", c.daemon_config,
                   "offshootd's own settings (default <sysconfdir>/offshoot/offshootd.conf; a missing file means defaults)");
    app.add_flag_callback("--version", [] {
        fmt::print("offshootd {}\n", OFFSHOOT_VERSION);
        std::exit(0);
    }, "Print the version and exit");
}

// $SYSTEMD_LOG_LEVEL, then --log-level. False (with a message) if --log-level is not a level.
bool set_log_level(const std::string& option) {
    using namespace offshoot;
    log::Level level = log::Level::info;
    if (const char* env = std::getenv("SYSTEMD_LOG_LEVEL"); env && !log::parse_level(env, level))
        log::warning("ignoring SYSTEMD_LOG_LEVEL={}: not a log level", env);
    if (!option.empty() && !log::parse_level(option, level)) {
        fmt::print(stderr, "offshootd: --log-level={} is not a log level (err, warning, notice, info, debug)\n", option);
        return false;
    }
    log::set_level(level);
    return true;
}

std::string runtime_dir_of(std::string dir) {
    if (dir.empty()) {
        const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        dir = geteuid() == 0 || !xdg ? "/run/offshoot" : std::string(xdg) + "/offshoot";
    }
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(dir, ec);
    std::string out = ec ? dir : absolute.lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

// The options the Daemon runs with, from the command line and the install tree; throws
// offshoot::Error with what is wrong.
offshoot::DaemonOptions daemon_options(const CommandLine& c) {
    using namespace offshoot;
    DaemonOptions opt;
    opt.bus = !c.address.empty() ? DaemonOptions::Bus::address
              : c.session        ? DaemonOptions::Bus::session
                                 : DaemonOptions::Bus::system;
    opt.address = c.address;
    opt.runtime_dir = runtime_dir_of(c.runtime_dir);

    const auto prefix = own_prefix();
    opt.worker_path = !c.worker.empty() ? c.worker : (prefix / OFFSHOOT_WORKER_SUBDIR / "offshoot-worker").string();
    opt.plugin_dir = (prefix / OFFSHOOT_PLUGIN_SUBDIR).string();
    const auto etc = prefix == "/usr" ? std::filesystem::path("/etc") : prefix / "etc";
    opt.config_dirs = {(prefix / OFFSHOOT_CLASSCONF_SUBDIR).string(), (etc / "offshoot/classes.d").string()};
    std::error_code ec;
    for (const auto& d : c.config_dirs) opt.config_dirs.push_back(std::filesystem::absolute(d, ec).string());

    const auto file = !c.daemon_config.empty() ? c.daemon_config : (etc / "offshoot/offshootd.conf").string();
    if (!c.daemon_config.empty() && ::access(file.c_str(), R_OK) < 0)
        fail(errors::failed, "--daemon-config={}: {}", file, errno_text(errno));
    std::string err;
    const auto cfg = load_daemon_config(file, err);
    if (!cfg) fail(errors::failed, "{}", err);
    opt.limits = *cfg;
    if (c.max_instances) opt.limits.max_instances = c.max_instances;

    if (::access(opt.worker_path.c_str(), X_OK) < 0)
        fail(errors::failed, "offshoot-worker not found at {}: {}", opt.worker_path, errno_text(errno));
    return opt;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace offshoot;
    log::set_identifier("offshootd");

    CLI::App app{"offshootd — runs class instances in processes of their own, under the credentials "
                 "and working directory the caller asks for, served over private D-Bus connections."};
    CommandLine c;
    add_options(app, c);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (int(c.system) + int(c.session) + int(!c.address.empty()) > 1) {
        fmt::print(stderr, "offshootd: --system, --session and --address exclude each other\n");
        return 2;
    }
    if (!set_log_level(c.log_level)) return 2;

    try {
        Daemon daemon{daemon_options(c)};
        return daemon.run();
    } catch (...) {
        log::error("{}", detail::current_exception_parts(errors::failed).message);
        return 1;
    }
}
