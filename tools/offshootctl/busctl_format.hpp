// busctl_format.hpp — busctl's command-line notation for D-Bus values, both ways, so that
// `offshootctl call` takes and prints exactly what `busctl call` does:
//
//   SIGNATURE ARGS…   x 5 | s hello | as 2 a b | (si) text 3 | v s hi | a{sv} 2 k1 s v k2 i 7
//
// basic types one argument each (b: true/false/yes/no/on/off/1/0); an array is its element
// count followed by the elements; a struct or dict entry is just its members in order; a
// variant is the contained signature followed by its value. File descriptors (h) cannot be
// passed from a command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemd/sd-bus.h>

namespace offshootctl {

// Appends ARGS to `m` following `signature`; throws UsageError when they don't fit it.
void append_cmdline(sd_bus_message* m, std::string_view signature, const std::vector<std::string>& args);

// A reply as busctl prints it: `x 5`, `as 2 "a" "b"`; "" for an empty reply.
std::string format_cmdline(sd_bus_message* m);

// A reply as `busctl --json=short` prints it: {"type":"x","data":[5]}.
nlohmann::ordered_json format_json(sd_bus_message* m);

// The variant at m's current position, as `busctl get-property` prints a property: `x 5`, and
// with --json=short {"type":"x","data":5}.
std::string format_variant_cmdline(sd_bus_message* m);
nlohmann::ordered_json format_variant_json(sd_bus_message* m);

}  // namespace offshootctl
