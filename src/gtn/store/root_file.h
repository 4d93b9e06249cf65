// The root file gtn.json (format version, feature flags, current branch) and the ref
// files refs/heads/<branch> and refs/tags/<tag> that name a version (docs/format.md,
// "Root and refs").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/status.h"

namespace gtn::store {

inline constexpr int kFormatVersion = 1;
inline constexpr const char* kRootKey = "gtn.json";
// Reader feature: chunk files of chunk format version 2 (per-block checksums, verified
// on first touch; docs/format.md, "Chunk files"). Every dataset a writer of this build
// has written to carries it.
inline constexpr const char* kFeatureBlockChecksums = "block_checksums";
// Reader feature: manifests of format 2 (commits, table trees shared between versions,
// chunk slices, sample ids; docs/format.md, "Manifest"). Every dataset a writer of this
// build has written to carries it.
inline constexpr const char* kFeatureVersions = "versions";
// Table leaves may use encoding 2 (per-chunk statistics beside each file reference).
inline constexpr const char* kFeatureChunkStats = "chunk_stats";
// Some commits' history was expired: "expired.json" lists commits to read as roots
// (docs/format.md, "Expired history"); a reader that ignored it would look for manifests
// gc has deleted. Added by the first expire_history().
inline constexpr const char* kFeatureExpiredHistory = "expired_history";

struct RootFile {
  int format_version = kFormatVersion;
  std::vector<std::string> reader_features;  // a reader must know all of these to read
  std::vector<std::string> writer_features;  // a writer must know all of these to write
  std::string head = "main";                 // the branch whose ref names the current version
};

std::string encode_root(const RootFile& root);
Status decode_root(std::string_view json, RootFile* root);
// Unsupported when the root asks for a format version or feature this build lacks.
Status check_readable(const RootFile& root);
Status check_writable(const RootFile& root);
// Adds `feature` to root->reader_features if missing; true if it was added.
bool add_reader_feature(RootFile* root, const std::string& feature);

// "refs/heads/<branch>" and "refs/tags/<tag>".
std::string ref_key(const std::string& branch);
std::string tag_key(const std::string& tag);
// InvalidArgument unless `name` is a valid branch or tag name (git's rules, simplified):
// 1-200 characters of letters, digits, '.', '_', '-', '/'; no "..", "//", no part that
// starts with '.' or '-' or ends with ".lock"; not ending in '/' or '.'; not "HEAD".
Status check_ref_name(const std::string& name, const char* what);
// A ref file's bytes: the version id as 16 hex digits and a newline.
std::string encode_ref(uint64_t version_id);
Status decode_ref(std::string_view bytes, uint64_t* version_id);

}  // namespace gtn::store
