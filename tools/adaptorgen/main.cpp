// offshoot-adaptorgen — turns D-Bus introspection XML into abstract C++ adaptors over sd-bus
// for offshoot class plugins (the worker side; sdbus-c++-xml2cpp makes the client proxies
// from the same XML), and into the proxies a class calls its caller's objects with.
//
//   offshoot-adaptorgen --adaptor=OUT.hpp IN.xml
//   offshoot-adaptorgen --peer-proxy=OUT.hpp IN.xml
//
// The output is written to a temporary file and renamed, so a failed run never leaves a
// half-written header behind for the build to pick up.
#include "adaptor_generator.hpp"
#include "peer_proxy_generator.hpp"
#include "xml_reader.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

namespace {

int usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s --adaptor=OUT.hpp IN.xml\n       %s --peer-proxy=OUT.hpp IN.xml\n", argv0,
                 argv0);
    return 2;
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
    std::string out_path, in_path;
    bool peer_proxy = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool adaptor = arg.rfind("--adaptor=", 0) == 0, proxy = arg.rfind("--peer-proxy=", 0) == 0;
        if ((adaptor || proxy) && !out_path.empty()) return usage(argv[0]);  // one output per run
        if (adaptor || proxy) {
            out_path = arg.substr(arg.find('=') + 1);
            peer_proxy = proxy;
        } else if (arg == "--help" || arg == "-h") return usage(argv[0]), 0;
        else if (!arg.empty() && arg[0] == '-') return usage(argv[0]);
        else if (in_path.empty()) in_path = arg;
        else return usage(argv[0]);
    }
    if (out_path.empty() || in_path.empty()) return usage(argv[0]);

    try {
        const auto interfaces = adaptorgen::read_interfaces(in_path);
        const std::string text = peer_proxy ? adaptorgen::generate_peer_proxy_header(interfaces, base_name(in_path))
                                            : adaptorgen::generate_adaptor_header(interfaces, base_name(in_path));
        const std::string tmp = out_path + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out << text;
            out.close();
            if (!out) throw std::runtime_error(tmp + ": cannot write: " + std::strerror(errno));
        }
        if (std::rename(tmp.c_str(), out_path.c_str()) != 0)
            throw std::runtime_error(out_path + ": cannot rename into place: " + std::strerror(errno));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "offshoot-adaptorgen: %s\n", e.what());
        return 1;
    }
    return 0;
}
