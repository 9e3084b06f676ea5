#include "InferenceKernel.h"

// Pixels to a network's input the way the server makes it (Sources/CVBridge, `cvb_image_crop_to_tensor`):
// a crop whose outside reads as black, resized by OpenCV 4.6's cv::resize on 8-bit pixels, converted
// by cvtColor's integer weights, then scaled. The arithmetic follows OpenCV's: fixed-point bilinear
// weights (11 bits) with the rounding of its vectorised vertical pass, float weights for area
// averaging, round half to even where OpenCV uses cvRound. The Swift suite compares the native build
// with OpenCV on real frames (ImageTensorParityTests).

// OpenCV compiled for x86-64 has no fused multiply-add in these loops; neither may this.
#pragma STDC FP_CONTRACT OFF

enum { COEF_BITS = 11, COEF_SCALE = 1 << COEF_BITS, MAX_SIDE = 1024, MAX_SOURCE = 1 << 15 };

static int floor_int(double value) {
    int truncated = (int)value;
    return value < truncated ? truncated - 1 : truncated;
}

// cvRound: nearest, ties to even.
static int round_even(double value) {
    int below = floor_int(value);
    double fraction = value - below;
    if (fraction > 0.5 || (fraction == 0.5 && (below & 1))) return below + 1;
    return below;
}

static unsigned char saturate_u8(int value) { return value < 0 ? 0 : value > 255 ? 255 : (unsigned char)value; }

// Channel `c` (0 red, 1 green, 2 blue) of crop pixel (cx, cy): black outside the image.
typedef struct {
    const unsigned char *rgba;
    int width, height, x, y;
} crop;

static int sample(const crop *source, int cx, int cy, int c) {
    int x = source->x + cx, y = source->y + cy;
    if (x < 0 || y < 0 || x >= source->width || y >= source->height) return 0;
    return source->rgba[((long)y * source->width + x) * 4 + c];
}

// Writes one resized pixel: cvtColor BGR2GRAY on 8 bits weighs with 15-bit integers and rounds
// (OpenCV 4.6's coefficients; the 14-bit ones of its documentation round 0.2% of pixels differently).
static void store(float *out, int grey, int out_w, int out_h, int dx, int dy, const int rgb[3], float scale, float offset) {
    if (grey) {
        int y = (rgb[2] * 3735 + rgb[1] * 19235 + rgb[0] * 9798 + (1 << 14)) >> 15;
        out[dy * out_w + dx] = y * scale + offset;
    } else {
        for (int c = 0; c < 3; c++) out[((long)c * out_h + dy) * out_w + dx] = rgb[c] * scale + offset;
    }
}

// cv::resize INTER_LINEAR on 8UC3: horizontal taps with weights rounded to 11 bits, clamped at the
// edges; vertical rows clamped (weights are not); the vertical pass as OpenCV's SIMD code does it
// for all but the last (row length mod 8) values of a row, which take its scalar rounding.
static void resize_linear(const crop *source, int w, int h, int out_w, int out_h, float *out, int grey, float scale,
                          float offset) {
    double scale_x = 1.0 / ((double)out_w / w), scale_y = 1.0 / ((double)out_h / h);
    int row_values = out_w * 3, vector_values = row_values - row_values % 8;
    for (int dy = 0; dy < out_h; dy++) {
        float fy = (float)((dy + 0.5) * scale_y - 0.5);
        int sy = floor_int(fy);
        fy -= sy;
        int beta0 = round_even((1.f - fy) * COEF_SCALE), beta1 = round_even(fy * COEF_SCALE);
        int row0 = sy < 0 ? 0 : sy >= h ? h - 1 : sy, row1 = sy + 1 < 0 ? 0 : sy + 1 >= h ? h - 1 : sy + 1;
        for (int dx = 0; dx < out_w; dx++) {
            float fx = (float)((dx + 0.5) * scale_x - 0.5);
            int sx = floor_int(fx);
            fx -= sx;
            if (sx < 0) fx = 0, sx = 0;
            if (sx >= w - 1) fx = 0, sx = w - 1;
            int alpha0 = round_even((1.f - fx) * COEF_SCALE), alpha1 = round_even(fx * COEF_SCALE);
            int next = sx + 1 < w ? sx + 1 : sx;
            int rgb[3];
            for (int c = 0; c < 3; c++) {
                int s0 = sample(source, sx, row0, c) * alpha0 + sample(source, next, row0, c) * alpha1;
                int s1 = sample(source, sx, row1, c) * alpha0 + sample(source, next, row1, c) * alpha1;
                // OpenCV's data are BGR: the value's place in its row decides which rounding it gets.
                int place = dx * 3 + (2 - c);
                int value = place < vector_values
                    ? ((((s0 >> 4) * beta0) >> 16) + (((s1 >> 4) * beta1) >> 16) + 2) >> 2
                    : (s0 * beta0 + s1 * beta1 + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS);
                rgb[c] = saturate_u8(value);
            }
            store(out, grey, out_w, out_h, dx, dy, rgb, scale, offset);
        }
    }
}

// One axis of cv::resize INTER_AREA when shrinking by a factor that is not whole: the source cells an
// output cell covers, with float weights that sum to one (OpenCV's computeResizeAreaTab).
typedef struct {
    int first, count;       // source indices first ..< first + count
    float weights[MAX_SIDE / 8 + 3];
} area_taps;

