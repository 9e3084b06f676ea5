// A deliberately dumb C interface over the parts of OpenCV that Affect uses.
// No policy lives here: sampling, detection decoding, thresholds and clocks are
// Swift's. Every function reports failure through its return value and, where
// an error buffer is given, a one-line message; none throws across the boundary.
#ifndef AFFECT_CVBRIDGE_H
#define AFFECT_CVBRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An 8-bit BGR image owned by the bridge. Its pixels are zeroed when it is freed.
typedef struct cvb_image cvb_image;
/// An open video source (file, URL or device).
typedef struct cvb_video cvb_video;
/// A loaded ONNX network.
typedef struct cvb_net cvb_net;

/// Stops OpenCV printing its own log lines; failures reach callers through return values.
void cvb_silence_logging(void);
/// Sets OpenCV's worker thread count (0 or less leaves OpenCV's default).
void cvb_set_num_threads(int threads);
/// OpenCV's version string, e.g. "4.6.0".
const char *cvb_opencv_version(void);

// MARK: Images

/// Decodes a PNG, BMP, WebP, TIFF or PNM (PPM/PGM/PBM) image, or a JPEG, from memory into BGR with
/// OpenCV. NULL when undecodable, and for any other signature: Debian's OpenCV also holds decoders
/// Affect never uses (DICOM through GDCM, whose assertions abort the process on crafted input; JPEG
/// 2000, OpenEXR, Radiance...), and OpenCV picks a decoder by signature, so only these reach it.
cvb_image *cvb_image_decode(const uint8_t *bytes, size_t length);
/// What decoding a JPEG with libjpeg found besides its pixels.
typedef struct {
    /// The size the header declares (before any reduction), or 0 when no header was read.
    int width;
    int height;
    /// 1 when the image was not decoded because width * height exceeds the caller's limit.
    int over_pixel_limit;
    /// libjpeg's warnings: data it could not read and made up (a file cut short, corrupt entropy data).
    int warnings;
    /// The first warning, or why decoding failed; one line.
    char message[200];
} cvb_jpeg_report;

/// Decodes a JPEG into BGR with libjpeg itself, so that its warnings are counted, not printed: reads the
/// header first and allocates nothing for pixels when width * height exceeds `max_pixels` (0: no limit).
/// `reduction` 2, 4 or 8 decodes at that fraction of the size; any other value at full size. CMYK JPEGs are
/// decoded by OpenCV after the same size check (their warnings are not counted). NULL when undecodable.
cvb_image *cvb_jpeg_decode(const uint8_t *bytes, size_t length, int reduction, int64_t max_pixels, cvb_jpeg_report *report);
/// Converts one planar I420 (YUV 4:2:0) frame into a BGR image.
cvb_image *cvb_image_from_i420(const uint8_t *bytes, size_t length, int width, int height);
/// Wraps a copy of tightly packed BGR pixels.
cvb_image *cvb_image_from_bgr(const uint8_t *bytes, int width, int height);
int cvb_image_width(const cvb_image *image);
int cvb_image_height(const cvb_image *image);
/// Copies the BGR pixels (width * height * 3 bytes) into `out`. Returns 0 on success.
int cvb_image_copy_bgr(const cvb_image *image, uint8_t *out, size_t capacity);
/// Encodes the image as JPEG (quality 1-100) into `out`; returns the byte count, or -1 when
/// encoding fails, or the negated size needed when `capacity` is too small.
long cvb_image_encode_jpeg(const cvb_image *image, int quality, uint8_t *out, size_t capacity);
/// A copy of the image resized to width x height (area averaging when shrinking). NULL on failure.
cvb_image *cvb_image_resize(const cvb_image *image, int width, int height);
/// Zeroes the pixels and releases the image. NULL is ignored.
void cvb_image_free(cvb_image *image);

/// Colour layout of a tensor written by the sampling functions below.
typedef enum {
    CVB_TENSOR_GREY = 0,
    CVB_TENSOR_RGB = 1,
    CVB_TENSOR_BGR = 2,
} cvb_tensor_colour;

