// echo.cpp — Echo: returns what it is given; the benchmarks' baseline call and payloads.
#include "org.offshoot1.example.Echo_adaptor.hpp"

#include <offshoot/worker.hpp>

namespace {

// Not named Echo: a member function cannot share its class's name.
class EchoObject final : public org::offshoot1::example::Echo_adaptor {
public:
    int64_t Ping(const int64_t& v) override { return v; }
    std::vector<uint8_t> Echo(const std::vector<uint8_t>& data) override { return data; }
    // Maps the caller's sealed memfd (checked: offshoot/sealed_memfd.hpp) and answers with a
    // sealed copy: one memcpy, no bytes through the socket.
    sdbus::UnixFd EchoMemfd(const sdbus::UnixFd& data) override {
        auto in = offshoot::SealedMemfd::adopt(data);
        return offshoot::SealedMemfd::copy_of(in.bytes()).fd();
    }
};

}  // namespace

OFFSHOOT_CLASS(EchoObject)
