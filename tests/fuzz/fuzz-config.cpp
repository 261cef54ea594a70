// fuzz-config.cpp — the INI parsers of the class configuration and of offshootd.conf.
//
// Input: one selector byte (low bit 1: a class config, as in classes.d/*.conf; low bit 0:
// offshootd.conf), then the file's text. Seeds start with 'c' or 'd' accordingly.
//
// Findings: any sanitizer report (UBSan includes float-to-integer overflow, which the spawn
// rate limiter's arithmetic could hit); a parse that fails without saying why; and an accepted
// file whose values break what the parser promises (class names, plugin paths, limits with
// soft <= hard, umask, environment entries, daemon settings in range).
#include "config/daemon_config.hpp"
#include "config/class_config.hpp"
#include "wire.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace offshoot;
using fuzz::finding;

constexpr const char* plugin_dir = "/usr/lib/x86_64-linux-gnu/offshoot/classes";

void check_class(std::string_view text) {
    std::string error;
    const auto cfg = parse_class_config(text, "fuzz.conf", plugin_dir, error);
    if (!cfg) {
        if (error.empty()) finding("class config refused without a reason");
        return;
    }
    const auto& c = *cfg;
    if (c.name.empty() || c.name.size() > 128 ||
        !std::all_of(c.name.begin(), c.name.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
        }))
        finding("accepted class name '%.100s'", c.name.c_str());
    if (c.interface.empty() || c.interface.size() > 255) finding("accepted interface '%.100s'", c.interface.c_str());
    if (c.plugin.empty() || c.plugin[0] != '/') finding("plugin path '%.100s' is not absolute", c.plugin.c_str());
    if (c.plugin.rfind(plugin_dir, 0) == 0 && c.plugin.find('/', std::string_view(plugin_dir).size() + 1) != std::string::npos &&
        text.find(c.plugin) == std::string_view::npos)
        finding("a relative Plugin= resolved outside the plugin directory: '%.100s'", c.plugin.c_str());
    if (c.working_directory.empty() || c.working_directory[0] != '/')
        finding("accepted WorkingDirectory '%.100s'", c.working_directory.c_str());
    if (c.umask && *c.umask > 0777) finding("accepted UMask %#o", static_cast<unsigned>(*c.umask));
    for (const auto& l : c.limits)
        if (l.soft > l.hard) finding("accepted a limit with soft %llu > hard %llu", l.soft, l.hard);
    for (const auto& e : c.environment) {
        const size_t eq = e.find('=');
        if (eq == 0 || eq == std::string::npos) finding("accepted Environment entry '%.100s'", e.c_str());
    }
}

void check_words(std::string_view text) {
    for (const auto& w : split_words(text)) {
        if (w.empty()) finding("split_words returned an empty word");
        for (char ch : w)
            if (std::isspace(static_cast<unsigned char>(ch))) finding("split_words left whitespace in a word");
    }
    unsigned long long soft = 0, hard = 0;
    if (parse_limit_value(text, soft, hard) && soft > hard) finding("parse_limit_value accepted soft > hard");
}

