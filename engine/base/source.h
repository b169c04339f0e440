// Rule source files and byte spans into them. Line and column are derived only when a
// diagnostic is printed, so spans stay two integers everywhere else.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace crible {

struct Span {
  uint32_t file = 0;   // index into SourceSet
  uint32_t begin = 0;  // byte offset, inclusive
  uint32_t end = 0;    // byte offset, exclusive
};

struct SourceFile {
  std::string path;
  std::string text;
};

// Owns every source text a compilation read; spans point into it by index.
class SourceSet {
 public:
  uint32_t add(std::string path, std::string text) {
    files_.push_back({std::move(path), std::move(text)});
    return static_cast<uint32_t>(files_.size() - 1);
  }
  const SourceFile& file(uint32_t i) const { return files_.at(i); }
  size_t size() const { return files_.size(); }

 private:
  std::vector<SourceFile> files_;
};

struct LineCol {
  uint32_t line = 1;  // 1-based
  uint32_t col = 1;   // 1-based, in code points
  uint32_t line_begin = 0;  // byte offset of the line's first byte
  uint32_t line_end = 0;    // byte offset of the line's end (before '\n')
};

// Line and code-point column of a byte offset; invalid UTF-8 bytes count as one column each.
LineCol locate(const std::string& text, uint32_t offset);

}  // namespace crible
