// adaptor_objects.hpp — the objects fuzz-adaptors serves: one per example class, each behind
// the adaptor offshoot-adaptorgen generates from the class's XML, plus the adaptor test's
// Everything interface for the deep types (a{sa(ix)}, a(sv), (i(s(bd))), v, h, properties).
//
// Counter and Echo are the example classes' own code (real_classes.cpp): they only compute.
// The others would chdir, write files, crash or sleep on request, which a fuzzer must not
// do, so they are stand-ins with the same adaptors that answer from memory; the unmarshalling
// under test is the generated code, the same either way.
#pragma once

#include "org.offshoot1.example.Echo_adaptor.hpp"
#include "org.offshoot1.example.Faulty_adaptor.hpp"
#include "org.offshoot1.example.Identity_adaptor.hpp"
#include "org.offshoot1.example.Sleeper_adaptor.hpp"
#include "org.offshoot1.example.Ticker_adaptor.hpp"
#include "org.offshoot1.test.Everything_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <unistd.h>

#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

// real_classes.cpp: classes/counter/counter.cpp and classes/echo/echo.cpp, compiled here.
offshoot::Object* fuzz_make_counter();
offshoot::Object* fuzz_make_echo();

namespace offshoot::fuzz {

class IdentityStandIn final : public org::offshoot1::example::Identity_adaptor {
public:
    std::tuple<uint32_t, uint32_t, std::vector<uint32_t>, std::string, uint32_t> Describe() override {
        return {65534, 65534, {65534, 100}, cwd_, 4242};
    }
    void ChangeDirectory(const std::string& path) override {
        if (path.empty() || path[0] != '/')
            throw Error("org.offshoot1.example.Identity.Error", "ChangeDirectory '" + path + "': No such file or directory");
        cwd_ = path;
    }
    // Asynchronous in the XML; answered at once here (no executor: on this thread).
    void WriteFile(offshoot::Result<> result, const std::string& name, const std::string& content) override {
        if (name.empty()) throw Error("org.offshoot1.example.Identity.Error", "WriteFile: empty file name");
        file_name_ = name;
        file_content_ = content;
        result.return_value();
    }
    void ReadFile(offshoot::Result<std::string> result, const std::string& name) override {
        if (name != file_name_)
            throw Error("org.offshoot1.example.Identity.Error", "ReadFile '" + name + "': No such file or directory");
        result.return_value(file_content_);
    }

private:
    std::string cwd_ = "/";
    std::string file_name_, file_content_;
};

class FaultyStandIn final : public org::offshoot1::example::Faulty_adaptor {
public:
    void Throw(const std::string& message) override { throw Error("org.offshoot1.example.Faulty.Error", message); }
    // The real one raises SIGSEGV, aborts or exits for "segv", "abort" and "exit".
    void Crash(const std::string& how) override {
        if (how == "segv" || how == "abort" || how == "exit") return;
        throw Error(error_name::invalid_args, "Crash: unknown way '" + how + "'; use segv, abort or exit");
    }
    // The real one sleeps; a fuzzer must not, so only the argument check is kept.
    void Stall(const uint32_t& milliseconds) override {
        if (milliseconds > 60000)
            throw Error(error_name::invalid_args, "Stall: at most 60000 ms, not " + std::to_string(milliseconds));
    }
};

class SleeperStandIn final : public org::offshoot1::example::Sleeper_adaptor {
public:
    uint64_t Remaining() override { return 1234; }
};

class TickerStandIn final : public org::offshoot1::example::Ticker_adaptor {
public:
    uint64_t Count() override {
        emitTick(++count_);
        return count_;
    }

private:
    uint64_t count_ = 0;
};

// Returns what it is given, emits every signal, throws what it is asked to.
class EverythingObject final : public org::offshoot1::test::Everything_adaptor {
public:
    std::tuple<uint8_t, bool, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, double, std::string,
               sdbus::ObjectPath, sdbus::Signature>
    Basics(const uint8_t& y, const bool& b, const int16_t& n, const uint16_t& q, const int32_t& i, const uint32_t& u,
           const int64_t& x, const uint64_t& t, const double& d, const std::string& s, const sdbus::ObjectPath& o,
           const sdbus::Signature& g) override {
        return {y, b, n, q, i, u, x, t, d, s, o, g};
    }

