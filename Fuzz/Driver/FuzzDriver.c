#include "FuzzDriver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int affect_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size)) {
    // The driver may consume arguments it understands, so it takes them by address.
    return LLVMFuzzerRunDriver(&argc, &argv, callback);
}
