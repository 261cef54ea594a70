// faulty.cpp — Faulty: fails (or stalls) on request, to test error, timeout and crash reporting.
#include "org.offshoot1.example.Faulty_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

class Faulty final : public org::offshoot1::example::Faulty_adaptor {
public:
    void Throw(const std::string& message) override {
        throw offshoot::Error("org.offshoot1.example.Faulty.Error", message);
    }

    void Stall(const uint32_t& milliseconds) override {
        if (milliseconds > 60'000)
            throw offshoot::Error(offshoot::error_name::invalid_args,
                                  "Stall: at most 60000 ms, not " + std::to_string(milliseconds));
        std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
    }

    void Crash(const std::string& how) override {
        if (how == "segv") {
            // raise() rather than a wild write: the same signal every time, whatever the
            // optimizer does.
            std::raise(SIGSEGV);
        } else if (how == "abort") {
            std::abort();
        } else if (how == "exit") {
            _exit(3);
        }
        throw offshoot::Error(offshoot::error_name::invalid_args,
                              "Crash: unknown way '" + how + "'; use segv, abort or exit");
    }
};

}  // namespace

OFFSHOOT_CLASS(Faulty)
