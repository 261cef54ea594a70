// real_classes.cpp — the example classes Counter and Echo, their own source compiled into
// fuzz-adaptors. OFFSHOOT_CLASS normally exports a plugin's one factory symbol; here each
// class gets a factory of its own name instead, so both fit in one program.
#include <offshoot/worker.hpp>

#include "org.offshoot1.example.Counter_adaptor.hpp"
#include "org.offshoot1.example.Echo_adaptor.hpp"

#undef OFFSHOOT_CLASS
#define OFFSHOOT_CLASS(Type) \
    offshoot::Object* fuzz_make_counter() { return offshoot::detail::create_object<Type>(offshoot::ClassContext{}); }
#include "counter/counter.cpp"

#undef OFFSHOOT_CLASS
#define OFFSHOOT_CLASS(Type) \
    offshoot::Object* fuzz_make_echo() { return offshoot::detail::create_object<Type>(offshoot::ClassContext{}); }
#include "echo/echo.cpp"
