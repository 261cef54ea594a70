// object.cpp — offshoot::Object's connection-facing parts: registration and signal emission.
#include <offshoot/object.hpp>

#include <cstdio>
#include <cstring>
#include <exception>

namespace offshoot {

namespace {
// Failing to reach one peer (it hung up, its queue is full) is that peer's problem; say so
// once on stderr (the worker's journal) and carry on with the others.
void warn_emit_failed(const char* what, const char* iface, const char* member, int r) noexcept {
    try {
        std::fprintf(stderr, "offshoot: cannot emit %s %s.%s on a connection: %s\n", what, iface, member,
                     errno_text(r).c_str());
    } catch (...) {
    }
}
}  // namespace

bool Object::post(std::function<void()> fn) { return executor_ && executor_->post(std::move(fn)); }

int Object::add_to_bus(sd_bus* bus, sd_bus_slot** slot) {
    return sd_bus_add_object_vtable(bus, slot, object_path, interface_name(), vtable(),
                                    static_cast<Object*>(this));
}

void Object::emit_properties_changed(std::initializer_list<const char*> names) {
    if (!sink_ || names.size() == 0) return;
    std::vector<char*> strv;
    strv.reserve(names.size() + 1);
    for (const char* n : names) strv.push_back(const_cast<char*>(n));
    strv.push_back(nullptr);

    struct Context {
        const char* interface;
        char** names;
    } context{interface_name(), strv.data()};
    sink_->for_each_bus(
        [](sd_bus* bus, void* userdata) {
            auto* c = static_cast<Context*>(userdata);
            const int r = sd_bus_emit_properties_changed_strv(bus, object_path, c->interface, c->names);
            if (r < 0) warn_emit_failed("PropertiesChanged for", c->interface, c->names[0], r);
        },
        &context);
}

void Object::emit_signal_with(const char* member, void (*fill)(sd_bus_message*, void*), void* ctx) {
    if (!sink_) return;
    struct Context {
        const char* interface;
        const char* member;
        void (*fill)(sd_bus_message*, void*);
        void* ctx;
        std::exception_ptr error;
    } context{interface_name(), member, fill, ctx, nullptr};
    sink_->for_each_bus(
        [](sd_bus* bus, void* userdata) {
            auto* c = static_cast<Context*>(userdata);
            try {
                marshal::detail::MessageRef m;
                int r = sd_bus_message_new_signal(bus, &m.m, object_path, c->interface, c->member);
                if (r >= 0) {
                    c->fill(m.m, c->ctx);
                    r = sd_bus_send(bus, m.m, nullptr);
                }
                if (r < 0) warn_emit_failed("signal", c->interface, c->member, r);
            } catch (...) {
                if (!c->error) c->error = std::current_exception();
            }
        },
        &context);
    if (context.error) std::rethrow_exception(context.error);
}

}  // namespace offshoot
