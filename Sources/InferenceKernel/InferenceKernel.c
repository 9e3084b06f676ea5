#include "InferenceKernel.h"

// The program is little-endian 32-bit words (both targets are little-endian); see
// scripts/models/kernel_program.py for the layout.
typedef unsigned int word;

enum { MAGIC = 0x31574B41, VERSION = 1, OP_WORDS = 20, OUTPUT_WORDS = 10, MAX_OUTPUTS = 4, HEADER_WORDS = 8 };
enum { OP_CONV = 1, OP_MAXPOOL, OP_ADD, OP_PAD_CHANNELS, OP_GLOBAL_AVERAGE_POOL, OP_SOFTMAX, OP_NCHW_TO_NHWC, OP_COPY, OP_RELU };
enum { FLAG_RELU = 1 };

// One operation's words, by name.
typedef struct {
    word opcode, a, b, out;
    word c_in, h_in, w_in, c_out, h_out, w_out;
    word kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, groups, weight, bias, flags;
} operation;

static const word *words(const void *program) { return (const word *)program; }
static word output_count(const word *w) { return w[7]; }
static word operations_at(const word *w) { return HEADER_WORDS + output_count(w) * OUTPUT_WORDS; }
static word operation_count(const word *w) { return w[operations_at(w)]; }
static const operation *operations(const word *w) { return (const operation *)(w + operations_at(w) + 1); }
static word weights_at(const word *w) { return operations_at(w) + 1 + operation_count(w) * OP_WORDS; }
static const float *weights(const word *w) { return (const float *)(w + weights_at(w) + 1); }

unsigned int akw_arena_floats(const void *p) { return words(p)[2]; }
unsigned int akw_input_offset(const void *p) { return words(p)[3]; }
unsigned int akw_input_channels(const void *p) { return words(p)[4]; }
unsigned int akw_input_height(const void *p) { return words(p)[5]; }
unsigned int akw_input_width(const void *p) { return words(p)[6]; }
unsigned int akw_output_count(const void *p) { return output_count(words(p)); }
unsigned int akw_output_offset(const void *p, unsigned int i) { return words(p)[HEADER_WORDS + i * OUTPUT_WORDS]; }
unsigned int akw_output_length(const void *p, unsigned int i) { return words(p)[HEADER_WORDS + i * OUTPUT_WORDS + 1]; }
const char *akw_output_name(const void *p, unsigned int i) { return (const char *)(words(p) + HEADER_WORDS + i * OUTPUT_WORDS + 2); }

// Whether [offset, offset + count) fits in `limit`, without overflow. Sizes are products of at most
// three words: computed in 64 bits, they cannot wrap.
static int fits(unsigned long long offset, unsigned long long count, unsigned long long limit) {
    return offset <= limit && count <= limit - offset;
}

