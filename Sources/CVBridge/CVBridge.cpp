#include "CVBridge.h"
#include "CVBridgeImage.hpp"

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <cstdarg>
#include <dlfcn.h>
#include <exception>
#include <string>
#include <vector>

struct cvb_video {
    cv::VideoCapture capture;
    cv::Mat frame;
};

struct cvb_net {
    cv::dnn::Net net;
    std::vector<std::string> output_names;
};

namespace {

void write_error(char *error, size_t capacity, const std::string &message) {
    if (error == nullptr || capacity == 0) return;
    size_t count = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), count);
    error[count] = '\0';
}

std::string first_line(const char *what) {
    std::string text(what == nullptr ? "unknown OpenCV error" : what);
    size_t end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

// Writes `patch` (8-bit BGR, already at output size) as planar floats.
int write_tensor(cv::Mat &patch, cvb_tensor_colour colour, int mirror, float scale, float offset, float *out,
                 size_t capacity) {
    cv::Mat converted;
    int channels = colour == CVB_TENSOR_GREY ? 1 : 3;
    if (colour == CVB_TENSOR_GREY) cv::cvtColor(patch, converted, cv::COLOR_BGR2GRAY);
    else if (colour == CVB_TENSOR_RGB) cv::cvtColor(patch, converted, cv::COLOR_BGR2RGB);
    else converted = patch.clone();
    if (mirror) cv::flip(converted, converted, 1);
    const int h = converted.rows, w = converted.cols;
    if (capacity < static_cast<size_t>(channels) * h * w) {
        cvb_wipe(converted);
        return -1;
    }
    for (int y = 0; y < h; ++y) {
        const uint8_t *row = converted.ptr<uint8_t>(y);
        for (int x = 0; x < w; ++x) {
            for (int c = 0; c < channels; ++c) {
                out[(static_cast<size_t>(c) * h + y) * w + x] = row[x * channels + c] * scale + offset;
            }
        }
    }
    cvb_wipe(converted);
    return 0;
}

// Whether OpenCV's decoder for these bytes is one Affect uses. OpenCV tries its decoders in turn and
// takes the first whose signature matches; DICOM's (GDCM) looks at offset 128, so a buffer carrying its
// "DICM" there is refused even when its first bytes look like another format.
bool has_decodable_signature(const uint8_t *bytes, size_t length) {
    auto starts = [&](std::initializer_list<uint8_t> prefix) {
        return length >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes);
    };
    if (length >= 132 && std::memcmp(bytes + 128, "DICM", 4) == 0) return false;
    if (starts({0xFF, 0xD8, 0xFF})) return true;                                       // JPEG
    if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return true;            // PNG
    if (starts({'B', 'M'})) return true;                                               // BMP
    if (starts({'I', 'I', 0x2A, 0x00}) || starts({'M', 'M', 0x00, 0x2A})) return true; // TIFF
    if (length >= 12 && starts({'R', 'I', 'F', 'F'}) && std::memcmp(bytes + 8, "WEBP", 4) == 0) return true;
    // PNM: P1 to P6, then white space (what OpenCV's own check asks for).
    return length >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6' && std::isspace(bytes[2]);
}

}  // namespace

// Pixels are personal data: overwrite them before the memory goes back to the allocator.
void cvb_wipe(cv::Mat &mat) {
    if (!mat.empty() && mat.u != nullptr && mat.u->refcount == 1) mat.setTo(cv::Scalar::all(0));
    mat.release();
}

cvb_image *cvb_adopt(cv::Mat &&mat) {
    if (mat.empty()) return nullptr;
    auto *image = new cvb_image;
    image->mat = std::move(mat);
    return image;
}

