// offshoot/worker.hpp — everything a class author includes: offshoot::Object and
// OFFSHOOT_CLASS, the task and loop shapes (offshoot::Task, offshoot::Loop), offshoot::Error,
// offshoot::Variant, the typed marshalling the generated adaptors use, SealedMemfd (big
// payloads as a sealed memfd passed as 'h') and calls back into the caller (offshoot::Caller,
// the generated <Name>_peer proxies).
#pragma once

#include <offshoot/caller.hpp>
#include <offshoot/error.hpp>
#include <offshoot/marshal.hpp>
#include <offshoot/object.hpp>
#include <offshoot/result.hpp>
#include <offshoot/sealed_memfd.hpp>
#include <offshoot/shared_buffer.hpp>
#include <offshoot/shapes.hpp>
#include <offshoot/variant.hpp>