static int check_operation(const operation *op, word arena, word weight_count) {
    unsigned long long in = (unsigned long long)op->c_in * op->h_in * op->w_in;
    unsigned long long out = (unsigned long long)op->c_out * op->h_out * op->w_out;
    if (!fits(op->a, in, arena)) return AKW_ERROR_BOUNDS;
    switch (op->opcode) {
    case OP_CONV: {
        if (op->kernel_h == 0 || op->kernel_w == 0 || op->stride_h == 0 || op->stride_w == 0) return AKW_ERROR_OPERATION;
        if (op->groups != 1 && !(op->groups == op->c_in && op->c_out == op->c_in)) return AKW_ERROR_OPERATION;
        unsigned long long per_output = (unsigned long long)(op->groups == 1 ? op->c_in : 1) * op->kernel_h * op->kernel_w;
        if (!fits(op->weight, (unsigned long long)op->c_out * per_output, weight_count)) return AKW_ERROR_BOUNDS;
        if (!fits(op->bias, op->c_out, weight_count)) return AKW_ERROR_BOUNDS;
        if (!fits(op->out, out, arena)) return AKW_ERROR_BOUNDS;
        return AKW_OK;
    }
    case OP_MAXPOOL:
        if (op->kernel_h == 0 || op->kernel_w == 0 || op->stride_h == 0 || op->stride_w == 0 || op->c_out != op->c_in)
            return AKW_ERROR_OPERATION;
        return fits(op->out, out, arena) ? AKW_OK : AKW_ERROR_BOUNDS;
    case OP_ADD:
        if (out != in) return AKW_ERROR_OPERATION;
        return fits(op->b, in, arena) && fits(op->out, out, arena) ? AKW_OK : AKW_ERROR_BOUNDS;
    case OP_PAD_CHANNELS:
        if (op->c_out < op->c_in || op->h_out != op->h_in || op->w_out != op->w_in) return AKW_ERROR_OPERATION;
        return fits(op->out, out, arena) ? AKW_OK : AKW_ERROR_BOUNDS;
    case OP_GLOBAL_AVERAGE_POOL:
        if (op->c_out != op->c_in || op->h_in * op->w_in == 0) return AKW_ERROR_OPERATION;
        return fits(op->out, op->c_out, arena) ? AKW_OK : AKW_ERROR_BOUNDS;
    case OP_SOFTMAX:
    case OP_RELU:
    case OP_NCHW_TO_NHWC:
        if (out != in || in == 0) return AKW_ERROR_OPERATION;
        return fits(op->out, out, arena) ? AKW_OK : AKW_ERROR_BOUNDS;
    case OP_COPY:
        // c_out is the whole destination; bias is where this part goes in it.
        if (!fits(op->bias, in, op->c_out)) return AKW_ERROR_OPERATION;
        return fits(op->out, op->c_out, arena) ? AKW_OK : AKW_ERROR_BOUNDS;
    default:
        return AKW_ERROR_OPERATION;
    }
}

int akw_validate(const void *program, unsigned int length) {
    if (((unsigned long)program & 3u) != 0 || (length & 3u) != 0) return AKW_ERROR_ALIGNMENT;
    const word *w = words(program);
    unsigned long long count = length / 4;
    if (count < HEADER_WORDS) return AKW_ERROR_TRUNCATED;
    if (w[0] != MAGIC || w[1] != VERSION) return AKW_ERROR_MAGIC;
    word outputs = output_count(w);
    if (outputs == 0 || outputs > MAX_OUTPUTS) return AKW_ERROR_OPERATION;
    if (count < (unsigned long long)operations_at(w) + 1) return AKW_ERROR_TRUNCATED;
    word arena = akw_arena_floats(program);
    if (!fits(akw_input_offset(program), (unsigned long long)w[4] * w[5] * w[6], arena)) return AKW_ERROR_BOUNDS;
    for (word i = 0; i < outputs; i++) {
        if (!fits(akw_output_offset(program, i), akw_output_length(program, i), arena)) return AKW_ERROR_BOUNDS;
    }
    unsigned long long ops_end = (unsigned long long)operations_at(w) + 1 + (unsigned long long)operation_count(w) * OP_WORDS;
    if (count < ops_end + 1) return AKW_ERROR_TRUNCATED;
    word weight_count = w[weights_at(w)];
    if (count != ops_end + 1 + weight_count) return AKW_ERROR_TRUNCATED;
    const operation *op = operations(w);
    for (word i = 0; i < operation_count(w); i++) {
        int status = check_operation(&op[i], arena, weight_count);
        if (status != AKW_OK) return status;
    }
    return AKW_OK;
}

float akw_exp(float x) {
    // e^x = 2^n * e^r with n = round(x / ln 2), |r| <= ln2 / 2; e^r by its Taylor series to r^7
    // (relative error below 2e-9 on that range), in double so the float result is correctly rounded
    // but for ties. Inputs beyond float's range saturate.
    if (x > 88.0f) return 3.4028235e38f;
    if (x < -87.0f) return 0.0f;
    const double ln2 = 0.6931471805599453;
    double scaled = (double)x / ln2;
    int n = (int)(scaled + (scaled >= 0 ? 0.5 : -0.5));
    double r = (double)x - n * ln2;
    double p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040)))))));
    // 2^n by building the double's exponent: n is within [-126, 127] here.
    unsigned long long bits = (unsigned long long)(n + 1023) << 52;
    double scale;
    __builtin_memcpy(&scale, &bits, sizeof scale);
    return (float)(p * scale);
}