extern "C" {

void cvb_silence_logging(void) {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    // OpenCV resets FFmpeg's log level on every open, but leaves its log callback alone:
    // route FFmpeg's messages to a callback that drops them (libavutil is already loaded by videoio).
    using callback_fn = void (*)(void *, int, const char *, va_list);
    using set_callback_fn = void (*)(callback_fn);
    if (auto set_callback = reinterpret_cast<set_callback_fn>(dlsym(RTLD_DEFAULT, "av_log_set_callback"))) {
        set_callback([](void *, int, const char *, va_list) {});
    }
}

void cvb_set_num_threads(int threads) {
    if (threads > 0) cv::setNumThreads(threads);
}

const char *cvb_opencv_version(void) { return CV_VERSION; }

cvb_image *cvb_image_decode(const uint8_t *bytes, size_t length) {
    if (bytes == nullptr || length == 0 || !has_decodable_signature(bytes, length)) return nullptr;
    try {
        cv::Mat encoded(1, static_cast<int>(length), CV_8UC1, const_cast<uint8_t *>(bytes));
        return cvb_adopt(cv::imdecode(encoded, cv::IMREAD_COLOR));
    } catch (const std::exception &) {
        return nullptr;
    }
}

cvb_image *cvb_image_from_i420(const uint8_t *bytes, size_t length, int width, int height) {
    if (bytes == nullptr || width <= 0 || height <= 0 || width % 2 || height % 2) return nullptr;
    if (length < static_cast<size_t>(width) * height * 3 / 2) return nullptr;
    try {
        cv::Mat yuv(height * 3 / 2, width, CV_8UC1, const_cast<uint8_t *>(bytes));
        cv::Mat bgr;
        cv::cvtColor(yuv, bgr, cv::COLOR_YUV2BGR_I420);
        return cvb_adopt(std::move(bgr));
    } catch (const std::exception &) {
        return nullptr;
    }
}

cvb_image *cvb_image_from_bgr(const uint8_t *bytes, int width, int height) {
    if (bytes == nullptr || width <= 0 || height <= 0) return nullptr;
    cv::Mat view(height, width, CV_8UC3, const_cast<uint8_t *>(bytes));
    return cvb_adopt(view.clone());
}

int cvb_image_width(const cvb_image *image) { return image == nullptr ? 0 : image->mat.cols; }
int cvb_image_height(const cvb_image *image) { return image == nullptr ? 0 : image->mat.rows; }

int cvb_image_copy_bgr(const cvb_image *image, uint8_t *out, size_t capacity) {
    if (image == nullptr || out == nullptr) return -1;
    const cv::Mat &mat = image->mat;
    size_t row = static_cast<size_t>(mat.cols) * 3;
    if (capacity < row * mat.rows) return -1;
    for (int y = 0; y < mat.rows; ++y) std::memcpy(out + row * y, mat.ptr<uint8_t>(y), row);
    return 0;
}

long cvb_image_encode_jpeg(const cvb_image *image, int quality, uint8_t *out, size_t capacity) {
    if (image == nullptr || image->mat.empty()) return -1;
    try {
        std::vector<uint8_t> encoded;
        if (!cv::imencode(".jpg", image->mat, encoded, {cv::IMWRITE_JPEG_QUALITY, quality})) return -1;
        long size = static_cast<long>(encoded.size());
        if (encoded.size() > capacity || out == nullptr) {
            std::fill(encoded.begin(), encoded.end(), 0);
            return -size;
        }
        std::memcpy(out, encoded.data(), encoded.size());
        std::fill(encoded.begin(), encoded.end(), 0);
        return size;
    } catch (const std::exception &) {
        return -1;
    }
}

cvb_image *cvb_image_resize(const cvb_image *image, int width, int height) {
    if (image == nullptr || image->mat.empty() || width <= 0 || height <= 0) return nullptr;
    try {
        cv::Mat resized;
        bool shrinking = width < image->mat.cols && height < image->mat.rows;
        cv::resize(image->mat, resized, cv::Size(width, height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        return cvb_adopt(std::move(resized));
    } catch (const std::exception &) {
        return nullptr;
    }
}

void cvb_image_free(cvb_image *image) {
    if (image == nullptr) return;
    cvb_wipe(image->mat);
    delete image;
}

int cvb_image_crop_to_tensor(const cvb_image *image, int x, int y, int w, int h, int out_w, int out_h,
                             cvb_tensor_colour colour, cvb_interpolation interpolation, int mirror, float scale,
                             float offset, float *out, size_t capacity) {
    if (image == nullptr || image->mat.empty() || w <= 0 || h <= 0 || out_w <= 0 || out_h <= 0) return -1;
    try {
        const cv::Mat &source = image->mat;
        cv::Rect wanted(x, y, w, h);
        cv::Rect inside = wanted & cv::Rect(0, 0, source.cols, source.rows);
        cv::Mat crop;
        if (inside == wanted) {
            crop = source(wanted);
        } else {
            crop = cv::Mat::zeros(h, w, CV_8UC3);
            if (inside.area() > 0) source(inside).copyTo(crop(cv::Rect(inside.x - x, inside.y - y, inside.width,
                                                                       inside.height)));
        }
        cv::Mat resized;
        if (crop.cols == out_w && crop.rows == out_h) {
            resized = crop.clone();
        } else {
            cv::resize(crop, resized, cv::Size(out_w, out_h), 0, 0,
                       interpolation == CVB_INTERP_AREA ? cv::INTER_AREA : cv::INTER_LINEAR);
        }
        if (inside != wanted) cvb_wipe(crop);
        int result = write_tensor(resized, colour, mirror, scale, offset, out, capacity);
        cvb_wipe(resized);
        return result;
    } catch (const std::exception &) {
        return -1;
    }
}

int cvb_image_warp_to_tensor(const cvb_image *image, const double *output_to_source, int out_w, int out_h,
                             cvb_tensor_colour colour, int mirror, float scale, float offset, float *out,
                             size_t capacity) {
    if (image == nullptr || image->mat.empty() || output_to_source == nullptr || out_w <= 0 || out_h <= 0) return -1;
    try {
        cv::Mat matrix(2, 3, CV_64F, const_cast<double *>(output_to_source));
        cv::Mat warped;
        cv::warpAffine(image->mat, warped, matrix, cv::Size(out_w, out_h), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                       cv::BORDER_CONSTANT, cv::Scalar::all(0));
        int result = write_tensor(warped, colour, mirror, scale, offset, out, capacity);
        cvb_wipe(warped);
        return result;
    } catch (const std::exception &) {
        return -1;
    }
}

int cvb_solve_pnp(const double *model_points, const double *image_points, int count, double focal, double cx,
                  double cy, const double *initial_translation, double *rotation, double *translation) {
    if (model_points == nullptr || image_points == nullptr || initial_translation == nullptr || rotation == nullptr ||
        translation == nullptr || count < 4 || !(focal > 0)) return -1;
    try {
        std::vector<cv::Point3d> object;
        std::vector<cv::Point2d> projected;
        for (int i = 0; i < count; ++i) {
            object.emplace_back(model_points[3 * i], model_points[3 * i + 1], model_points[3 * i + 2]);
            projected.emplace_back(image_points[2 * i], image_points[2 * i + 1]);
        }
        cv::Matx33d camera(focal, 0, cx, 0, focal, cy, 0, 0, 1);
        cv::Mat rvec = cv::Mat::zeros(3, 1, CV_64F);
        cv::Mat tvec = (cv::Mat_<double>(3, 1) << initial_translation[0], initial_translation[1], initial_translation[2]);
        if (!cv::solvePnP(object, projected, camera, cv::noArray(), rvec, tvec, true, cv::SOLVEPNP_ITERATIVE)) return -1;
        cv::Mat matrix;
        cv::Rodrigues(rvec, matrix);
        for (int r = 0; r < 3; ++r) {
            for (int c = 0; c < 3; ++c) rotation[3 * r + c] = matrix.at<double>(r, c);
            translation[r] = tvec.at<double>(r);
        }
        return 0;
    } catch (const std::exception &) {
        return -1;
    }
}

cvb_video *cvb_video_open(const char *source, int device_index, int open_timeout_ms, int read_timeout_ms,
                          char *error, size_t error_capacity) {
    try {
        auto *video = new cvb_video;
        std::vector<int> params;
        if (open_timeout_ms > 0) params.insert(params.end(), {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, open_timeout_ms});
        if (read_timeout_ms > 0) params.insert(params.end(), {cv::CAP_PROP_READ_TIMEOUT_MSEC, read_timeout_ms});
        bool opened = device_index >= 0 ? video->capture.open(device_index, cv::CAP_V4L2)
                                        : video->capture.open(std::string(source == nullptr ? "" : source),
                                                              cv::CAP_FFMPEG, params);
        if (!opened || !video->capture.isOpened()) {
            write_error(error, error_capacity, "cannot open");
            delete video;
            return nullptr;
        }
        return video;
    } catch (const cv::Exception &e) {
        write_error(error, error_capacity, first_line(e.err.c_str()));
    } catch (const std::exception &e) {
        write_error(error, error_capacity, first_line(e.what()));
    }
    return nullptr;
}

double cvb_video_fps(const cvb_video *video) {
    return video == nullptr ? 0 : video->capture.get(cv::CAP_PROP_FPS);
}

int64_t cvb_video_frame_count(const cvb_video *video) {
    return video == nullptr ? 0 : static_cast<int64_t>(video->capture.get(cv::CAP_PROP_FRAME_COUNT));
}

int cvb_video_width(const cvb_video *video) {
    return video == nullptr ? 0 : static_cast<int>(video->capture.get(cv::CAP_PROP_FRAME_WIDTH));
}

int cvb_video_height(const cvb_video *video) {
    return video == nullptr ? 0 : static_cast<int>(video->capture.get(cv::CAP_PROP_FRAME_HEIGHT));
}

int cvb_video_grab(cvb_video *video) {
    if (video == nullptr) return 0;
    try {
        return video->capture.grab() ? 1 : 0;
    } catch (const std::exception &) {
        return 0;
    }
}

cvb_image *cvb_video_retrieve(cvb_video *video) {
    if (video == nullptr) return nullptr;
    try {
        cv::Mat frame;
        if (!video->capture.retrieve(frame) || frame.empty()) return nullptr;
        // retrieve() may hand back the backend's own buffer; the image must own its pixels.
        return cvb_adopt(frame.clone());
    } catch (const std::exception &) {
        return nullptr;
    }
}

void cvb_video_close(cvb_video *video) {
    if (video == nullptr) return;
    try {
        video->capture.release();
    } catch (const std::exception &) {
    }
    cvb_wipe(video->frame);
    delete video;
}

cvb_net *cvb_net_load(const char *onnx_path, char *error, size_t error_capacity) {
    try {
        auto *net = new cvb_net;
        net->net = cv::dnn::readNetFromONNX(std::string(onnx_path == nullptr ? "" : onnx_path));
        if (net->net.empty()) {
            write_error(error, error_capacity, "the ONNX file holds no network");
            delete net;
            return nullptr;
        }
        net->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        net->output_names = net->net.getUnconnectedOutLayersNames();
        return net;
    } catch (const cv::Exception &e) {
        write_error(error, error_capacity, first_line(e.err.c_str()));
    } catch (const std::exception &e) {
        write_error(error, error_capacity, first_line(e.what()));
    }
    return nullptr;
}

int cvb_net_output_count(const cvb_net *net) {
    return net == nullptr ? 0 : static_cast<int>(net->output_names.size());
}

const char *cvb_net_output_name(const cvb_net *net, int index) {
    if (net == nullptr || index < 0 || index >= static_cast<int>(net->output_names.size())) return "";
    return net->output_names[index].c_str();
}

int cvb_net_forward(cvb_net *net, const float *input, int n, int c, int h, int w, float *const *outputs,
                    const size_t *output_capacities, size_t *output_lengths, int *output_shapes, char *error,
                    size_t error_capacity) {
    if (net == nullptr || input == nullptr) return -1;
    try {
        int dims[4] = {n, c, h, w};
        cv::Mat blob(4, dims, CV_32F, const_cast<float *>(input));
        net->net.setInput(blob);
        std::vector<cv::Mat> results;
        net->net.forward(results, net->output_names);
        // Report every output's size first, so the caller can grow all its buffers at once.
        bool fits = true;
        for (size_t i = 0; i < results.size(); ++i) {
            if (!results[i].isContinuous()) results[i] = results[i].clone();
            output_lengths[i] = results[i].total();
            for (int d = 0; d < 4; ++d) output_shapes[4 * i + d] = d < results[i].dims ? results[i].size[d] : 0;
            if (output_lengths[i] > output_capacities[i]) fits = false;
        }
        if (!fits) {
            write_error(error, error_capacity, "output larger than its buffer");
            return -2;
        }
        for (size_t i = 0; i < results.size(); ++i) {
            std::memcpy(outputs[i], results[i].ptr<float>(), output_lengths[i] * sizeof(float));
        }
        return 0;
    } catch (const cv::Exception &e) {
        write_error(error, error_capacity, first_line(e.err.c_str()));
    } catch (const std::exception &e) {
        write_error(error, error_capacity, first_line(e.what()));
    }
    return -1;
}

void cvb_net_free(cvb_net *net) { delete net; }

}  // extern "C"
