#ifndef AFFECT_FUZZ_DRIVER_H
#define AFFECT_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked with -sanitize=fuzzer). SwiftPM links an executable's entry
/// point as `main` itself, so libFuzzer's own `main` is not used: the harness calls this instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
