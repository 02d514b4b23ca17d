// The header compiles as C++ (extern "C", no C-only constructs) and links.
#include "kausaldb.h"

#include <cstdio>
#include <cstring>

int main() {
    kausal_config config;
    std::size_t bytes = 0;
    if (kausal_config_default(&config) != KAUSAL_OK ||
        kausal_memory_required(&config, &bytes) != KAUSAL_OK || bytes == 0) {
        return 1;
    }
    const bool named = std::strcmp(kausal_status_name(KAUSAL_ERROR_NOT_FOUND),
                                   "KAUSAL_ERROR_NOT_FOUND") == 0;
    std::printf("header_cpp: %d passed, %d failed\n", named ? 2 : 1, named ? 0 : 1);
    return named ? 0 : 1;
}