static float relu(float value, word flags) { return (flags & FLAG_RELU) && value < 0 ? 0 : value; }

// The output columns [first, last) whose input column x * stride + k - pad is within [0, w_in).
static void columns(word w_in, word w_out, word stride, word k, word pad, word *first, word *last) {
    // x * stride + k >= pad  and  x * stride + k - pad <= w_in - 1
    long lowest = (long)pad - (long)k;
    word start = lowest <= 0 ? 0 : (word)((lowest + stride - 1) / stride);
    long highest = (long)w_in - 1 + (long)pad - (long)k;
    word end = highest < 0 ? 0 : (word)(highest / stride) + 1;
    *first = start;
    *last = end < w_out ? end : w_out;
}

// A 1x1 convolution at stride 1: four output channels at a time, so each input plane is read once
// per four outputs; the inner loops run over contiguous pixels and vectorise.
static void pointwise(const operation *op, const float *in, float *out, const float *weight, const float *bias) {
    const word plane = op->h_in * op->w_in;
    word co = 0;
    for (; co + 4 <= op->c_out; co += 4) {
        float *o0 = out + co * plane, *o1 = o0 + plane, *o2 = o1 + plane, *o3 = o2 + plane;
        for (word p = 0; p < plane; p++) {
            o0[p] = bias[co];
            o1[p] = bias[co + 1];
            o2[p] = bias[co + 2];
            o3[p] = bias[co + 3];
        }
        for (word ci = 0; ci < op->c_in; ci++) {
            const float *x = in + ci * plane;
            const float k0 = weight[co * op->c_in + ci], k1 = weight[(co + 1) * op->c_in + ci];
            const float k2 = weight[(co + 2) * op->c_in + ci], k3 = weight[(co + 3) * op->c_in + ci];
            for (word p = 0; p < plane; p++) {
                const float v = x[p];
                o0[p] += k0 * v;
                o1[p] += k1 * v;
                o2[p] += k2 * v;
                o3[p] += k3 * v;
            }
        }
    }
    for (; co < op->c_out; co++) {
        float *o = out + co * plane;
        for (word p = 0; p < plane; p++) o[p] = bias[co];
        for (word ci = 0; ci < op->c_in; ci++) {
            const float k = weight[co * op->c_in + ci];
            const float *x = in + ci * plane;
            for (word p = 0; p < plane; p++) o[p] += k * x[p];
        }
    }
    if (op->flags & FLAG_RELU)
        for (word p = 0; p < op->c_out * plane; p++) out[p] = relu(out[p], op->flags);
}

// The nine taps of a 3x3 depthwise convolution at one output pixel whose neighbours may fall outside
// the plane (the border: rows and columns outside count as zero).
static float depthwise_border(const float *plane, word h, word w, long y, long x, const float *k) {
    float sum = 0;
    for (long dy = -1; dy <= 1; dy++) {
        if (y + dy < 0 || y + dy >= (long)h) continue;
        for (long dx = -1; dx <= 1; dx++) {
            if (x + dx < 0 || x + dx >= (long)w) continue;
            sum += k[(dy + 1) * 3 + dx + 1] * plane[(y + dy) * (long)w + x + dx];
        }
    }
    return sum;
}

