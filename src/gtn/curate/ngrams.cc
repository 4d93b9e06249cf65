// Word and character n-grams of normalized text, hashed with XXH3.
#include <xxhash.h>

#include <algorithm>

#include "gtn/curate.h"
#include "gtn/curate/ngrams.h"

namespace gtn::curate {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

Result<NgramUnit> parse_ngram_unit(std::string_view name) {
  if (name == "word" || name == "words") return NgramUnit::kWord;
  if (name == "char" || name == "chars" || name == "character") return NgramUnit::kChar;
  return Status::InvalidArgument("unknown n-gram unit '" + std::string(name) + "' (expected word or char)");
}

void ngram_hashes_of_normalized(std::string_view text, const NgramOptions& options, NgramScratch& scratch,
                                std::vector<uint64_t>& out) {
  const size_t n = static_cast<size_t>(std::max(1, options.n));
  if (options.unit == NgramUnit::kWord) {
    std::vector<uint64_t>& tok = scratch.tokens;
    tok.clear();
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
      while (p < end && is_space(*p)) ++p;
      const char* start = p;
      while (p < end && !is_space(*p)) ++p;
      if (p > start) tok.push_back(XXH3_64bits(start, static_cast<size_t>(p - start)));
    }
    if (tok.empty()) return;
    if (tok.size() <= n) {
      out.push_back(XXH3_64bits(tok.data(), tok.size() * sizeof(uint64_t)));
      return;
    }
    if (n == 1) {
      out.insert(out.end(), tok.begin(), tok.end());
      return;
    }
    out.reserve(out.size() + tok.size() - n + 1);
    for (size_t i = 0; i + n <= tok.size(); ++i) out.push_back(XXH3_64bits(tok.data() + i, n * sizeof(uint64_t)));
    return;
  }
  std::vector<uint32_t>& off = scratch.offsets;
  off.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xC0) != 0x80) off.push_back(static_cast<uint32_t>(i));
  }
  if (off.empty()) return;
  off.push_back(static_cast<uint32_t>(text.size()));
  size_t units = off.size() - 1;
  if (units <= n) {
    out.push_back(XXH3_64bits(text.data(), text.size()));
    return;
  }
  for (size_t i = 0; i + n <= units; ++i) out.push_back(XXH3_64bits(text.data() + off[i], off[i + n] - off[i]));
}

void sort_unique(std::vector<uint64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

Result<std::vector<uint64_t>> ngram_hashes(std::string_view text, const NgramOptions& options) {
  if (options.n < 1) return Status::InvalidArgument("n-gram size must be >= 1, got " + std::to_string(options.n));
  NgramScratch scratch;
  GTN_RETURN_IF_ERROR(normalize_into(text, options.normalization, scratch.normalized));
  std::vector<uint64_t> out;
  ngram_hashes_of_normalized(scratch.normalized, options, scratch, out);
  sort_unique(out);
  return out;
}

double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, inter = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++inter;
      ++i;
      ++j;
    }
  }
  return static_cast<double>(inter) / static_cast<double>(a.size() + b.size() - inter);
}

}  // namespace gtn::curate
