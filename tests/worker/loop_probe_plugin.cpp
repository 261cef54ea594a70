// loop_probe_plugin.cpp — a hand-written loop-shaped class plugin for the worker tests: the
// Probe's contract (no generated adaptor) with offshoot::Loop's hooks, to test what the worker
// makes of them.
//
// Interface org.offshoot1.test.LoopProbe: Iterations() → t n.
// Arguments (from the worker's argv after "--"):
//   begin-throws=MSG    begin() throws offshoot::Error("org.offshoot1.test.Error.Begin", MSG)
// Without arguments it iterates once and stops.
#include "offshoot/object.hpp"

#include <string>

namespace {

constexpr const char* interface = "org.offshoot1.test.LoopProbe";

class LoopProbe final : public offshoot::Object, public offshoot::Loop {
public:
    explicit LoopProbe(const offshoot::ClassContext& ctx) {
        for (const auto& a : ctx.arguments)
            if (a.starts_with("begin-throws=")) begin_throws_ = a.substr(13);
    }

    void begin() override {
        if (!begin_throws_.empty()) throw offshoot::Error("org.offshoot1.test.Error.Begin", begin_throws_);
    }
    std::optional<std::chrono::milliseconds> loop() override {
        ++iterations_;
        return std::nullopt;
    }

    const char* interface_name() const noexcept override { return interface; }
    const sd_bus_vtable* vtable() const noexcept override { return vtable_; }

private:
    static int iterations(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto& self = *static_cast<LoopProbe*>(static_cast<offshoot::Object*>(userdata));
        return sd_bus_reply_method_return(m, "t", self.iterations_);
    }

    static const sd_bus_vtable vtable_[];

    std::string begin_throws_;
    uint64_t iterations_ = 0;
};

const sd_bus_vtable LoopProbe::vtable_[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("Iterations", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", n), iterations, 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

OFFSHOOT_CLASS(LoopProbe)
