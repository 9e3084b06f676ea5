// The inference kernel: runs a program made by scripts/models/kernel_program.py from one of Affect's
// ONNX files. Plain C, no allocation, no I/O and no library calls, so the same file builds natively
// (tested against cv::dnn in the Swift suite) and for wasm32 (the participant page). Dumb on
// purpose: the converter decides everything; this only checks the program's bounds and computes.
#ifndef INFERENCE_KERNEL_H
#define INFERENCE_KERNEL_H

#ifdef __cplusplus
extern "C" {
#endif

/// What `akw_validate` finds wrong (0: nothing).
enum {
    AKW_OK = 0,
    AKW_ERROR_TRUNCATED = -1,     // shorter than its header, operations or weights say
    AKW_ERROR_MAGIC = -2,         // not a kernel program, or another version
    AKW_ERROR_ALIGNMENT = -3,     // not on a 4-byte boundary
    AKW_ERROR_OPERATION = -4,     // an unknown opcode, or sizes that do not fit together
    AKW_ERROR_BOUNDS = -5,        // a tensor or weight range outside the arena or the weights
};

/// Checks `program` (`length` bytes, 4-byte aligned) completely: after AKW_OK, `akw_run` reads and
/// writes only inside the program and an arena of `akw_arena_floats` floats.
int akw_validate(const void *program, unsigned int length);

/// Floats of working memory the program needs (the caller allocates them).
unsigned int akw_arena_floats(const void *program);
/// Where in the arena the input goes (C x H x W floats, planar) and its dimensions.
unsigned int akw_input_offset(const void *program);
unsigned int akw_input_channels(const void *program);
unsigned int akw_input_height(const void *program);
unsigned int akw_input_width(const void *program);
/// The outputs, in the ONNX graph's order: where each is in the arena, how many floats, its name
/// (up to 32 bytes, not necessarily terminated).
unsigned int akw_output_count(const void *program);
unsigned int akw_output_offset(const void *program, unsigned int index);
unsigned int akw_output_length(const void *program, unsigned int index);
const char *akw_output_name(const void *program, unsigned int index);

/// Runs a validated program over `arena`, whose input region the caller has filled.
void akw_run(const void *program, float *arena);

/// e^x to within a few units in the last place for |x| < 87, the same on every target (wasm has no
/// libm); the kernel's softmax uses it, and the page's sigmoid may.
float akw_exp(float x);

#ifdef __cplusplus
}
#endif

#endif
