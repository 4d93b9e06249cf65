#include "gtn/ingest/table.h"

#include <unordered_map>

namespace gtn::ingest {
namespace {

// Splits CSV text into records of fields; reports unterminated quotes.
Result<std::vector<std::vector<std::string>>> split_csv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;  // the current record has content (so a blank line is skipped)
  size_t line = 1;
  size_t quote_line = 0;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    if (field_started) {
      end_field();
      records.push_back(std::move(record));
    }
    record.clear();
    field.clear();
    field_started = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
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
    switch (c) {
      case '"':
        in_quotes = true;
        quote_line = line;
        field_started = true;
        break;
      case ',':
        field_started = true;
        end_field();
        break;
      case '\r':
        break;
      case '\n':
        ++line;
        end_record();
        break;
      default:
        field_started = true;
        field.push_back(c);
    }
  }
  if (in_quotes) {
    return Status::InvalidArgument("CSV has an unterminated quoted field starting on line " +
                                   std::to_string(quote_line));
  }
  end_record();
  return records;
}

}  // namespace

Result<Table> parse_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  GTN_ASSIGN_OR_RETURN(auto records, split_csv(text));
  if (records.empty()) return Status::InvalidArgument("CSV is empty; expected a header line and rows");
  Table table;
  std::unordered_map<std::string, size_t> seen;
  for (std::string& name : records[0]) {
    if (name.empty()) return Status::InvalidArgument("CSV header has an empty column name");
    if (!seen.emplace(name, table.names.size()).second) {
      return Status::InvalidArgument("CSV header repeats the column name '" + name + "'");
    }
    table.names.push_back(name);
  }
  table.columns.resize(table.names.size());
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.size() != table.names.size()) {
      return Status::InvalidArgument("CSV record " + std::to_string(r + 1) + " has " + std::to_string(rec.size()) +
                                     " fields, expected " + std::to_string(table.names.size()) + " (as in the header)");
    }
    for (size_t c = 0; c < rec.size(); ++c) {
      table.columns[c].push_back(rec[c].empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(rec[c]));
    }
  }
  return table;
}

Result<Table> parse_jsonl(std::string_view text) {
  Table table;
  std::unordered_map<std::string, size_t> index;
  size_t rows = 0;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::ordered_json row = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded()) {
      return Status::InvalidArgument("JSONL line " + std::to_string(line_no) + " is not valid JSON");
    }
    if (!row.is_object()) {
      return Status::InvalidArgument("JSONL line " + std::to_string(line_no) + " is not a JSON object; expected {\"column\": value, ...}");
    }
    for (auto& [key, value] : row.items()) {
      auto [it, added] = index.emplace(key, table.names.size());
      if (added) {
        table.names.push_back(key);
        table.columns.emplace_back(rows, nlohmann::ordered_json(nullptr));  // earlier rows lack this key
      }
      table.columns[it->second].push_back(std::move(value));
    }
    ++rows;
    for (auto& col : table.columns) {
      if (col.size() < rows) col.emplace_back(nullptr);
    }
  }
  if (rows == 0) return Status::InvalidArgument("JSONL holds no rows; expected one JSON object per line");
  return table;
}

}  // namespace gtn::ingest
