#include "gtn/ingest/table.h"

#include <charconv>
#include <cstdio>
#include <unordered_map>

#include "gtn/ingest/file_util.h"

namespace gtn::ingest {
namespace {

using Cell = nlohmann::ordered_json;

struct Record {
  std::vector<std::string> fields;
  size_t line = 0;  // 1-based line where the record starts
};

std::string line_name(size_t line) { return "line " + std::to_string(line); }

std::string utf8_error(std::string_view text, size_t bad) {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[bad])));
  return "invalid UTF-8 (byte " + std::string(hex) + " at byte " + std::to_string(bad + 1) +
         " of the line); the file is not UTF-8: pass encoding=latin-1 if it is Latin-1, or re-encode it";
}

// Splits CSV text into records of fields; reports an unterminated quote.
Result<std::vector<Record>> split_csv(std::string_view text, char delim) {
  std::vector<Record> records;
  Record record;
  std::string field;
  bool in_quotes = false;
  bool started = false;  // the current record has content (so a blank line is skipped)
  size_t line = 1;
  size_t quote_line = 0;
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    if (started) {
      end_field();
      records.push_back(std::move(record));
    }
    record = Record{};
    field.clear();
    started = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!started && record.fields.empty() && field.empty()) record.line = line;
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      in_quotes = true;
      quote_line = line;
      started = true;
    } else if (c == delim) {
      started = true;
      end_field();
    } else if (c == '\r') {
      // CRLF: the '\n' ends the record
    } else if (c == '\n') {
      ++line;
      end_record();
    } else {
      started = true;
      field.push_back(c);
    }
  }
  if (in_quotes) {
    return Status::InvalidArgument("CSV has an unterminated quoted field starting on line " + std::to_string(quote_line));
  }
  end_record();
  return records;
}

