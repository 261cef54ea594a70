// notes.cpp — the Notes class: a notebook kept in the worker process. Shows what a class does
// besides methods: emit a signal (emitAdded), serve a read-only property (Count) and a
// read-write one (Title), announce their changes (emitCountChanged, emitTitleChanged) and
// refuse with errors of its own. The base class is generated from org.example.Notes.xml.
#include "org.example.Notes_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <string>
#include <vector>

namespace {

class Notes final : public org::example::Notes_adaptor {
public:
    uint32_t Add(const std::string& text) override {
        if (text.empty()) throw offshoot::Error("org.example.Notes.Error.Empty", "a note needs some text");
        notes_.push_back(text);
        const auto id = static_cast<uint32_t>(notes_.size());
        emitAdded(id, text);  // to every connected peer
        emitCountChanged();   // PropertiesChanged with Count's new value
        return id;
    }

    std::string Read(const uint32_t& id) override {
        if (id == 0 || id > notes_.size())
            throw offshoot::Error("org.example.Notes.Error.NoSuchNote",
                                  "there is no note " + std::to_string(id) + " (there are " +
                                      std::to_string(notes_.size()) + ")");
        return notes_[id - 1];
    }

    uint32_t Count() override { return static_cast<uint32_t>(notes_.size()); }

    std::string Title() override { return title_; }
    void Title(const std::string& value) override {  // Properties.Set
        title_ = value;
        emitTitleChanged();  // sd-bus does not announce a change by itself
    }

private:
    std::vector<std::string> notes_;
    std::string title_ = "Notes";
};

}  // namespace

OFFSHOOT_CLASS(Notes)
