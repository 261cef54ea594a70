// peer_proxy_generator.hpp — model → one header of proxies a class uses to call objects its
// caller exports on the private connection (offshoot/caller.hpp).
//
// For interface a.b.C it writes `namespace a::b { class C_peer : public offshoot::PeerProxy }`
// with, per D-Bus method M (in-args as const T&; out: void, T or std::tuple, as the adaptor's):
//   M(in…)        — waits for the reply (not on the worker's loop thread);
//   M(in…, done)  — returns at once; done(const offshoot::Error*, out…) runs on the loop thread.
// A method annotated NoReply gets one form, M(in…), which sends and does not wait. Signals and
// properties of the caller's object are not reached through it.
#pragma once

#include "model.hpp"

#include <string>
#include <vector>

namespace adaptorgen {

// Throws std::runtime_error when a method name collides with offshoot::PeerProxy's members.
std::string generate_peer_proxy_header(const std::vector<Interface>& interfaces, const std::string& source_name);

}  // namespace adaptorgen
