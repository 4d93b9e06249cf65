#include "gtn/graph/gz_csv.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

namespace gtn::graph {

namespace {
constexpr size_t kBufBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string show(std::string_view s) {
  if (s.size() > 40) return std::string(s.substr(0, 40)) + "...";
  return std::string(s);
}

template <typename T, typename Parse>
Status parse_fields(std::string_view line, std::vector<T>& out, Parse parse) {
  out.clear();
  size_t field = 0;
  while (true) {
    size_t comma = line.find(',');
    std::string_view f = trim(line.substr(0, comma));
    ++field;
    GTN_RETURN_IF_ERROR(parse(f, field, out));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return Status::OK();
}
}  // namespace

Result<GzLineReader> GzLineReader::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound("missing file " + path);
  GzLineReader r;
  r.path_ = path;
  r.file_bytes_ = std::filesystem::file_size(path, ec);
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  gzbuffer(gz, 1 << 18);
  r.gz_ = gz;
  r.buf_.resize(kBufBytes);
  return r;
}

GzLineReader::GzLineReader(GzLineReader&& o) noexcept
    : path_(std::move(o.path_)), gz_(o.gz_), buf_(std::move(o.buf_)), begin_(o.begin_), end_(o.end_),
      eof_(o.eof_), line_no_(o.line_no_), file_bytes_(o.file_bytes_) {
  o.gz_ = nullptr;
}

GzLineReader::~GzLineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

Status GzLineReader::fill() {
  // Keep the unread tail, grow when one line fills the buffer.
  size_t tail = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, tail);
    begin_ = 0;
    end_ = tail;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  int n = gzread(static_cast<gzFile>(gz_), buf_.data() + end_, static_cast<unsigned>(buf_.size() - end_));
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    return Status::Corruption(path_ + ": damaged gzip stream after line " + std::to_string(line_no_) + ": " + msg);
  }
  if (n == 0) {
    int err = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    if (err != Z_OK) {  // Z_BUF_ERROR: the stream ends early (a truncated file)
      return Status::Corruption(path_ + ": damaged gzip stream after line " + std::to_string(line_no_) + ": " + msg);
    }
    eof_ = true;
  }
  end_ += static_cast<size_t>(n);
  return Status::OK();
}

Result<bool> GzLineReader::next(std::string_view& line) {
  while (true) {
    const char* start = buf_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    if (nl) {
      size_t len = static_cast<const char*>(nl) - start;
      line = std::string_view(start, len);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      begin_ += len + 1;
      ++line_no_;
      return true;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      line = std::string_view(start, end_ - begin_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      begin_ = end_;
      ++line_no_;
      return true;
    }
    GTN_RETURN_IF_ERROR(fill());
  }
}

Status line_error(const GzLineReader& r, const std::string& what) {
  return Status::InvalidArgument(r.path() + ":" + std::to_string(r.line_number()) + ": " + what);
}

Status parse_int_fields(std::string_view line, std::vector<int64_t>& out) {
  return parse_fields<int64_t>(line, out, [](std::string_view f, size_t field, std::vector<int64_t>& o) -> Status {
    int64_t v = 0;
    const char* b = f.data();
    const char* e = f.data() + f.size();
    if (b != e && *b == '+') ++b;
    auto [p, ec] = std::from_chars(b, e, v);
    if (ec == std::errc() && p == e && b != e) {
      o.push_back(v);
      return Status::OK();
    }
    // Integers written as floats ("3.0", as pandas writes an int column holding NaN).
    double d = 0;
    auto [p2, ec2] = std::from_chars(b, e, d);
    if (ec2 == std::errc() && p2 == e && b != e && std::isfinite(d) && d == std::floor(d) &&
        std::fabs(d) < 9.007199254740992e15) {
      o.push_back(static_cast<int64_t>(d));
      return Status::OK();
    }
    return Status::InvalidArgument("field " + std::to_string(field) + " is '" + show(f) + "', expected an integer");
  });
}

Status parse_float_fields(std::string_view line, std::vector<float>& out) {
  return parse_fields<float>(line, out, [](std::string_view f, size_t field, std::vector<float>& o) -> Status {
    if (f.empty()) {
      o.push_back(std::numeric_limits<float>::quiet_NaN());
      return Status::OK();
    }
    float v = 0;
    const char* b = f.data();
    const char* e = f.data() + f.size();
    if (*b == '+') ++b;
    auto [p, ec] = std::from_chars(b, e, v);
    if ((ec == std::errc() || ec == std::errc::result_out_of_range) && p == e && b != e) {
      o.push_back(v);
      return Status::OK();
    }
    return Status::InvalidArgument("field " + std::to_string(field) + " is '" + show(f) + "', expected a number");
  });
}

namespace {
template <typename T, typename ParseLine>
Result<size_t> read_matrix(const std::string& path, size_t columns, std::vector<T>& out, ParseLine parse_line) {
  GTN_ASSIGN_OR_RETURN(GzLineReader r, GzLineReader::Open(path));
  std::vector<T> fields;
  std::string_view line;
  uint64_t blank_at = 0;  // first blank line of a blank run (allowed only at the end)
  while (true) {
    GTN_ASSIGN_OR_RETURN(bool more, r.next(line));
    if (!more) break;
    if (trim(line).empty()) {
      if (!blank_at) blank_at = r.line_number();
      continue;
    }
    if (blank_at) {
      return Status::InvalidArgument(path + ":" + std::to_string(blank_at) + ": empty line");
    }
    Status s = parse_line(line, fields);
    if (!s.ok()) return line_error(r, s.message());
    if (columns == 0) columns = fields.size();
    if (fields.size() != columns) {
      return line_error(r, std::to_string(fields.size()) + " fields, expected " + std::to_string(columns));
    }
    out.insert(out.end(), fields.begin(), fields.end());
  }
  return columns;
}
}  // namespace

Result<size_t> read_int_matrix(const std::string& path, size_t columns, std::vector<int64_t>& out) {
  return read_matrix<int64_t>(path, columns, out, parse_int_fields);
}

Result<size_t> read_float_matrix(const std::string& path, size_t columns, std::vector<float>& out) {
  return read_matrix<float>(path, columns, out, parse_float_fields);
}

}  // namespace gtn::graph
