// Tabular sources (CSV, JSON Lines) parsed into named columns of JSON cells.
// CSV cells are JSON strings (types are inferred later, see column.h); JSONL cells keep
// their JSON types. A key missing from a JSONL row, or an empty CSV cell, is JSON null.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtn/result.h"

namespace gtn::ingest {

struct Table {
  std::vector<std::string> names;                   // column names, in first-seen order
  std::vector<std::vector<nlohmann::ordered_json>> columns; // columns[c][row]
  size_t num_rows() const { return columns.empty() ? 0 : columns.front().size(); }
};

// RFC 4180 CSV: the first record is the header; fields may be quoted ("a, ""b""");
// quoted fields may hold commas and newlines; CRLF or LF line ends; blank lines are skipped.
Result<Table> parse_csv(std::string_view text);

// One JSON object per line; blank lines are skipped. Errors name the 1-based line.
Result<Table> parse_jsonl(std::string_view text);

}  // namespace gtn::ingest
