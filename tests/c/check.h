/* A tiny test framework for the C harness: CHECK counts, the summary line is the one
 * test runners read ("name: N passed, M failed"). */
#ifndef KAUSALDB_TEST_CHECK_H
#define KAUSALDB_TEST_CHECK_H

#include "kausaldb.h"

#include <stdio.h>
#include <stdlib.h>

static int checks_passed = 0;
static int checks_failed = 0;

#define CHECK(condition)                                                               \
    do {                                                                               \
        if (condition) {                                                               \
            checks_passed++;                                                           \
        } else {                                                                       \
            checks_failed++;                                                           \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #condition);    \
        }                                                                              \
    } while (0)

#define CHECK_STATUS(call, expected)                                                   \
    do {                                                                               \
        kausal_status got_ = (call);                                                   \
        if (got_ == (expected)) {                                                      \
            checks_passed++;                                                           \
        } else {                                                                       \
            checks_failed++;                                                           \
            fprintf(stderr, "%s:%d: FAILED: %s -> %s, expected %s\n", __FILE__,        \
                    __LINE__, #call, kausal_status_name((int32_t)got_),                \
                    kausal_status_name((int32_t)(expected)));                          \
        }                                                                              \
    } while (0)

#define REQUIRE_OK(call)                                                               \
    do {                                                                               \
        kausal_status got_ = (call);                                                   \
        if (got_ != KAUSAL_OK) {                                                       \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,            \
                    kausal_status_name((int32_t)got_));                                \
            exit(2);                                                                   \
        }                                                                              \
    } while (0)

static int report(const char *name) {
#if defined(__SANITIZE_ADDRESS__)
    printf("%s: built with AddressSanitizer\n", name);
#endif
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed == 0 && checks_passed > 0 ? 0 : 1;
}

#endif
