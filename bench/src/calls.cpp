// calls.cpp — calls on one Echo instance over its private connection:
//   call/offshoot_proxy            Echo.Ping through the generated sdbus-c++ proxy, as
//                                  liboffshoot-client hands it out (offshoot::connect<P>: the
//                                  call runs on the caller's thread, a DeliveryThread stands by
//                                  for signals and async replies)
//   call/offshoot_proxy_calls_only the same proxy made with offshoot::calls_only: no thread,
//                                  sdbus-c++ calls sd_bus_call on the caller's thread
//   call/offshoot_proxy_with_callbacks
//                                  the same proxy made with offshoot::with_callbacks: sdbus-c++'s
//                                  classic loop thread, which every call is handed to (the
//                                  default before DeliveryThread: the same-run baseline)
//   call/offshoot_sdbus            plain sd-bus on the instance's address (the transport alone)
//   echo/offshoot_proxy/<B>, echo/offshoot_sdbus/<B>
//                                  Echo.Echo with B bytes (the proxy's ay marshalled in one piece
//                                  by offshoot/client/arrays.hpp; elementwise_bytes.cpp has the
//                                  same call through sdbus-c++'s element-wise templates)
//   echo_memfd/offshoot_proxy/<B>  Echo.EchoMemfd: B bytes copied into a sealed memfd, passed
//                                  as 'h', mapped and copied into a new one by the instance,
//                                  mapped and read back here (offshoot/sealed_memfd.hpp)
//   echo_shared/offshoot_proxy/<B> Echo.EchoShared: B bytes copied into this side's reused
//                                  buffer, copied out and into the other buffer by the
//                                  instance, and copied out of that here
//                                  (offshoot/shared_buffer.hpp)
//   async/offshoot_sdbus/<N>, async/offshoot_proxy/<N>
//                                  Echo.Ping with N calls in flight on one connection
#include "common.hpp"

#include "echo_proxy.hpp"