    using Nested = std::map<std::string, std::vector<sdbus::Struct<int32_t, int64_t>>>;
    using Records = std::vector<sdbus::Struct<std::string, offshoot::Variant>>;  // `Variant` is a method here
    using Blobs = std::vector<std::vector<uint8_t>>;
    using Paths = std::map<sdbus::ObjectPath, std::vector<std::string>>;
    using Deep = sdbus::Struct<int32_t, sdbus::Struct<std::string, sdbus::Struct<bool, double>>>;
    std::tuple<Nested, Records, Blobs, Paths, Deep> Containers(const Nested& nested, const Records& records,
                                                               const Blobs& blobs, const Paths& paths,
                                                               const Deep& deep) override {
        return {nested, records, blobs, paths, deep};
    }

    std::tuple<offshoot::Variant, sdbus::Signature> Variant(const offshoot::Variant& value) override {
        return {value, sdbus::Signature(value.signature())};
    }

    void WriteTo(const sdbus::UnixFd& fd, const std::string& text) override {
        // The fuzzer only ever passes /dev/null.
        if (::write(fd.get(), text.data(), text.size()) < 0) throw std::runtime_error("write failed");
    }

    void Nothing() override {}

    // "std:<text>", "int", "name:<error name>", or anything else as the message of a named error.
    void Throw(const std::string& kind) override {
        if (kind.rfind("std:", 0) == 0) throw std::runtime_error(kind.substr(4));
        if (kind == "int") throw 42;
        if (kind.rfind("name:", 0) == 0) throw Error(kind.substr(5), "named by the caller");
        throw Error("org.offshoot1.test.Error.Deliberate", kind);
    }

    std::string Keywords(const std::string& class_, const int32_t& default_) override {
        return class_ + ":" + std::to_string(default_);
    }
    int32_t Unnamed(const int32_t& arg0, const std::string& arg1) override {
        return static_cast<int32_t>(static_cast<uint32_t>(arg0) + static_cast<uint32_t>(arg1.size()));
    }
    // Asynchronous: answered at once, kept and answered by the next AnswerLater, dropped.
    void Later(offshoot::Result<std::string> result, const std::string& text) override {
        later_ = std::move(result);
        later_text_ = text;
    }
    void AnswerLater() override { later_.return_value(later_text_); }
    void Drop(offshoot::Result<>) override {}
    void AnswerThenThrow(offshoot::Result<int32_t> result) override {
        result.return_value(7);
        throw std::runtime_error("after the answer");
    }
    void ThrowUnanswered(offshoot::Result<>) override { throw Error("org.offshoot1.test.Error.Deliberate", "unanswered"); }

    void Fire(const std::string& note) override { name_ = note; }
    void Old() override {}
    void EmitAll() override {
        emitTick(count_);
        emitMany(name_, quiet_, sdbus::Struct<int32_t, bool>(-1, true));
        emitBare();
        ++count_;
        emitCountChanged();
        emitInvalidatingChanged();
    }

    uint64_t Count() override { return count_; }
    std::string Name() override { return name_; }
    void Name(const std::string& value) override {
        name_ = value;
        emitNameChanged();
    }
    std::string Secret() override { return secret_; }
    void Secret(const std::string& value) override { secret_ = value; }
    int32_t Constant() override { return 42; }
    std::vector<std::string> Invalidating() override { return list_; }
    void Invalidating(const std::vector<std::string>& value) override {
        list_ = value;
        emitInvalidatingChanged();
    }
    std::map<std::string, offshoot::Variant> Quiet() override { return quiet_; }

private:
    offshoot::Result<std::string> later_{nullptr};
    std::string later_text_;
    uint64_t count_ = 0;
    std::string name_ = "initial";
    std::string secret_;
    std::vector<std::string> list_;
    std::map<std::string, offshoot::Variant> quiet_ = {
        {"nested", offshoot::Variant::wrap(offshoot::Variant("deep"))},
        {"list", offshoot::Variant(std::vector<std::string>{"a", "b"})}};
};

}  // namespace offshoot::fuzz