// A 3x3 depthwise convolution at stride 1 with one pixel of zero padding all round (the common case
// in both models): each output pixel is written once, and inside the border the nine taps are
// branch-free loads that vectorise along the row.
static void depthwise_3x3(const operation *op, const float *in, float *out, const float *weight, const float *bias) {
    const word h = op->h_in, w = op->w_in;
    for (word c = 0; c < op->c_in; c++) {
        const float *plane = in + c * h * w, *k = weight + c * 9;
        float *o = out + c * h * w;
        const float b = bias[c];
        for (word y = 0; y < h; y++) {
            float *target = o + y * w;
            if (y == 0 || y + 1 == h || w < 3) {
                for (word x = 0; x < w; x++) target[x] = relu(b + depthwise_border(plane, h, w, y, x, k), op->flags);
                continue;
            }
            const float *up = plane + (y - 1) * w, *mid = up + w, *down = mid + w;
            target[0] = relu(b + depthwise_border(plane, h, w, y, 0, k), op->flags);
            for (word x = 1; x + 1 < w; x++) {
                float sum = b + k[0] * up[x - 1] + k[1] * up[x] + k[2] * up[x + 1]
                    + k[3] * mid[x - 1] + k[4] * mid[x] + k[5] * mid[x + 1]
                    + k[6] * down[x - 1] + k[7] * down[x] + k[8] * down[x + 1];
                target[x] = relu(sum, op->flags);
            }
            target[w - 1] = relu(b + depthwise_border(plane, h, w, y, w - 1, k), op->flags);
        }
    }
}

enum { STRIDE2_MAX_HALF = 512 };

// A convolution at horizontal stride 2 (full or depthwise). Each input row is split once into its
// even and odd columns, so every tap reads one of the halves at unit stride and the inner loop
// vectorises; a stride-2 read directly does not. Sums are taken in the same order as conv's.
__attribute__((unused)) static void conv_stride2(const operation *op, const float *in, float *out, const float *weight, const float *bias) {
    const int depthwise = op->groups != 1;
    const word plane_in = op->h_in * op->w_in, plane_out = op->h_out * op->w_out;
    const word kernel = op->kernel_h * op->kernel_w;
    float even[STRIDE2_MAX_HALF], odd[STRIDE2_MAX_HALF];
    for (word co = 0; co < op->c_out; co++)
        for (word p = 0; p < plane_out; p++) out[co * plane_out + p] = bias[co];
    for (word ci = 0; ci < op->c_in; ci++) {
        const float *plane = in + ci * plane_in;
        const word co_first = depthwise ? ci : 0, co_last = depthwise ? ci + 1 : op->c_out;
        for (word ky = 0; ky < op->kernel_h; ky++) {
            for (word y = 0; y < op->h_out; y++) {
                long iy = (long)(y * op->stride_h + ky) - (long)op->pad_top;
                if (iy < 0 || iy >= (long)op->h_in) continue;
                const float *row = plane + iy * op->w_in;
                for (word x = 0; 2 * x < op->w_in; x++) {
                    even[x] = row[2 * x];
                    odd[x] = 2 * x + 1 < op->w_in ? row[2 * x + 1] : 0;
                }
                for (word co = co_first; co < co_last; co++) {
                    const float *k = weight + (co * (depthwise ? 1 : op->c_in) + (ci - (depthwise ? ci : 0))) * kernel + ky * op->kernel_w;
                    float *target = out + co * plane_out + y * op->w_out;
                    for (word kx = 0; kx < op->kernel_w; kx++) {
                        word x_first, x_last;
                        columns(op->w_in, op->w_out, 2, kx, op->pad_left, &x_first, &x_last);
                        // Input column 2x + kx - pad: the half it is in, and where.
                        const long shift = (long)kx - (long)op->pad_left;
                        const long half_shift = shift >= 0 ? shift / 2 : -((-shift + 1) / 2);
                        const float *half = (shift & 1) ? odd : even;
                        const float scale = k[kx];
                        for (word x = x_first; x < x_last; x++) target[x] += scale * half[(long)x + half_shift];
                    }
                }
            }
        }
    }
    if (op->flags & FLAG_RELU)
        for (word p = 0; p < op->c_out * plane_out; p++) out[p] = relu(out[p], op->flags);
}

