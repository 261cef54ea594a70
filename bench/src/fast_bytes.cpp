// fast_bytes.cpp — echo/offshoot_proxy_bytes/<B>: the evidence for a proposed client-library
// change. sdbus-c++ 1.2 marshals `ay` (std::vector<uint8_t>) one byte at a time
// (operator<< / operator>> on std::vector in Message.h: one sd_bus_message_append_basic or
// read_basic per element), which is what makes echo/offshoot_proxy slow for large payloads.
// Here the same proxy, connection and call are made with a byte type whose operators hand the
// whole array to sd-bus at once (sd_bus_message_append_array / read_array). Its own type, so
// the generated proxy's std::vector instantiations elsewhere in this program stay unchanged.
#include "common.hpp"

#include <offshoot/client.hpp>

#include <cstring>

namespace offshoot::bench {
struct Bytes {
    std::vector<uint8_t> data;
};
}  // namespace offshoot::bench

namespace sdbus {

template <>
struct signature_of<offshoot::bench::Bytes> : signature_of<std::vector<uint8_t>> {};

namespace {
// sdbus::Message keeps its sd_bus_message* protected; a pointer to the member, formed in a
// derived class, reads it without changing the library.
struct MessageAccess : Message {
    static sd_bus_message* raw(Message& m) { return static_cast<sd_bus_message*>(m.*(&MessageAccess::msg_)); }
};
}  // namespace

inline Message& operator<<(Message& msg, const offshoot::bench::Bytes& b) {
    int r = sd_bus_message_append_array(MessageAccess::raw(msg), 'y', b.data.data(), b.data.size());
    if (r < 0) throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs", "append ay failed");
    return msg;
}

inline Message& operator>>(Message& msg, offshoot::bench::Bytes& b) {
    const void* p = nullptr;
    size_t n = 0;
    int r = sd_bus_message_read_array(MessageAccess::raw(msg), 'y', &p, &n);
    if (r < 0) throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs", "read ay failed");
    b.data.assign(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return msg;
}

}  // namespace sdbus

namespace offshoot::bench {
namespace {

class RawProxy final {
public:
    explicit RawProxy(sdbus::IConnection& c) : proxy_(sdbus::createProxy(c, object_name, object_path)) {
        proxy_->finishRegistration();
    }
    Bytes echo(const Bytes& in) {
        Bytes out;
        proxy_->callMethod("Echo").onInterface(echo_iface).withArguments(in).storeResultsTo(out);
        return out;
    }

private:
    std::unique_ptr<sdbus::IProxy> proxy_;
};

struct Holder {
    explicit Holder(sdbus::IConnection& c, std::string, std::string) : proxy(c) {}
    RawProxy proxy;
};

void echo_proxy_bytes(benchmark::State& state) {
    Bytes data{std::vector<uint8_t>(static_cast<size_t>(state.range(0)))};
    for (size_t i = 0; i < data.data.size(); ++i) data.data[i] = static_cast<uint8_t>(i * 131 + 7);
    auto connected = offshoot::connect<Holder>(shared_echo().address);
    if (connected->proxy.echo(data).data != data.data) fail("Echo.Echo answered wrongly");
    Samples s(state.max_iterations);
    for (auto _ : state) {
        timed(s, [&] {
            if (connected->proxy.echo(data).data.size() != data.data.size()) fail("Echo.Echo: wrong size");
        });
    }
    s.report(state, static_cast<double>(data.data.size()));
}

}  // namespace

void register_fast_bytes() {
    const auto& c = config();
    for (int64_t size : {int64_t{64}, int64_t{4} << 10, int64_t{64} << 10, int64_t{1} << 20}) {
        int64_t n = std::clamp<int64_t>(c.payload_budget / size, 1, c.calls);
        benchmark::RegisterBenchmark("echo/offshoot_proxy_bytes", echo_proxy_bytes)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
}

}  // namespace offshoot::bench
