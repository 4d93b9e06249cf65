# Third-party libraries, all from Debian packages (see README "Dependencies").
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 CONFIG QUIET)

# gzip files (OGB's raw graph format, gtn graph ingest-ogb).
find_package(ZLIB REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)
pkg_check_modules(JPEG REQUIRED IMPORTED_TARGET libturbojpeg)
include(${CMAKE_CURRENT_LIST_DIR}/GtnBlas.cmake)
# Unicode normalization (NFKC, case folding) of text for deduplication (curate).
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
# Summary plots (gtn summary --plot, Summary.plot): 2-D drawing, text and PNG output.
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