#include <offshoot/client.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace offshoot::bench {
namespace {

std::vector<uint8_t> pattern(size_t size) {
    std::vector<uint8_t> data(size);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
    return data;
}

void warm_up(EchoProxy& p) {
    for (int64_t i = 0; i < 100; ++i)
        if (p.Ping(i) != i) fail("Echo.Ping answered wrongly");
}

void offshoot_proxy(benchmark::State& state) {
    auto connected = offshoot::connect<EchoProxy>(shared_echo().address);
    warm_up(*connected);
    Samples s(state.max_iterations);
    int64_t v = 0;
    for (auto _ : state) {
        timed(s, [&] {
            ++v;
            if (connected->Ping(v) != v) fail("Echo.Ping answered wrongly");
        });
    }
    s.report(state);
}

template <class Kind>
void offshoot_proxy_of_kind(benchmark::State& state) {
    auto connected = offshoot::connect<EchoProxy>(Kind{}, shared_echo().address);
    warm_up(*connected);
    Samples s(state.max_iterations);
    int64_t v = 0;
    for (auto _ : state) {
        timed(s, [&] {
            ++v;
            if (connected->Ping(v) != v) fail("Echo.Ping answered wrongly");
        });
    }
    s.report(state);
}

// B bytes there and back as sealed memfds; the bytes are read on both sides (the last one
// checked here, every one copied by the instance), as a real consumer would touch them.
void echo_memfd(benchmark::State& state) {
    const auto data = pattern(static_cast<size_t>(state.range(0)));
    auto connected = offshoot::connect<EchoProxy>(shared_echo().address);
    auto round_trip = [&] {
        auto out = offshoot::SealedMemfd::copy_of(data);
        auto back = offshoot::SealedMemfd::adopt(connected->EchoMemfd(out.fd()));
        if (back.size() != data.size() || back.bytes().back() != data.back())
            fail("Echo.EchoMemfd answered different bytes");
    };
    round_trip();
    Samples s(state.max_iterations);
    for (auto _ : state) timed(s, round_trip);
    s.report(state, static_cast<double>(data.size()));
}

// B bytes there and back through two buffers made once (offshoot/shared_buffer.hpp): each call
// copies every byte in here, out and in again in the instance, and out again here — as many
// copies as the raw socketpair baseline makes, with no new shared memory per call.
void echo_shared(benchmark::State& state) {
    const auto data = pattern(static_cast<size_t>(state.range(0)));
    auto connected = offshoot::connect<EchoProxy>(shared_echo().address);
    auto in = offshoot::SharedBuffer::create(data.size()), out = offshoot::SharedBuffer::create(data.size());
    std::vector<uint8_t> back(data.size());
    auto round_trip = [&] {
        std::copy(data.begin(), data.end(), in.bytes().begin());
        if (connected->EchoShared(in.fd(), data.size(), out.fd()) != data.size())
            fail("Echo.EchoShared answered a different length");
        std::copy(out.bytes().begin(), out.bytes().end(), back.begin());
        if (back.back() != data.back()) fail("Echo.EchoShared answered different bytes");
    };
    round_trip();
    Samples s(state.max_iterations);
    for (auto _ : state) timed(s, round_trip);
    s.report(state, static_cast<double>(data.size()));
}

void offshoot_sdbus(benchmark::State& state) {
    BusPtr bus = open_bus(shared_echo().address);
    for (int i = 0; i < 100; ++i) sdbus_ping(bus.get(), object_name, i);
    Samples s(state.max_iterations);
    int64_t v = 0;
    for (auto _ : state) timed(s, [&] { sdbus_ping(bus.get(), object_name, ++v); });
    s.report(state);
}

void echo_proxy(benchmark::State& state) {
    const auto data = pattern(static_cast<size_t>(state.range(0)));
    auto connected = offshoot::connect<EchoProxy>(shared_echo().address);
    if (connected->Echo(data) != data) fail("Echo.Echo answered wrongly");
    Samples s(state.max_iterations);
    for (auto _ : state) {
        timed(s, [&] {
            auto back = connected->Echo(data);
            if (back.size() != data.size()) fail("Echo.Echo answered a different size");
        });
    }
    s.report(state, static_cast<double>(data.size()));
}

void sdbus_echo(sd_bus* bus, const std::vector<uint8_t>& data) {
    sd_bus_message* raw = nullptr;
    check(sd_bus_message_new_method_call(bus, &raw, object_name, object_path, echo_iface, "Echo"), "new call");
    MessagePtr call(raw);
    check(sd_bus_message_append_array(raw, 'y', data.data(), data.size()), "append ay");
    BusError e;
    sd_bus_message* reply = nullptr;
    check(sd_bus_call(bus, raw, 0, &e, &reply), "Echo.Echo", &e);
    MessagePtr owned(reply);
    const void* p = nullptr;
    size_t n = 0;
    check(sd_bus_message_read_array(reply, 'y', &p, &n), "Echo.Echo reply");
    if (n != data.size()) fail("Echo.Echo answered a different size");
}

void echo_sdbus(benchmark::State& state) {
    const auto data = pattern(static_cast<size_t>(state.range(0)));
    BusPtr bus = open_bus(shared_echo().address);
    sdbus_echo(bus.get(), data);
    Samples s(state.max_iterations);
    for (auto _ : state) timed(s, [&] { sdbus_echo(bus.get(), data); });
    s.report(state, static_cast<double>(data.size()));
}

// N Echo.Ping calls kept in flight with sd_bus_call_method_async on one connection, driven
// by sd_bus_process/sd_bus_wait on this thread until `total` replies have arrived.
struct SdbusPipeline {
    sd_bus* bus;
    int64_t total, issued = 0, done = 0;

    static int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<SdbusPipeline*>(userdata);
        if (sd_bus_message_is_method_error(m, nullptr))
            fail(std::string("async Echo.Ping: ") + sd_bus_message_get_error(m)->message);
        ++self->done;
        if (self->issued < self->total) self->issue();
        return 0;
    }
    void issue() {
        check(sd_bus_call_method_async(bus, nullptr, object_name, object_path, echo_iface, "Ping", on_reply, this,
                                       "x", issued++),
              "sd_bus_call_method_async");
    }
    void run(int64_t in_flight) {
        for (int64_t i = 0; i < in_flight && issued < total; ++i) issue();
        while (done < total) {
            int r = check(sd_bus_process(bus, nullptr), "sd_bus_process");
            if (r == 0) check(sd_bus_wait(bus, UINT64_MAX), "sd_bus_wait");
        }
    }
};

