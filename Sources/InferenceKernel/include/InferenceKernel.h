// The inference kernel: runs a program made by scripts/models/kernel_program.py from one of Affect's
// ONNX files, and makes its input from pixels the way the server does (ImageTensor.c). Plain C, no
// allocation, no I/O and no library calls, so the same files build natively (tested against cv::dnn
// and OpenCV's resize in the Swift suite) and for wasm32 (the participant page). Dumb on
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

/// How `akw_rgba_to_tensor` turns pixels into channels.
enum { AKW_TENSOR_RGB = 0, AKW_TENSOR_GREY = 1 };
/// How `akw_rgba_to_tensor` resizes: bilinear, or averaging pixel areas (for shrinking a lot).
enum { AKW_RESAMPLE_LINEAR = 0, AKW_RESAMPLE_AREA = 1 };

/// Writes a network's planar input from an RGBA image (`width` x `height`, 4 bytes a pixel, as a
/// canvas gives it): the crop `x, y, w, h` (parts outside the image read as black) resized to
/// `out_w` x `out_h` as the server's OpenCV does it, as red, green, blue planes or one grey plane,
/// each value `pixel * scale + offset`. `out` holds `out_w * out_h` (grey) or three times that
/// floats. Returns 0, or -1 for sizes out of range (crops and images up to 32768 a side, outputs up
/// to 1024, area averaging shrinking up to 128 times).
int akw_rgba_to_tensor(const unsigned char *rgba, int width, int height, int x, int y, int w, int h, int out_w,
                       int out_h, int colour, int resample, float scale, float offset, float *out);

#ifdef __cplusplus
}
#endif

#endif