// A full or depthwise convolution, zero padding, one group per channel when depthwise.
static void conv(const operation *op, const float *in, float *out, const float *weight, const float *bias) {
#if !defined(__wasm__) || defined(__wasm_simd128__)
    // Only where the halves' loops become vector loops: without SIMD the split costs more than it saves
    // (wasm scalar build: BlazeFace 19.8 ms without, 24 ms with).
    if (op->stride_w == 2 && op->kernel_w > 1 && op->w_in <= 2 * STRIDE2_MAX_HALF) {
        conv_stride2(op, in, out, weight, bias);
        return;
    }
#endif
    if (op->groups == 1 && op->kernel_h == 1 && op->kernel_w == 1 && op->stride_h == 1 && op->stride_w == 1 &&
        op->pad_top == 0 && op->pad_left == 0) {
        pointwise(op, in, out, weight, bias);
        return;
    }
    if (op->groups != 1 && op->kernel_h == 3 && op->kernel_w == 3 && op->stride_h == 1 && op->stride_w == 1 &&
        op->pad_top == 1 && op->pad_left == 1 && op->h_out == op->h_in && op->w_out == op->w_in) {
        depthwise_3x3(op, in, out, weight, bias);
        return;
    }
    const int depthwise = op->groups != 1;
    const word plane_in = op->h_in * op->w_in, plane_out = op->h_out * op->w_out;
    const word kernel = op->kernel_h * op->kernel_w;
    const int pointwise = kernel == 1 && op->pad_top == 0 && op->pad_left == 0 && !depthwise;
    for (word co = 0; co < op->c_out; co++) {
        float *o = out + co * plane_out;
        for (word p = 0; p < plane_out; p++) o[p] = bias[co];
        word first = depthwise ? co : 0, last = depthwise ? co + 1 : op->c_in;
        for (word ci = first; ci < last; ci++) {
            const float *plane = in + ci * plane_in;
            const float *k = weight + (co * (depthwise ? 1 : op->c_in) + (ci - first)) * kernel;
            if (pointwise) {
                const float scale = k[0];
                if (op->stride_h == 1 && op->stride_w == 1) {
                    for (word p = 0; p < plane_out; p++) o[p] += scale * plane[p];
                } else {
                    for (word y = 0; y < op->h_out; y++)
                        for (word x = 0; x < op->w_out; x++)
                            o[y * op->w_out + x] += scale * plane[y * op->stride_h * op->w_in + x * op->stride_w];
                }
                continue;
            }
            for (word ky = 0; ky < op->kernel_h; ky++) {
                for (word kx = 0; kx < op->kernel_w; kx++) {
                    const float scale = k[ky * op->kernel_w + kx];
                    // The outputs whose input column x * stride + kx - pad lies inside the row: the
                    // inner loop then has no branch, and at stride 1 it vectorises.
                    word x_first, x_last;
                    columns(op->w_in, op->w_out, op->stride_w, kx, op->pad_left, &x_first, &x_last);
                    if (x_first >= x_last) continue;
                    for (word y = 0; y < op->h_out; y++) {
                        long iy = (long)(y * op->stride_h + ky) - (long)op->pad_top;
                        if (iy < 0 || iy >= (long)op->h_in) continue;
                        const float *row = plane + iy * op->w_in;
                        const long shift = (long)kx - (long)op->pad_left;
                        float *target = o + y * op->w_out;
                        if (op->stride_w == 1) {
                            for (word x = x_first; x < x_last; x++) target[x] += scale * row[(long)x + shift];
                        } else {
                            for (word x = x_first; x < x_last; x++) target[x] += scale * row[(long)(x * op->stride_w) + shift];
                        }
                    }
                }
            }
        }
        if (op->flags & FLAG_RELU)
            for (word p = 0; p < plane_out; p++) o[p] = relu(o[p], op->flags);
    }
}

// The largest of a window's cells that lie inside the plane (padding is never the maximum, as in ONNX).
static float window_max(const operation *op, const float *plane, word y, word x) {
    float best = -3.4028235e38f;
    for (word ky = 0; ky < op->kernel_h; ky++) {
        long iy = (long)(y * op->stride_h + ky) - (long)op->pad_top;
        if (iy < 0 || iy >= (long)op->h_in) continue;
        for (word kx = 0; kx < op->kernel_w; kx++) {
            long ix = (long)(x * op->stride_w + kx) - (long)op->pad_left;
            if (ix < 0 || ix >= (long)op->w_in) continue;
            float value = plane[iy * op->w_in + ix];
            if (value > best) best = value;
        }
    }
    return best;
}

