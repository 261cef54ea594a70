// wire.hpp — the fuzz targets' way into sd-bus: fuzz bytes become the body of a real D-Bus
// method call that travels through a socket and sd-bus's own receive path (SASL, message
// reading, header and body parsing, vtable dispatch) before it reaches the code under test.
//
// sd-bus does not export a "parse this buffer" entry point, so a Peer holds one long-lived
// socketpair: one end is an sd-bus connection in server mode (as offshoot-worker's), the other
// a raw descriptor on which this file speaks the protocol by hand — SASL EXTERNAL, then
// messages marshalled by Writer. Reusing the pair keeps a run at tens of thousands of
// executions per second; nothing forks.
//
// Every call is checked the way a client would notice a fault: a call that expects a reply
// gets exactly one (a handler whose error reply cannot be sent leaves its caller hanging), an
// error reply has a valid error name and a UTF-8 message (or the client's sd-bus drops it),
// a call that expects none gets none. A message sd-bus itself refuses (sd_bus_process fails;
// offshoot-worker would close that peer's connection) is counted and the pair replaced.
#pragma once

#include <systemd/sd-bus.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace offshoot::fuzz {

// D-Bus marshalling into a byte string, in either byte order (the format's own alignment
// rules; offsets are relative to the start of the buffer, which is 8-aligned in a message).
class Writer {
public:
    explicit Writer(bool big_endian = false) : big_endian_(big_endian) {}

    bool big_endian() const noexcept { return big_endian_; }
    const std::string& bytes() const noexcept { return buf_; }
    size_t size() const noexcept { return buf_.size(); }

    void align(size_t n);
    void y(uint8_t v) { buf_ += static_cast<char>(v); }
    void b(bool v) { u(v ? 1 : 0); }
    void n(int16_t v) { q(static_cast<uint16_t>(v)); }
    void q(uint16_t v) { put(v, 2); }
    void i(int32_t v) { u(static_cast<uint32_t>(v)); }
    void u(uint32_t v) { put(v, 4); }
    void x(int64_t v) { t(static_cast<uint64_t>(v)); }
    void t(uint64_t v) { put(v, 8); }
    void d(double v);
    void h(uint32_t index) { u(index); }
    // 's' and 'o': length, bytes, NUL. Content is written as given (seeds may be invalid).
    void s(std::string_view v);
    // 'g': one-byte length, bytes, NUL.
    void g(std::string_view v);
    // An array: the length, padding to the element alignment, then the elements.
    // end_array() patches the length (of the elements, without that padding) in.
    struct Array {
        size_t length_at;
        size_t first;
    };
    Array begin_array(size_t element_alignment);
    void end_array(Array a);
    // A variant's signature; the value follows.
    void v(std::string_view signature) { g(signature); }
    void raw(std::string_view bytes) { buf_ += bytes; }

private:
    void put(uint64_t v, int width);

    std::string buf_;
    bool big_endian_;
};

// Alignment of the first type in `signature` on the wire.
size_t alignment_of(char type);

// Writes a plausible value of `signature` (any sequence of complete types) for seeds:
// `flavour` varies the values (0: small, 1: larger and nested, 2: edge values).
// 'h' refers to file descriptor index 0.
void write_sample(Writer& w, std::string_view signature, int flavour);

// One method call as the raw side sends it.
struct Call {
    const char* path = "/";
    const char* interface = nullptr;  // may be null
    const char* member = "M";
    std::string_view signature;
    bool big_endian = false;
    bool expect_reply = true;
    unsigned n_fds = 0;               // copies of /dev/null attached (UNIX_FDS), at most 4
};

class Peer {
public:
    // `attach` registers objects, vtables or filters on a server connection before it starts
    // (again on each replacement connection).
    explicit Peer(std::function<void(sd_bus*)> attach);
    ~Peer();
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    // Sends `body` as the body of `call`, lets the server process everything it received
    // and collects what it sent back. Aborts (a fuzzing finding) when a reply is missing or
    // doubled. When sd-bus itself refuses the message (sd_bus_process fails), the connection
    // is replaced, as offshoot-worker would close it, and the call counts as dropped.
    void deliver(const Call& call, std::string_view body);

    sd_bus* server() const noexcept { return server_; }
    uint64_t replies() const noexcept { return replies_; }
    // Connections sd-bus gave up on (and that were replaced).
    uint64_t dropped() const noexcept { return dropped_; }

private:
    void connect();
    void disconnect();
    void authenticate();
    bool write_all(const std::string& message, unsigned n_fds);  // false: sd-bus gave up
    bool pump();
    unsigned drain();  // replies (method returns and errors) read from the raw side

    std::function<void(sd_bus*)> attach_;
    sd_bus* server_ = nullptr;
    int raw_ = -1;
    int null_fd_ = -1;
    uint32_t serial_ = 0;
    uint64_t replies_ = 0;
    uint64_t dropped_ = 0;
    unsigned replies_pending_ = 0;  // replies to the call being delivered
    std::string inbox_;  // bytes read from the raw side, not yet a whole message
};

// Strict UTF-8 without NUL bytes: what D-Bus allows in a string.
bool valid_utf8(std::string_view s);

// Aborts with a message: a finding, saved by libFuzzer as a crash input.
[[noreturn]] void finding(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Seed writing: when OFFSHOOT_FUZZ_WRITE_SEEDS=<dir> is set, LLVMFuzzerInitialize writes the
// target's seed corpus there and exits (scripts/fuzz.sh --seeds regenerates the checked-in
// corpora). Files are named by content hash, as libFuzzer names its own.
const char* seed_dir();
void write_seed(std::string_view name_hint, std::string_view bytes);

}  // namespace offshoot::fuzz
