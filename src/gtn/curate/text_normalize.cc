// Text normalization: ASCII fast path, ICU (NFKC, case folding, Unicode classes) otherwise.
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <string>

#include "gtn/curate.h"
#include "gtn/curate/ngrams.h"

namespace gtn::curate {
namespace {

bool ascii_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool ascii_punct(unsigned char c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

bool is_ascii(std::string_view text) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  uint64_t acc = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= p[i];
  return (acc & 0x8080808080808080ull) == 0;
}

// Appends code point c as UTF-8.
void append_utf8(std::string& out, UChar32 c) {
  char buf[4];
  int32_t len = 0;
  UBool error = false;
  U8_APPEND(buf, len, 4, c, error);
  if (!error) out.append(buf, static_cast<size_t>(len));
}

void normalize_ascii(std::string_view text, const TextNormalization& norm, std::string& out) {
  out.reserve(text.size());
  bool pending_space = false;
  for (unsigned char c : text) {
    bool space = ascii_space(c);
    if (!space && norm.punctuation && ascii_punct(c)) space = true;
    if (space) {
      if (norm.whitespace) {
        pending_space = true;
      } else {
        out.push_back(ascii_space(c) ? static_cast<char>(c) : ' ');
      }
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    if (norm.lowercase && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
    out.push_back(static_cast<char>(c));
  }
}

Status normalize_unicode(std::string_view text, const TextNormalization& norm, std::string& out) {
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  UErrorCode err = U_ZERO_ERROR;
  if (norm.nfkc) {
    const icu::Normalizer2* n = norm.lowercase ? icu::Normalizer2::getNFKCCasefoldInstance(err)
                                               : icu::Normalizer2::getNFKCInstance(err);
    if (U_FAILURE(err)) return Status::Internal(std::string("ICU normalizer unavailable: ") + u_errorName(err));
    s = n->normalize(s, err);
    if (U_FAILURE(err)) return Status::Internal(std::string("ICU normalization failed: ") + u_errorName(err));
  } else if (norm.lowercase) {
    s.foldCase();
  }
  out.reserve(text.size());
  bool pending_space = false;
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    i += U16_LENGTH(c);
    bool is_space = u_isUWhiteSpace(c);
    bool space = is_space || (norm.punctuation && u_ispunct(c));
    if (space) {
      if (norm.whitespace) {
        pending_space = true;
      } else {
        append_utf8(out, is_space ? c : ' ');
      }
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    append_utf8(out, c);
  }
  return Status::OK();
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  const uint8_t* s = reinterpret_cast<const uint8_t*>(text.data());
  int32_t n = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    int32_t start = i;
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c < 0) return static_cast<size_t>(start);
  }
  return text.size();
}

Status normalize_into(std::string_view text, const TextNormalization& norm, std::string& out) {
  out.clear();
  if (is_ascii(text)) {
    normalize_ascii(text, norm, out);
    return Status::OK();
  }
  size_t bad = find_invalid_utf8(text);
  if (bad != text.size()) {
    return Status::InvalidArgument("text is not valid UTF-8 (byte 0x" +
                                   std::string(1, "0123456789abcdef"[static_cast<uint8_t>(text[bad]) >> 4]) +
                                   std::string(1, "0123456789abcdef"[static_cast<uint8_t>(text[bad]) & 15]) +
                                   " at offset " + std::to_string(bad) + ")");
  }
  return normalize_unicode(text, norm, out);
}

Result<std::string> normalize_text(std::string_view text, const TextNormalization& norm) {
  std::string out;
  GTN_RETURN_IF_ERROR(normalize_into(text, norm, out));
  return out;
}

}  // namespace gtn::curate
