// offshoot/common/errors.hpp — the error convention of offshoot's programs (offshootd,
// offshoot-worker, offshootctl), on top of the class SDK's (offshoot/error.hpp), so that both
// sides of every connection read alike:
//
// - Expected failures a caller can act on are thrown as offshoot::Error (= sdbus::Error: a D-Bus
//   error name from offshoot/names.hpp plus a message), fail() below builds one from a format.
// - At every D-Bus boundary the one catch ladder, offshoot::detail::current_exception_parts(),
//   turns whatever was thrown into a name and a message; anything that is not an
//   offshoot::Error is unexpected and logged where it is caught.
// - sd-bus calls return negative errno, libc calls return -1 and set errno; errno_text() reads
//   either sign. Checks read `if (r < 0) fail(…, errno_text(r))` (sd-bus) and
//   `if (x < 0) fail(…, errno_text(errno))` (libc).
#pragma once

#include <offshoot/error.hpp>
#include <offshoot/names.hpp>

#include <fmt/format.h>

#include <utility>

namespace offshoot {

template <class... A>
[[noreturn]] void fail(const char* name, fmt::format_string<A...> f, A&&... args) {
    throw Error(name, fmt::format(f, std::forward<A>(args)...));
}

}  // namespace offshoot
