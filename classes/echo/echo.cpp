// echo.cpp — Echo: returns what it is given; the benchmarks' baseline call and payloads.
#include "org.offshoot1.example.Echo_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

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
    // Bounded (64 MiB a buffer) and in pieces of 256 KiB, so what the worker holds for a call
    // does not grow with what a caller sends.
    uint64_t EchoShared(const sdbus::UnixFd& in, const uint64_t& length, const sdbus::UnixFd& out) override {
        constexpr size_t max_buffer = size_t{64} << 20, piece_size = size_t{256} << 10;
        const auto source = offshoot::SharedBuffer::adopt(in, max_buffer);
        const auto target = offshoot::SharedBuffer::adopt(out, max_buffer);
        if (length > source.size() || length > target.size())
            throw offshoot::Error(offshoot::errors::invalid_argument,
                                  "length " + std::to_string(length) + " does not fit in buffers of " +
                                      std::to_string(source.size()) + " and " + std::to_string(target.size()) +
                                      " bytes");
        const auto total = static_cast<size_t>(length);
        std::vector<uint8_t> piece(std::min(total, piece_size));
        for (size_t done = 0; done < total;) {
            const std::span<uint8_t> part(piece.data(), std::min(piece.size(), total - done));
            source.read(done, part);
            target.write(done, part);
            done += part.size();
        }
        return length;
    }
};

}  // namespace

OFFSHOOT_CLASS(EchoObject)
