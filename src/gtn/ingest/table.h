// Tabular sources (CSV, JSON Lines) parsed into named columns of JSON cells.
//
// CSV cells are JSON strings (types are inferred later, see column.h); JSONL cells keep
// their JSON types, except integer literals outside the int64/uint64 range, which are
// kept as their exact text in a JSON *binary* cell (never produced by JSON text) so that
// one huge number cannot silently turn an integer column into float64. A key missing
// from a JSONL row, a JSON null and an empty CSV cell are all null.
//
// A record that cannot be read (wrong number of CSV fields, a JSONL line that is not a
// JSON object, bytes that are not UTF-8) does not stop the parse: it becomes a row of
// nulls with its reason in `row_errors`, and the ingest driver fails or skips it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtn/ingest.h"
#include "gtn/result.h"

namespace gtn::ingest {

struct Table {
  std::vector<std::string> names;                            // column names, in first-seen order
  std::vector<std::vector<nlohmann::ordered_json>> columns;  // columns[c][row]
  std::vector<std::string> row_names;                        // "line 12": where row r starts
  std::vector<std::string> row_errors;                       // "" or why row r cannot be read
  // CSV header kCount (scikit-learn): the class names of the last column, "target".
  bool count_header = false;
  std::vector<std::string> count_class_names;
  size_t num_rows() const { return row_names.size(); }
};

// Byte offset of the first byte that is not part of valid UTF-8 in `text`, or npos.
size_t find_invalid_utf8(std::string_view text);
// Latin-1 bytes -> UTF-8.
std::string latin1_to_utf8(std::string_view text);

// RFC 4180 CSV with `delimiter`: fields may be quoted ("a, ""b""") and then hold
// delimiters and newlines; CRLF or LF line ends; blank lines are skipped. `header` says how
// the first record is read (CsvHeader::kAuto: see docs/ingest.md).
Result<Table> parse_csv(std::string_view text, char delimiter = ',', CsvHeader header = CsvHeader::kYes);

// One JSON object per line; blank lines are skipped.
Result<Table> parse_jsonl(std::string_view text);

// A JSON cell as JSON text; binary cells (out-of-range integer literals) as their digits.
std::string dump_cell(const nlohmann::ordered_json& cell);

}  // namespace gtn::ingest
