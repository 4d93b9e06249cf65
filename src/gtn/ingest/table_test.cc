#include "gtn/ingest/table.h"

#include <gtest/gtest.h>

#include <random>

namespace gtn::ingest {
namespace {

TEST(Csv, ParsesQuotedFieldsAndCrlf) {
  auto t = parse_csv("id,text,score\r\n1,\"hello, \"\"world\"\"\",0.5\r\n2,\"two\nlines\",\r\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->names, (std::vector<std::string>{"id", "text", "score"}));
  ASSERT_EQ(t->num_rows(), 2u);
  EXPECT_EQ(t->columns[0][0], "1");
  EXPECT_EQ(t->columns[1][0], "hello, \"world\"");
  EXPECT_EQ(t->columns[1][1], "two\nlines");
  EXPECT_EQ(t->columns[2][0], "0.5");
  EXPECT_TRUE(t->columns[2][1].is_null());
}

TEST(Csv, SkipsBlankLinesAndByteOrderMark) {
  auto t = parse_csv("\xEF\xBB\xBF" "a,b\n\n1,2\n\n3,4");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->names[0], "a");
  EXPECT_EQ(t->num_rows(), 2u);
  EXPECT_EQ(t->columns[1][1], "4");
}

TEST(Csv, ErrorsNameTheProblem) {
  // A bad record is a row error (the driver fails or skips it), not a parse failure.
  auto bad = parse_csv("a,b\n1,2,3\n4,5\n");
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ(bad->num_rows(), 2u);
  EXPECT_EQ(bad->row_names[0], "line 2");
  EXPECT_NE(bad->row_errors[0].find("has 3 fields, expected 2"), std::string::npos);
  EXPECT_EQ(bad->row_errors[1], "");
  auto latin = parse_csv("a,b\ncaf\xE9,1\n");
  ASSERT_TRUE(latin.ok());
  EXPECT_NE(latin->row_errors[0].find("invalid UTF-8 (byte 0xE9"), std::string::npos);
  EXPECT_NE(parse_csv("a,b\n\"1,2\n").status().message().find("unterminated"), std::string::npos);
  EXPECT_NE(parse_csv("a,a\n1,2\n").status().message().find("repeats"), std::string::npos);
  EXPECT_FALSE(parse_csv("").ok());
}

// Random fields with commas, quotes and newlines survive a write (quoting as RFC 4180 says)
// and a parse.
TEST(Csv, RoundTripsRandomQuotedFields) {
  std::mt19937 rng(11);
  const std::string alphabet = "ab,\"\n x1";
  for (int round = 0; round < 50; ++round) {
    size_t cols = 1 + rng() % 4, rows = rng() % 6;
    std::vector<std::vector<std::string>> cells(rows + 1, std::vector<std::string>(cols));
    std::string text;
    for (size_t r = 0; r <= rows; ++r) {
      for (size_t c = 0; c < cols; ++c) {
        std::string v = r == 0 ? "col" + std::to_string(c) : "";
        if (r > 0) {
          for (size_t k = 1 + rng() % 6; k > 0; --k) v.push_back(alphabet[rng() % alphabet.size()]);
        }
        cells[r][c] = v;
        std::string quoted = "\"";
        for (char ch : v) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        text += (c ? "," : "") + quoted + "\"";
      }
      text += rng() % 2 ? "\r\n" : "\n";
    }
    auto t = parse_csv(text);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_EQ(t->num_rows(), rows);
    for (size_t r = 1; r <= rows; ++r) {
      for (size_t c = 0; c < cols; ++c) ASSERT_EQ(t->columns[c][r - 1], cells[r][c]);
    }
  }
}

TEST(Jsonl, ColumnsInFirstSeenOrderWithMissingKeysAsNull) {
  auto t = parse_jsonl("{\"z\": 1, \"a\": \"x\"}\n\n{\"a\": \"y\", \"b\": [1, 2]}\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->names, (std::vector<std::string>{"z", "a", "b"}));
  ASSERT_EQ(t->num_rows(), 2u);
  EXPECT_EQ(t->columns[0][0], 1);
  EXPECT_TRUE(t->columns[0][1].is_null());
  EXPECT_TRUE(t->columns[2][0].is_null());
  EXPECT_EQ(t->columns[2][1].size(), 2u);
}

TEST(Jsonl, BadLinesAreRowErrors) {
  auto t = parse_jsonl("{\"a\": 1}\n{bad\n[1, 2]\n");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->num_rows(), 3u);
  EXPECT_EQ(t->row_names[1], "line 2");
  EXPECT_NE(t->row_errors[1].find("not valid JSON"), std::string::npos);
  EXPECT_NE(t->row_errors[2].find("not a JSON object"), std::string::npos);
  EXPECT_FALSE(parse_jsonl("\n\n").ok());
}

TEST(Jsonl, OutOfRangeIntegersKeepTheirDigits) {
  auto t = parse_jsonl("{\"n\": 1, \"m\": {\"k\": 123456789012345678901234567890}}\n"
                       "{\"n\": 123456789012345678901234567890, \"m\": 2.5e300}\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->columns[0][1].is_binary());
  EXPECT_EQ(dump_cell(t->columns[0][1]), "123456789012345678901234567890");
  EXPECT_EQ(dump_cell(t->columns[1][0]), "{\"k\":123456789012345678901234567890}");
  EXPECT_TRUE(t->columns[1][1].is_number_float());
}

TEST(Csv, HeaderRules) {
  // All numbers on the first line: no header, columns column_0...
  auto no = parse_csv("1,2\n3,4\n", ',', CsvHeader::kAuto);
  ASSERT_TRUE(no.ok());
  EXPECT_EQ(no->names, (std::vector<std::string>{"column_0", "column_1"}));
  EXPECT_EQ(no->num_rows(), 2u);
  // scikit-learn's count header.
  auto count = parse_csv("2,2,setosa,virginica\n5.1,3.5,0\n4.9,3.0,1\n", ',', CsvHeader::kAuto);
  ASSERT_TRUE(count.ok());
  EXPECT_TRUE(count->count_header);
  EXPECT_EQ(count->names, (std::vector<std::string>{"feature_0", "feature_1", "target"}));
  EXPECT_EQ(count->count_class_names, (std::vector<std::string>{"setosa", "virginica"}));
  // Without class names the count header is shorter than the rows.
  auto bare = parse_csv("2,2\n0.5,0.7,0\n1.5,2.5,1\n", ',', CsvHeader::kAuto);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->count_header);
  // A headerless numeric file whose first row happens to count the rest stays data.
  auto data = parse_csv("3,1\n1,2\n3,4\n5,6\n", ',', CsvHeader::kAuto);
  ASSERT_TRUE(data.ok());
  EXPECT_FALSE(data->count_header);
  EXPECT_EQ(data->num_rows(), 4u);
  // A first line that is not a count header when asked for one.
  EXPECT_FALSE(parse_csv("a,b\n1,2\n", ',', CsvHeader::kCount).ok());
  EXPECT_NE(parse_csv("3,1\n1,2\n", ',', CsvHeader::kCount).status().message().find("says 3 rows"), std::string::npos);
  // Another delimiter, and an empty header name.
  auto semi = parse_csv(";x\n1;2\n", ';', CsvHeader::kYes);
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ(semi->names, (std::vector<std::string>{"column_0", "x"}));
}

}  // namespace
}  // namespace gtn::ingest