void check_daemon(std::string_view text) {
    std::string error;
    const auto cfg = parse_daemon_config(text, error);
    if (!cfg) {
        if (error.empty()) finding("daemon config refused without a reason");
        return;
    }
    if (cfg->max_instances < 1 || cfg->max_instances > 1'000'000 || cfg->max_instances_per_user < 1 ||
        cfg->max_instances_per_user > 1'000'000 || cfg->spawn_rate_burst < 1 || cfg->spawn_rate_burst > 1'000'000 ||
        !(cfg->spawn_rate_per_second >= 0.001 && cfg->spawn_rate_per_second <= 1e6))
        finding("accepted a daemon setting out of range");
    // The limiter built from these settings, as offshootd builds one per caller: drain the
    // burst, then ask again at a few points in time.
    RateLimiter limiter(cfg->spawn_rate_per_second, cfg->spawn_rate_burst);
    uint64_t retry = 0, now = 1;
    const uint32_t burst = std::min<uint32_t>(cfg->spawn_rate_burst, 64);
    for (uint32_t k = 0; k < burst; ++k)
        if (!limiter.take(now, retry)) finding("the limiter refused within its burst");
    for (uint64_t step : {0ull, 1ull, 999ull, 1'000'000ull, 3'600'000'000ull, 1ull << 62}) {
        now += step;
        retry = 0;
        if (!limiter.take(now, retry) && retry == 0) finding("the limiter refused without a retry time");
        (void)limiter.full(now);
    }
}

void write_seeds() {
    auto seed = [](const char* name, std::string_view text) { fuzz::write_seed(name, text); };
    seed("class-counter", "c[Class]\nName=Counter\nPlugin=counter.so\nInterface=org.offshoot1.example.Counter\n"
                          "[Access]\nAllowedUsers=nobody 1000-60000\nAllowedCallers=root\n[Exec]\nWorkingDirectory=/\n");
    seed("class-everything",
         "c# every key\n[Class]\nName=Every_thing-1.0\nPlugin=/opt/x/every.so\nInterface=org.example.Every\n"
         "[Access]\nAllowedUsers=nobody 0 root 1000-60000 @staff\nAllowedCallers=root @adm 1000\nAllowAnyGroup=yes\n"
         "[Exec]\nWorkingDirectory=/srv/every\nUMask=0077\nEnvironment=LANG=C.UTF-8 A=1\nEnvironment=B=2\n"
         "LimitNOFILE=1024\nLimitNPROC=64:128\nLimitAS=1G\nLimitCORE=0\nLimitCPU=infinity\nLimitFSIZE=10M:1T\n"
         "LimitDATA=512K\nLimitSTACK=8M\nLimitMEMLOCK=64K\n"
         "SystemCallFilter=@system-service ~chdir\nSystemCallFilter=~@network-io openat\nSystemCallErrorNumber=EPERM\n");
    seed("class-errno-number", "c[Class]\nName=A\nPlugin=a.so\nInterface=a.b\n[Exec]\nSystemCallErrorNumber=13\n");
    seed("class-missing-interface", "c[Class]\nName=A\nPlugin=a.so\n");
    seed("class-plugin-subdir", "c[Class]\nName=A\nPlugin=sub/a.so\nInterface=a.b\n");
    seed("class-bad-limit", "c[Class]\nName=A\nPlugin=a.so\nInterface=a.b\n[Exec]\nLimitNOFILE=20:10\n");
    seed("class-limit-overflow", "c[Class]\nName=A\nPlugin=a.so\nInterface=a.b\n[Exec]\nLimitAS=18446744073709551615T\n");
    seed("class-unknown-section", "c[Klass]\nName=A\n");
    seed("class-unknown-group", "c[Class]\nName=A\nPlugin=a.so\nInterface=a.b\n[Exec]\nSystemCallFilter=@nope\n");
    seed("class-bad-umask", "c[Class]\nName=A\nPlugin=a.so\nInterface=a.b\n[Exec]\nUMask=0999\n");
    seed("class-syntax-error", "c[Class\nName\n");
    seed("class-continuation", "c[Class]\nName=A\n  continued\nPlugin=a.so\nInterface=a.b\n");
    seed("daemon-defaults", "d[Daemon]\nMaxInstances=4096\nMaxInstancesPerUser=64\nSpawnRatePerSecond=10\nSpawnRateBurst=20\n");
    seed("daemon-extremes", "d[Daemon]\nMaxInstances=1000000\nMaxInstancesPerUser=1\nSpawnRatePerSecond=0.001\nSpawnRateBurst=1000000\n");
    seed("daemon-fast", "d[Daemon]\nSpawnRatePerSecond=1e6\nSpawnRateBurst=1\n");
    seed("daemon-out-of-range", "d[Daemon]\nMaxInstances=0\n");
    seed("daemon-unknown", "d[Daemon]\nColour=blue\n");
    seed("daemon-empty", "d");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (fuzz::seed_dir()) {
        write_seeds();
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    if (data[0] & 1) {
        check_class(text);
        check_words(text);
    } else {
        check_daemon(text);
    }
    return 0;
}
