// Reading OGB's gzipped CSV files: lines of numbers, parsed with std::from_chars.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"

namespace gtn::graph {

// Streams the lines of a gzip file (a plain file is read as it is, as gzip does), with
// their 1-based line numbers. `\r\n` endings are accepted.
class GzLineReader {
 public:
  static Result<GzLineReader> Open(const std::string& path);
  GzLineReader(GzLineReader&& other) noexcept;
  GzLineReader& operator=(GzLineReader&&) = delete;
  ~GzLineReader();

  // The next line (without its end), or false at the end of the file; errors when the
  // compressed stream is damaged.
  Result<bool> next(std::string_view& line);
  uint64_t line_number() const { return line_no_; }
  const std::string& path() const { return path_; }
  // Bytes of the file on disk (for progress).
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  GzLineReader() = default;
  Status fill();

  std::string path_;
  void* gz_ = nullptr;  // gzFile
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0;
  uint64_t file_bytes_ = 0;
};

// Parses the comma-separated fields of `line` as numbers into `out` (cleared first).
// Empty fields and "nan" read as NaN for floating types; an error names the field.
Status parse_int_fields(std::string_view line, std::vector<int64_t>& out);
Status parse_float_fields(std::string_view line, std::vector<float>& out);

// "<path>:<line>: <what>".
Status line_error(const GzLineReader& r, const std::string& what);

// Every row of an integer CSV with `columns` columns (0: as many as the first line has),
// appended row-major to `out`; returns the column count. Blank trailing lines are skipped.
Result<size_t> read_int_matrix(const std::string& path, size_t columns, std::vector<int64_t>& out);
// The same for floating-point values.
Result<size_t> read_float_matrix(const std::string& path, size_t columns, std::vector<float>& out);

}  // namespace gtn::graph
