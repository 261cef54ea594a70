// offshoot/worker.hpp — everything a class author includes: offshoot::Object and
// OFFSHOOT_CLASS, the task and loop shapes (offshoot::Task, offshoot::Loop), offshoot::Error,
// offshoot::Variant and the typed marshalling the generated adaptors use.
#pragma once

#include <offshoot/error.hpp>
#include <offshoot/marshal.hpp>
#include <offshoot/object.hpp>
#include <offshoot/shapes.hpp>
#include <offshoot/variant.hpp>
