// elementwise_bytes.cpp — echo/offshoot_proxy_elementwise/<B>: the baseline for
// liboffshoot-client's whole-array marshalling (offshoot/client/arrays.hpp). The same proxy
// call as echo/offshoot_proxy, but its `ay` goes through sdbus-c++ 1.2's own templates
// (Message.h: one sd_bus_message_append_basic / read_basic per byte), as every sdbus-c++
// proxy does without offshoot's header. Named explicitly (operator<< <uint8_t>), because
// arrays.hpp's overloads are visible here and would otherwise be chosen.
#include "common.hpp"

#include <offshoot/client.hpp>

namespace offshoot::bench {
struct ElementWise {
    std::vector<uint8_t> data;
};
}  // namespace offshoot::bench

namespace sdbus {

template <>
struct signature_of<offshoot::bench::ElementWise> : signature_of<std::vector<uint8_t>> {};

inline Message& operator<<(Message& msg, const offshoot::bench::ElementWise& b) {
    return sdbus::operator<< <uint8_t>(msg, b.data);
}

inline Message& operator>>(Message& msg, offshoot::bench::ElementWise& b) {
    return sdbus::operator>> <uint8_t>(msg, b.data);
}

}  // namespace sdbus

namespace offshoot::bench {
namespace {

class RawProxy final {
public:
    RawProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : proxy_(sdbus::createProxy(c, std::move(destination), std::move(path))) {
        proxy_->finishRegistration();
    }
    ElementWise echo(const ElementWise& in) {
        ElementWise out;
        proxy_->callMethod("Echo").onInterface(echo_iface).withArguments(in).storeResultsTo(out);
        return out;
    }

private:
    std::unique_ptr<sdbus::IProxy> proxy_;
};

void echo_proxy_elementwise(benchmark::State& state) {
    ElementWise data{std::vector<uint8_t>(static_cast<size_t>(state.range(0)))};
    for (size_t i = 0; i < data.data.size(); ++i) data.data[i] = static_cast<uint8_t>(i * 131 + 7);
    auto connected = offshoot::connect<RawProxy>(shared_echo().address);
    if (connected->echo(data).data != data.data) fail("Echo.Echo answered wrongly");
    Samples s(state.max_iterations);
    for (auto _ : state) {
        timed(s, [&] {
            if (connected->echo(data).data.size() != data.data.size()) fail("Echo.Echo: wrong size");
        });
    }
    s.report(state, static_cast<double>(data.data.size()));
}

}  // namespace

void register_elementwise_bytes() {
    const auto& c = config();
    for (int64_t size : payload_sizes) {
        if (size > elementwise_max_size) continue;
        int64_t n = std::clamp<int64_t>(c.payload_budget / size, 1, c.calls);
        benchmark::RegisterBenchmark("echo/offshoot_proxy_elementwise", echo_proxy_elementwise)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
}

}  // namespace offshoot::bench
