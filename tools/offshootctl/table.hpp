// table.hpp — aligned text tables for offshootctl's listings (systemctl's look, no colour
// unless stdout is a terminal).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace offshootctl {

class Table {
public:
    explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    bool empty() const noexcept { return rows_.empty(); }
    // Columns padded to their widest cell (the last one is not padded). On a terminal the
    // header is bold unless NO_COLOR is set.
    void print(std::ostream& out, bool tty) const;

private:
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace offshootctl
