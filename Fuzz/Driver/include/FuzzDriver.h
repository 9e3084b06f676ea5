#ifndef AFFECT_FUZZ_DRIVER_H
#define AFFECT_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (compiler-rt, linked with -sanitize=fuzzer) on `callback` with the program's
/// arguments. SwiftPM links a harness's top-level code as `main`, so libFuzzer's own `main` is not the
/// one called: the harness calls this instead.
int affect_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));

#endif
