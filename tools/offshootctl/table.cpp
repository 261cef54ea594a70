// table.cpp — aligned text tables.
#include "table.hpp"

#include <algorithm>
#include <cstdlib>

namespace offshootctl {
namespace {

// Display width of UTF-8 text: code points, not bytes (enough for names and paths).
std::size_t width(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

void Table::print(std::ostream& out, bool tty) const {
    std::vector<std::size_t> widths(header_.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], width(row[i]));
    };
    measure(header_);
    for (auto& row : rows_) measure(row);

    auto line = [&](const std::vector<std::string>& row) {
        std::string text;
        for (std::size_t i = 0; i < widths.size(); ++i) {
            const std::string cell = i < row.size() ? row[i] : std::string();
            text += cell;
            if (i + 1 < widths.size()) text += std::string(widths[i] - width(cell) + 2, ' ');
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        return text;
    };
    const bool bold = tty && std::getenv("NO_COLOR") == nullptr;
    out << (bold ? "\033[1m" : "") << line(header_) << (bold ? "\033[0m" : "") << '\n';
    for (auto& row : rows_) out << line(row) << '\n';
}

}  // namespace offshootctl
