// return_value.hpp — the value a task's run() handed back, as offshootd keeps it for the
// instance's handle (Instance.WaitReturnValue, property ReturnValue).
//
// The worker sends it as a VALUE datagram on the readiness channel (offshoot/wire/readiness.hpp);
// the worker runs class code as another user, so the datagram is a stranger's input: bounded in
// size, signature, nesting and token count, and every value goes through sd-bus's own append
// (UTF-8, object paths, signatures) before offshootd accepts it.
#pragma once

#include <systemd/sd-bus.h>

#include <optional>
#include <string>
#include <string_view>

namespace offshoot {

class ReturnValue {
public:
    // The value `datagram` carries, checked by appending it to a scratch message on `bus`;
    // nullopt with a message a person can act on when it does not hold one good value.
    static std::optional<ReturnValue> from_datagram(sd_bus* bus, std::string_view datagram, std::string& error);

    // Appends the value as one 'v' element at m's current position; sd-bus's result.
    int append_variant(sd_bus_message* m) const;

    const std::string& signature() const noexcept { return signature_; }

private:
    ReturnValue() = default;
    std::string datagram_;   // as received (tokens are NUL-terminated in it)
    std::string signature_;
};

// Appends the tokens of `datagram` (a VALUE datagram) as one 'v' element to `m`. Negative errno
// (-EBADMSG for tokens that do not fit the signature) with `error` set; sd-bus's own refusals
// (a string that is not UTF-8, a malformed object path) come back as its errno. Exposed for
// the tests and the fuzz target.
int append_value_datagram(sd_bus_message* m, std::string_view datagram, std::string& error);

}  // namespace offshoot