bool is_number(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool is_count(std::string_view s, uint64_t* out) {
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

// scikit-learn's count header: "n_rows,n_features[,class names...]" followed by exactly
// n_rows records, the first of which has n_features + 1 fields. A first record that could
// be a data row instead (only numbers, as many fields as the next) is not one.
bool looks_like_count_header(const std::vector<Record>& records) {
  if (records.size() < 2 || records[0].fields.size() < 2) return false;
  uint64_t rows = 0, features = 0;
  if (!is_count(records[0].fields[0], &rows) || !is_count(records[0].fields[1], &features)) return false;
  if (rows != records.size() - 1 || records[1].fields.size() != features + 1) return false;
  bool all_numbers = true;
  for (const std::string& f : records[0].fields) all_numbers = all_numbers && is_number(f);
  return !all_numbers || records[0].fields.size() != records[1].fields.size();
}

// The JSONL line parser: builds the row like nlohmann's DOM parser, but keeps integer
// literals that fit neither int64 nor uint64 as binary cells holding their text.
class RowBuilder {
 public:
  using number_integer_t = Cell::number_integer_t;
  using number_unsigned_t = Cell::number_unsigned_t;
  using number_float_t = Cell::number_float_t;
  using string_t = Cell::string_t;
  using binary_t = Cell::binary_t;

  bool null() { return put(Cell(nullptr)); }
  bool boolean(bool v) { return put(Cell(v)); }
  bool number_integer(number_integer_t v) { return put(Cell(v)); }
  bool number_unsigned(number_unsigned_t v) { return put(Cell(v)); }
  bool number_float(number_float_t v, const string_t& text) {
    if (text.find_first_of(".eE") == string_t::npos) {
      return put(Cell::binary(std::vector<std::uint8_t>(text.begin(), text.end())));
    }
    return put(Cell(v));
  }
  bool string(string_t& v) { return put(Cell(std::move(v))); }
  bool binary(binary_t& v) { return put(Cell::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(Cell::object()); }
  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(Cell::array()); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = e.what();
    return false;
  }

  Cell& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  Cell* place(Cell v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Cell& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    Cell& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool put(Cell v) {
    place(std::move(v));
    return true;
  }
  bool open(Cell v) {
    stack_.push_back(place(std::move(v)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  Cell root_;
  std::vector<Cell*> stack_;
  std::string key_;
  std::string error_;
};

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

Result<Table> parse_csv(std::string_view text, char delimiter, CsvHeader header) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  GTN_ASSIGN_OR_RETURN(std::vector<Record> records, split_csv(text, delimiter));
  if (records.empty()) return Status::InvalidArgument("CSV is empty; expected rows of fields");
  if (header == CsvHeader::kAuto) {
    if (looks_like_count_header(records)) {
      header = CsvHeader::kCount;
    } else {
      bool all_numbers = true;
      for (const std::string& f : records[0].fields) all_numbers = all_numbers && is_number(f);
      header = all_numbers ? CsvHeader::kNo : CsvHeader::kYes;
    }
  }
  Table table;
  size_t first_row = 0;
  if (header == CsvHeader::kCount) {
    const Record& h = records[0];
    uint64_t rows = 0, features = 0;
    if (h.fields.size() < 2 || !is_count(h.fields[0], &rows) || !is_count(h.fields[1], &features)) {
      return Status::InvalidArgument(
          "line 1 is not a count header; expected \"n_rows,n_features[,class names...]\" (scikit-learn's format)");
    }
    if (rows != records.size() - 1) {
      return Status::InvalidArgument("the count header says " + std::to_string(rows) + " rows but the file has " +
                                     std::to_string(records.size() - 1));
    }
    for (size_t k = 0; k < features; ++k) table.names.push_back("feature_" + std::to_string(k));
    table.names.push_back("target");
    table.count_header = true;
    for (size_t k = 2; k < h.fields.size(); ++k) table.count_class_names.push_back(std::string(trim(h.fields[k])));
    first_row = 1;
  } else if (header == CsvHeader::kYes) {
    size_t bad = find_invalid_utf8(records[0].fields.empty() ? "" : text.substr(0, text.find('\n')));
    if (bad != std::string_view::npos) return Status::InvalidArgument("CSV header: " + utf8_error(text, bad));
    std::unordered_map<std::string, size_t> seen;
    for (size_t k = 0; k < records[0].fields.size(); ++k) {
      std::string name = records[0].fields[k];
      if (name.empty()) name = "column_" + std::to_string(k);
      if (!seen.emplace(name, k).second) {
        return Status::InvalidArgument("CSV header repeats the column name '" + name + "'");
      }
      table.names.push_back(name);
    }
    first_row = 1;
  } else {
    for (size_t k = 0; k < records[0].fields.size(); ++k) table.names.push_back("column_" + std::to_string(k));
  }
  table.columns.resize(table.names.size());
  for (size_t r = first_row; r < records.size(); ++r) {
    const Record& rec = records[r];
    std::string error;
    if (rec.fields.size() != table.names.size()) {
      error = "has " + std::to_string(rec.fields.size()) + " fields, expected " + std::to_string(table.names.size()) +
              (header == CsvHeader::kNo ? " (as in line 1)" : " (as in the header)");
    }
    for (size_t c = 0; error.empty() && c < rec.fields.size(); ++c) {
      size_t bad = find_invalid_utf8(rec.fields[c]);
      if (bad != std::string_view::npos) {
        error = "field " + std::to_string(c + 1) + ": " + utf8_error(rec.fields[c], bad);
        error.replace(error.find(" of the line"), 12, " of the field");
      }
    }
    table.row_names.push_back(line_name(rec.line));
    table.row_errors.push_back(error);
    for (size_t c = 0; c < table.names.size(); ++c) {
      bool ok = error.empty() && !rec.fields[c].empty();
      table.columns[c].push_back(ok ? Cell(rec.fields[c]) : Cell(nullptr));
    }
  }
  return table;
}

Result<Table> parse_jsonl(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Table table;
  std::unordered_map<std::string, size_t> index;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string error;
    RowBuilder builder;
    size_t bad = find_invalid_utf8(line);
    if (bad != std::string_view::npos) {
      error = utf8_error(line, bad);
    } else if (!Cell::sax_parse(line, &builder, nlohmann::detail::input_format_t::json, /*strict=*/true)) {
      error = "is not valid JSON (" + builder.error() + ")";
    } else if (!builder.root().is_object()) {
      error = "is not a JSON object; expected {\"column\": value, ...}";
    }
    size_t row = table.row_names.size();
    table.row_names.push_back(line_name(line_no));
    table.row_errors.push_back(error);
    if (error.empty()) {
      for (auto& [key, value] : builder.root().items()) {
        auto [it, added] = index.emplace(key, table.names.size());
        if (added) {
          table.names.push_back(key);
          table.columns.emplace_back(row, Cell(nullptr));  // earlier rows lack this key
        }
        table.columns[it->second].push_back(std::move(value));
      }
    }
    for (auto& col : table.columns) {
      if (col.size() < row + 1) col.emplace_back(nullptr);
    }
  }
  if (table.row_names.empty()) return Status::InvalidArgument("JSONL holds no rows; expected one JSON object per line");
  return table;
}

std::string dump_cell(const Cell& cell) {
  if (cell.is_binary()) {
    const auto& b = cell.get_binary();
    return std::string(b.begin(), b.end());
  }
  if (cell.is_object()) {
    std::string out = "{";
    bool first = true;
    for (auto it = cell.begin(); it != cell.end(); ++it) {
      out += (first ? "" : ",") + Cell(it.key()).dump() + ":" + dump_cell(it.value());
      first = false;
    }
    return out + "}";
  }
  if (cell.is_array()) {
    std::string out = "[";
    for (size_t k = 0; k < cell.size(); ++k) out += (k ? "," : "") + dump_cell(cell[k]);
    return out + "]";
  }
  return cell.dump();
}

}  // namespace gtn::ingest
