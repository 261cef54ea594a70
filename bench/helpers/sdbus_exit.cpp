// sdbus_exit.cpp — offshoot-bench-sdbus-exit: the start-up floor of a C++ program that uses
// sd-bus (baseline/posix_spawn_sdbus_exit). It makes and frees one unconnected sd_bus object and
// exits 0. What posix_spawn + waitpid of it costs above /bin/true is the exec and the dynamic
// linking of libsystemd — with, on bookworm's systemd 252, its eager dependencies libgcrypt,
// libgpg-error, liblzma, libzstd, liblz4 and libcap — and of libstdc++: the part of a worker's
// start that comes before main() and that no code of ours can shorten.
#include <systemd/sd-bus.h>

#include <string>

int main(int argc, char** argv) {
    sd_bus* bus = nullptr;
    if (sd_bus_new(&bus) < 0) return 1;
    sd_bus_unref(bus);
    // A C++ program like the worker: libstdc++ is linked and initialised too.
    std::string name(argc > 0 ? argv[0] : "");
    return name.empty() ? 1 : 0;
}