void async_sdbus(benchmark::State& state) {
    BusPtr bus = open_bus(shared_echo().address);
    for (int i = 0; i < 100; ++i) sdbus_ping(bus.get(), object_name, i);
    const int64_t total = config().async_calls;
    double seconds = 0;
    for (auto _ : state) {
        SdbusPipeline p{bus.get(), total};
        auto t0 = Clock::now();
        p.run(state.range(0));
        seconds += micros(Clock::now() - t0) / 1e6;
    }
    state.counters["calls_per_s"] = static_cast<double>(total * state.iterations()) / seconds;
}

// The same with sdbus-c++'s callMethodAsync on the proxy liboffshoot-client hands out: replies
// arrive on the connection's loop thread, which issues the next call; this thread waits.
// sdbus-c++ 1.2 holds its connection lock while it runs a reply callback, so nothing here may
// hold a lock of ours while calling into sdbus-c++ (that inverts the order and deadlocks).
void async_proxy(benchmark::State& state) {
    auto connected = offshoot::connect<EchoProxy>(shared_echo().address);
    warm_up(*connected);
    const int64_t total = config().async_calls;
    double seconds = 0;
    for (auto _ : state) {
        std::mutex mutex;
        std::condition_variable finished;
        std::atomic<int64_t> issued{0}, done{0};
        std::atomic<bool> failed{false};
        std::function<void()> issue;
        auto finish = [&] {
            std::lock_guard lock(mutex);
            finished.notify_one();
        };
        issue = [&] {
            int64_t k = issued.fetch_add(1);
            if (k >= total) return;
            connected->raw()
                .callMethodAsync("Ping")
                .onInterface(echo_iface)
                .withArguments(k)
                .uponReplyInvoke([&](const sdbus::Error* error, int64_t) {
                    if (error) failed = true;
                    if (++done == total || failed) finish();
                    else issue();
                });
        };
        auto t0 = Clock::now();
        for (int64_t i = 0; i < state.range(0); ++i) issue();
        {
            std::unique_lock lock(mutex);
            finished.wait(lock, [&] { return done.load() == total || failed.load(); });
        }
        seconds += micros(Clock::now() - t0) / 1e6;
        if (failed) fail("async Echo.Ping through the proxy failed");
    }
    state.counters["calls_per_s"] = static_cast<double>(total * state.iterations()) / seconds;
}

}  // namespace

void register_calls() {
    const auto& c = config();
    benchmark::RegisterBenchmark("call/offshoot_proxy", offshoot_proxy)
        ->Iterations(c.calls)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark("call/offshoot_proxy_calls_only", offshoot_proxy_of_kind<offshoot::calls_only_t>)
        ->Iterations(c.calls)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark("call/offshoot_proxy_with_callbacks",
                                 offshoot_proxy_of_kind<offshoot::with_callbacks_t>)
        ->Iterations(c.calls)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark("call/offshoot_sdbus", offshoot_sdbus)
        ->Iterations(c.calls)->Unit(benchmark::kMicrosecond)->UseRealTime();
    for (int64_t size : payload_sizes) {
        int64_t n = std::clamp<int64_t>(c.payload_budget / size, 1, c.calls);
        benchmark::RegisterBenchmark("echo/offshoot_proxy", echo_proxy)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
        benchmark::RegisterBenchmark("echo/offshoot_sdbus", echo_sdbus)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
    for (int64_t size : memfd_sizes) {
        int64_t n = std::clamp<int64_t>(c.payload_budget / size, 1, c.calls);
        benchmark::RegisterBenchmark("echo_memfd/offshoot_proxy", echo_memfd)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
        benchmark::RegisterBenchmark("echo_shared/offshoot_proxy", echo_shared)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
    for (int64_t n : {1, 16, 256}) {
        benchmark::RegisterBenchmark("async/offshoot_sdbus", async_sdbus)
            ->Arg(n)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark("async/offshoot_proxy", async_proxy)
            ->Arg(n)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
}

}  // namespace offshoot::bench