// Max pooling. Windows wholly inside the plane (all but the last row and column here) take the
// branch-free path; the others check each cell.
static void maxpool(const operation *op, const float *in, float *out) {
    word x_first, x_unused, x_end, y_first, y_end;
    columns(op->w_in, op->w_out, op->stride_w, 0, op->pad_left, &x_first, &x_unused);
    columns(op->w_in, op->w_out, op->stride_w, op->kernel_w - 1, op->pad_left, &x_unused, &x_end);
    columns(op->h_in, op->h_out, op->stride_h, 0, op->pad_top, &y_first, &x_unused);
    columns(op->h_in, op->h_out, op->stride_h, op->kernel_h - 1, op->pad_top, &x_unused, &y_end);
    for (word c = 0; c < op->c_in; c++) {
        const float *plane = in + c * op->h_in * op->w_in;
        float *o = out + c * op->h_out * op->w_out;
        for (word y = 0; y < op->h_out; y++) {
            float *target = o + y * op->w_out;
            const int inside_rows = y >= y_first && y < y_end;
            for (word x = 0; x < op->w_out; x++) {
                if (!inside_rows || x < x_first || x >= x_end) {
                    target[x] = window_max(op, plane, y, x);
                    continue;
                }
                const float *corner = plane + (y * op->stride_h - op->pad_top) * op->w_in + x * op->stride_w - op->pad_left;
                float best = corner[0];
                for (word ky = 0; ky < op->kernel_h; ky++)
                    for (word kx = 0; kx < op->kernel_w; kx++) {
                        float value = corner[ky * op->w_in + kx];
                        best = value > best ? value : best;
                    }
                target[x] = best;
            }
        }
    }
}

static void softmax(word count, const float *in, float *out) {
    float top = in[0];
    for (word i = 1; i < count; i++) if (in[i] > top) top = in[i];
    float sum = 0;
    for (word i = 0; i < count; i++) {
        out[i] = akw_exp(in[i] - top);
        sum += out[i];
    }
    for (word i = 0; i < count; i++) out[i] /= sum;
}

void akw_run(const void *program, float *arena) {
    const word *w = words(program);
    const operation *ops = operations(w);
    const float *weight = weights(w);
    for (word i = 0; i < operation_count(w); i++) {
        const operation *op = &ops[i];
        const float *a = arena + op->a;
        float *out = arena + op->out;
        const word count = op->c_out * op->h_out * op->w_out;
        switch (op->opcode) {
        case OP_CONV:
            conv(op, a, out, weight + op->weight, weight + op->bias);
            break;
        case OP_MAXPOOL:
            maxpool(op, a, out);
            break;
        case OP_ADD: {
            const float *b = arena + op->b;
            for (word p = 0; p < count; p++) out[p] = relu(a[p] + b[p], op->flags);
            break;
        }
        case OP_PAD_CHANNELS: {
            const word kept = op->c_in * op->h_in * op->w_in;
            for (word p = 0; p < kept; p++) out[p] = a[p];
            for (word p = kept; p < count; p++) out[p] = 0;
            break;
        }
        case OP_GLOBAL_AVERAGE_POOL: {
            const word plane = op->h_in * op->w_in;
            for (word c = 0; c < op->c_in; c++) {
                float sum = 0;
                for (word p = 0; p < plane; p++) sum += a[c * plane + p];
                out[c] = sum / (float)plane;
            }
            break;
        }
        case OP_SOFTMAX:
            softmax(count, a, out);
            break;
        case OP_RELU:
            for (word p = 0; p < count; p++) out[p] = a[p] < 0 ? 0 : a[p];
            break;
        case OP_NCHW_TO_NHWC: {
            const word plane = op->h_in * op->w_in;
            for (word c = 0; c < op->c_in; c++)
                for (word p = 0; p < plane; p++) out[p * op->c_in + c] = a[c * plane + p];
            break;
        }
        case OP_COPY: {
            const word part = op->c_in * op->h_in * op->w_in;
            for (word p = 0; p < part; p++) out[op->bias + p] = a[p];
            break;
        }
        default:
            break;  // akw_validate refuses unknown opcodes
        }
    }
}
