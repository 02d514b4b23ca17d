/* The README's "From C" program, compiled and run by the C harness: `cargo xtask check`
 * fails when the README's block differs from the lines between the markers below. */
/* README: begin */
#include "kausaldb.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *directory = argc > 1 ? argv[1] : "store";
    kausal_config config;
    size_t bytes = 0;
    kausal_db *db = NULL;
    kausal_error_detail error = {.struct_size = sizeof(kausal_error_detail)};
    void *region;
    kausal_config_init(&config, sizeof config); /* then adjust any limit */
    kausal_memory_required(&config, &bytes);
    region = malloc(bytes); /* or a static array on firmware */
    if (region == NULL) {
        return 1;
    }
    if (kausal_open_dir(&config, region, bytes, directory, &db, &error) != KAUSAL_OK) {
        /* e.g. "another process (pid 4242) has the store open" */
        fprintf(stderr, "cannot open %s: %s\n", directory, error.message);
        free(region);
        return 1;
    }
    /* kausal_put_block, kausal_put_edge, kausal_sync, kausal_find_block, kausal_edges,
       kausal_query (callers, callees, impact ...), kausal_traverse, kausal_shortest_path,
       kausal_scan (filtered, with a cursor), kausal_find_blocks ... */
    if (kausal_close(db) != KAUSAL_OK) {
        return 1;
    }
    free(region);
    return 0;
}
/* README: end */
