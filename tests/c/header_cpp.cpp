// The header compiles as C++ (extern "C", no C-only constructs) and links, and text goes
// in as `const char *` without casts: string literals for ids, uris and metadata.
#include "kausaldb.h"

#include <cstdio>
#include <cstring>

int main() {
    kausal_config config;
    std::size_t bytes = 0;
    int passed = 0, failed = 0;
    if (kausal_config_default(&config) != KAUSAL_OK ||
        kausal_memory_required(&config, &bytes) != KAUSAL_OK || bytes == 0) {
        return 1;
    }
    (std::strcmp(kausal_status_name(KAUSAL_ERROR_NOT_FOUND), "KAUSAL_ERROR_NOT_FOUND") == 0
         ? passed
         : failed)++;
    kausal_id a, b;
    (kausal_id_derive("repo", 4, "src/main.c:main", 15, &a) == KAUSAL_OK ? passed : failed)++;
    (kausal_id_derive("repo", 4, "src/main.c:main", 15, &b) == KAUSAL_OK &&
             std::memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0
         ? passed
         : failed)++;
    kausal_block_filter filter;
    std::memset(&filter, 0, sizeof filter);
    filter.source_uri_prefix = "src/";
    filter.source_uri_prefix_len = 4;
    filter.metadata_key = "kind";
    filter.metadata_key_len = 4;
    (filter.source_uri_prefix[0] == 's' ? passed : failed)++;
    std::printf("header_cpp: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
