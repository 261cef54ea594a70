// main.cpp — offshootd: command line, install-prefix discovery, and the daemon's run.
#include "daemon.hpp"
#include "errors.hpp"

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

}  // namespace

int main(int argc, char** argv) {
    using namespace offshoot;
    log::set_identifier("offshootd");

    CLI::App app{"offshootd — runs class instances in processes of their own, under the credentials "
                 "and working directory the caller asks for, served over private D-Bus connections."};
    bool system = false, session = false;
    std::string address, runtime_dir, log_level, worker;
    std::vector<std::string> config_dirs;
    uint32_t max_instances = 0;
    std::string daemon_config;
    app.add_flag("--system", system, "Serve on the system bus (the default)");
    app.add_flag("--session", session, "Serve on the session bus");
    app.add_option("--address", address, "Serve on the bus at this D-Bus address (embedded mode)");
    app.add_option("--runtime-dir", runtime_dir,
                   "Directory for instance sockets (default /run/offshoot, or $XDG_RUNTIME_DIR/offshoot when not root)");
    app.add_option("--config-dir", config_dirs,
                   "Extra class configuration directory; its files override vendor ones of the same name")
        ->check(CLI::ExistingDirectory);
    app.add_option("--log-level", log_level, "err, warning, notice, info or debug (default: $SYSTEMD_LOG_LEVEL or info)");
    app.add_option("--worker", worker, "Path of offshoot-worker (default: found next to offshootd)")
        ->check(CLI::ExistingFile);
    app.add_option("--max-instances", max_instances, "Most instance handles at once (overrides MaxInstances=)")
        ->check(CLI::Range(1u, 1000000u));
    app.add_option("--daemon-config", daemon_config,
                   "offshootd's own settings (default <sysconfdir>/offshoot/offshootd.conf; a missing file means defaults)");
    app.add_flag_callback("--version", [] {
        fmt::print("offshootd {}\n", OFFSHOOT_VERSION);
        std::exit(0);
    }, "Print the version and exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (int(system) + int(session) + int(!address.empty()) > 1) {
        fmt::print(stderr, "offshootd: --system, --session and --address exclude each other\n");
        return 2;
    }

    log::Level level = log::Level::info;
    if (const char* env = std::getenv("SYSTEMD_LOG_LEVEL"); env && !log::parse_level(env, level))
        log::warning("ignoring SYSTEMD_LOG_LEVEL={}: not a log level", env);
    if (!log_level.empty() && !log::parse_level(log_level, level)) {
        fmt::print(stderr, "offshootd: --log-level={} is not a log level (err, warning, notice, info, debug)\n", log_level);
        return 2;
    }
    log::set_level(level);

    DaemonOptions opt;
    opt.bus = !address.empty() ? DaemonOptions::Bus::address
              : session        ? DaemonOptions::Bus::session
                               : DaemonOptions::Bus::system;
    opt.address = address;
    if (runtime_dir.empty()) {
        const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        runtime_dir = geteuid() == 0 || !xdg ? "/run/offshoot" : std::string(xdg) + "/offshoot";
    }
    std::error_code ec;
    auto abs_runtime = std::filesystem::absolute(runtime_dir, ec);
    opt.runtime_dir = ec ? runtime_dir : abs_runtime.lexically_normal().string();
    while (opt.runtime_dir.size() > 1 && opt.runtime_dir.back() == '/') opt.runtime_dir.pop_back();

    const auto prefix = own_prefix();
    opt.worker_path = !worker.empty() ? worker : (prefix / OFFSHOOT_WORKER_SUBDIR / "offshoot-worker").string();
    opt.plugin_dir = (prefix / OFFSHOOT_PLUGIN_SUBDIR).string();
    const auto etc = prefix == "/usr" ? std::filesystem::path("/etc") : prefix / "etc";
    opt.config_dirs = {(prefix / OFFSHOOT_CLASSCONF_SUBDIR).string(), (etc / "offshoot/classes.d").string()};
    {
        std::string err;
        const auto file = !daemon_config.empty() ? daemon_config : (etc / "offshoot/offshootd.conf").string();
        if (!daemon_config.empty() && ::access(file.c_str(), R_OK) < 0) {
            log::error("--daemon-config={}: {}", file, errno_text(errno));
            return 1;
        }
        auto cfg = load_daemon_config(file, err);
        if (!cfg) {
            log::error("{}", err);
            return 1;
        }
        opt.limits = *cfg;
        if (max_instances) opt.limits.max_instances = max_instances;
    }
    for (auto& d : config_dirs) opt.config_dirs.push_back(std::filesystem::absolute(d, ec).string());
    if (::access(opt.worker_path.c_str(), X_OK) < 0) {
        log::error("offshoot-worker not found at {}: {}", opt.worker_path, errno_text(errno));
        return 1;
    }

    try {
        Daemon daemon{std::move(opt)};
        return daemon.run();
    } catch (const Error& e) {
        log::error("{}", e.getMessage());
        return 1;
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return 1;
    }
}