/// Resampling filter.
typedef enum {
    CVB_INTERP_LINEAR = 0,
    CVB_INTERP_AREA = 1,
} cvb_interpolation;

/// Crops the rectangle (x, y, w, h) of `image` (parts outside the image read as
/// zero), resizes it to out_w x out_h and writes a planar float tensor
/// (channels x out_h x out_w) with value = pixel * scale + offset, optionally
/// mirrored left to right. Returns 0 on success.
int cvb_image_crop_to_tensor(const cvb_image *image, int x, int y, int w, int h, int out_w, int out_h,
                             cvb_tensor_colour colour, cvb_interpolation interpolation, int mirror,
                             float scale, float offset, float *out, size_t capacity);

/// Samples `image` through the 2x3 affine matrix that maps output pixels to
/// source pixels (row-major), so a rotated, scaled crop is one call; outside
/// pixels read as zero. Same tensor layout as cvb_image_crop_to_tensor.
int cvb_image_warp_to_tensor(const cvb_image *image, const double *output_to_source, int out_w, int out_h,
                             cvb_tensor_colour colour, int mirror, float scale, float offset,
                             float *out, size_t capacity);

// MARK: Geometry

/// Fits the rotation and translation that place `count` model points (x, y, z triples) on their image
/// points (x, y pairs) through a pinhole camera with focal length `focal` pixels and principal point
/// (cx, cy), no lens distortion (cv::solvePnP, iterative), starting from no rotation at
/// `initial_translation` (x, y, z). Writes the 3x3 rotation matrix (row-major, model to camera) to
/// `rotation` and the translation to `translation`. Returns 0 on success.
int cvb_solve_pnp(const double *model_points, const double *image_points, int count, double focal, double cx,
                  double cy, const double *initial_translation, double *rotation, double *translation);

// MARK: Video

/// Opens a file, URL (through FFmpeg) or, when `device_index` >= 0, a V4L2
/// device. Timeouts are in milliseconds (0 keeps the backend's default).
cvb_video *cvb_video_open(const char *source, int device_index, int open_timeout_ms, int read_timeout_ms,
                          char *error, size_t error_capacity);
/// Nominal frames per second as the container states it (0 when unknown).
double cvb_video_fps(const cvb_video *video);
/// Frame count as the container states it (<= 0 when unknown, e.g. for streams).
int64_t cvb_video_frame_count(const cvb_video *video);
int cvb_video_width(const cvb_video *video);
int cvb_video_height(const cvb_video *video);
/// Advances one frame without converting it. 1: a frame, 0: end or failure.
int cvb_video_grab(cvb_video *video);
/// Converts the last grabbed frame to a BGR image. NULL on failure.
cvb_image *cvb_video_retrieve(cvb_video *video);
/// Releases the source. NULL is ignored.
void cvb_video_close(cvb_video *video);

// MARK: Networks

/// Loads an ONNX file into cv::dnn on the CPU backend.
cvb_net *cvb_net_load(const char *onnx_path, char *error, size_t error_capacity);
/// Number of network outputs (unconnected layers), fixed at load.
int cvb_net_output_count(const cvb_net *net);
/// Name of output `index`, valid while the net lives.
const char *cvb_net_output_name(const cvb_net *net, int index);
/// Runs the net on one NCHW float input. Output i is copied into outputs[i]
/// (capacity output_capacities[i] floats); its element count goes to
/// output_lengths[i] and its shape (up to 4 dims, unused ones 0) to
/// output_shapes[4 * i ...]. Returns 0 on success.
int cvb_net_forward(cvb_net *net, const float *input, int n, int c, int h, int w, float *const *outputs,
                    const size_t *output_capacities, size_t *output_lengths, int *output_shapes,
                    char *error, size_t error_capacity);
void cvb_net_free(cvb_net *net);

#ifdef __cplusplus
}
#endif

#endif
