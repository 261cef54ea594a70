// counter.cpp — Counter: an integer that callers add to; the smallest stateful example.
// Increment emits Changed and PropertiesChanged for Value.
#include "org.offshoot1.example.Counter_adaptor.hpp"

#include <offshoot/worker.hpp>

namespace {

class Counter final : public org::offshoot1::example::Counter_adaptor {
public:
    int64_t Increment(const int64_t& by) override {
        int64_t next;
        if (__builtin_add_overflow(value_, by, &next))
            throw offshoot::Error(offshoot::error_name::invalid_args,
                                  "Increment(" + std::to_string(by) + ") would overflow the value " +
                                      std::to_string(value_));
        value_ = next;
        emitChanged(value_);
        emitValueChanged();
        return value_;
    }
    int64_t Get() override { return value_; }
    int64_t Value() override { return value_; }

private:
    int64_t value_ = 0;
};

}  // namespace

OFFSHOOT_CLASS(Counter)
