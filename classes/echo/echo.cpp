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
    // Copies the caller's bytes out of its buffer `in` once (offshoot/shared_buffer.hpp: the
    // caller can still write there) and into its buffer `out`: no new shared memory per call.
    uint64_t EchoShared(const sdbus::UnixFd& in, const uint64_t& length, const sdbus::UnixFd& out) override {
        const auto source = offshoot::SharedBuffer::adopt(in);
        const auto target = offshoot::SharedBuffer::adopt(out);
        if (length > target.size())
            throw offshoot::Error(offshoot::errors::invalid_argument,
                                  "length " + std::to_string(length) + " does not fit in the answer's buffer of " +
                                      std::to_string(target.size()) + " bytes");
        target.write(0, source.read(0, static_cast<size_t>(length)));
        return length;
    }
};

}  // namespace

OFFSHOOT_CLASS(EchoObject)