static int area_taps_for(int source_size, double scale, int d, area_taps *taps) {
    double fs1 = d * scale, fs2 = fs1 + scale;
    double cell = scale < source_size - fs1 ? scale : source_size - fs1;
    int s1 = -floor_int(-fs1), s2 = floor_int(fs2);
    if (s2 > source_size - 1) s2 = source_size - 1;
    if (s1 > s2) s1 = s2;
    int n = 0, capacity = (int)(sizeof taps->weights / sizeof taps->weights[0]);
    taps->first = s1 - fs1 > 1e-3 ? s1 - 1 : s1;
    if (s1 - fs1 > 1e-3) taps->weights[n++] = (float)((s1 - fs1) / cell);
    for (int s = s1; s < s2; s++) {
        if (n >= capacity) return -1;
        taps->weights[n++] = (float)(1.0 / cell);
    }
    if (fs2 - s2 > 1e-3) {
        if (n >= capacity) return -1;
        double part = fs2 - s2 < 1.0 ? fs2 - s2 : 1.0;
        taps->weights[n++] = (float)((part < cell ? part : cell) / cell);
    }
    taps->count = n;
    return 0;
}

// cv::resize INTER_AREA shrinking by at least 1 on both axes.
static int resize_area(const crop *source, int w, int h, int out_w, int out_h, float *out, int grey, float scale,
                       float offset) {
    double scale_x = 1.0 / ((double)out_w / w), scale_y = 1.0 / ((double)out_h / h);
    int whole_x = round_even(scale_x), whole_y = round_even(scale_y);
    int whole = scale_x - whole_x < 2.220446049250313e-16 && whole_x - scale_x < 2.220446049250313e-16 &&
                scale_y - whole_y < 2.220446049250313e-16 && whole_y - scale_y < 2.220446049250313e-16;
    if (whole) {
        // Whole factors: the mean of each block, exactly (factor 2 rounds up at halves, as OpenCV's
        // vectorised path does; others multiply by the float reciprocal and round to even).
        int area = whole_x * whole_y;
        float reciprocal = 1.f / area;
        for (int dy = 0; dy < out_h; dy++) {
            for (int dx = 0; dx < out_w; dx++) {
                int rgb[3];
                for (int c = 0; c < 3; c++) {
                    int sum = 0;
                    for (int j = 0; j < whole_y; j++)
                        for (int i = 0; i < whole_x; i++) sum += sample(source, dx * whole_x + i, dy * whole_y + j, c);
                    rgb[c] = area == 4 ? (sum + 2) >> 2 : saturate_u8(round_even((float)sum * reciprocal));
                }
                store(out, grey, out_w, out_h, dx, dy, rgb, scale, offset);
            }
        }
        return 0;
    }
    if (scale_x > MAX_SIDE / 8 || scale_y > MAX_SIDE / 8) return -1;
    area_taps rows, columns;
    for (int dy = 0; dy < out_h; dy++) {
        if (area_taps_for(h, scale_y, dy, &rows) != 0) return -1;
        for (int dx = 0; dx < out_w; dx++) {
            if (area_taps_for(w, scale_x, dx, &columns) != 0) return -1;
            int rgb[3];
            for (int c = 0; c < 3; c++) {
                float sum = 0;
                for (int j = 0; j < rows.count; j++) {
                    float across = 0;
                    for (int i = 0; i < columns.count; i++)
                        across = across + sample(source, columns.first + i, rows.first + j, c) * columns.weights[i];
                    sum = j == 0 ? rows.weights[j] * across : sum + rows.weights[j] * across;
                }
                rgb[c] = saturate_u8(round_even(sum));
            }
            store(out, grey, out_w, out_h, dx, dy, rgb, scale, offset);
        }
    }
    return 0;
}

int akw_rgba_to_tensor(const unsigned char *rgba, int width, int height, int x, int y, int w, int h, int out_w,
                       int out_h, int colour, int resample, float scale, float offset, float *out) {
    if (rgba == 0 || out == 0 || width <= 0 || height <= 0 || width > MAX_SOURCE || height > MAX_SOURCE) return -1;
    if (w <= 0 || h <= 0 || w > MAX_SOURCE || h > MAX_SOURCE || out_w <= 0 || out_h <= 0 || out_w > MAX_SIDE ||
        out_h > MAX_SIDE) return -1;
    if (x < -MAX_SOURCE || y < -MAX_SOURCE || x > MAX_SOURCE || y > MAX_SOURCE) return -1;
    if (colour != AKW_TENSOR_RGB && colour != AKW_TENSOR_GREY) return -1;
    crop source = {rgba, width, height, x, y};
    int grey = colour == AKW_TENSOR_GREY;
    if (w == out_w && h == out_h) {
        for (int dy = 0; dy < out_h; dy++)
            for (int dx = 0; dx < out_w; dx++) {
                int rgb[3] = {sample(&source, dx, dy, 0), sample(&source, dx, dy, 1), sample(&source, dx, dy, 2)};
                store(out, grey, out_w, out_h, dx, dy, rgb, scale, offset);
            }
        return 0;
    }
    double scale_x = (double)w / out_w, scale_y = (double)h / out_h;
    int exactly_half = w == 2 * out_w && h == 2 * out_h;
    // OpenCV treats halving as area averaging whichever filter was asked for; area averaging
    // enlarging falls back to bilinear (never asked for here).
    if ((resample == AKW_RESAMPLE_AREA && scale_x >= 1 && scale_y >= 1) || exactly_half)
        return resize_area(&source, w, h, out_w, out_h, out, grey, scale, offset);
    resize_linear(&source, w, h, out_w, out_h, out, grey, scale, offset);
    return 0;
}
