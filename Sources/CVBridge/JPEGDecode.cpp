// JPEG decoding with libjpeg directly, for the two things cv::imdecode hides: the declared size before
// any pixel memory is allocated, and libjpeg's warnings (a truncated or corrupt file decodes "fine",
// grey where data was missing, and the warning goes to stderr).
#include "CVBridge.h"
#include "CVBridgeImage.hpp"

#include <opencv2/imgcodecs.hpp>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>

namespace {

struct jpeg_failure {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    cvb_jpeg_report *report;
};

void copy_message(j_common_ptr info, cvb_jpeg_report *report) {
    char buffer[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, buffer);
    std::snprintf(report->message, sizeof report->message, "%s", buffer);
}

[[noreturn]] void on_error(j_common_ptr info) {
    auto *failure = reinterpret_cast<jpeg_failure *>(info->err);
    copy_message(info, failure->report);
    std::longjmp(failure->jump, 1);
}

// Level -1 is a warning (recoverable corrupt data); higher levels are trace messages.
void on_message(j_common_ptr info, int level) {
    if (level >= 0) return;
    auto *failure = reinterpret_cast<jpeg_failure *>(info->err);
    if (failure->report->warnings++ == 0) copy_message(info, failure->report);
}

cvb_image *decode_with_opencv(const uint8_t *bytes, size_t length, int reduction) {
    int flag = reduction == 2 ? cv::IMREAD_REDUCED_COLOR_2
             : reduction == 4 ? cv::IMREAD_REDUCED_COLOR_4
             : reduction == 8 ? cv::IMREAD_REDUCED_COLOR_8 : cv::IMREAD_COLOR;
    try {
        cv::Mat encoded(1, static_cast<int>(length), CV_8UC1, const_cast<uint8_t *>(bytes));
        return cvb_adopt(cv::imdecode(encoded, flag));
    } catch (...) {
        return nullptr;
    }
}

}  // namespace

extern "C" cvb_image *cvb_jpeg_decode(const uint8_t *bytes, size_t length, int reduction, int64_t max_pixels,
                                      cvb_jpeg_report *report) {
    if (report == nullptr) return nullptr;
    std::memset(report, 0, sizeof *report);
    if (bytes == nullptr || length == 0 || length > 0x7fffffff) return nullptr;
    jpeg_decompress_struct info;
    jpeg_failure failure;
    failure.report = report;
    info.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = on_error;
    failure.base.emit_message = on_message;
    // Both are written before any jump and read after it, so they live in volatile storage.
    cvb_image *volatile image = nullptr;
    volatile bool created = false;
    if (setjmp(failure.jump)) {
        if (created) jpeg_destroy_decompress(&info);
        if (image != nullptr) cvb_image_free(image);
        return nullptr;
    }
    jpeg_create_decompress(&info);
    created = true;
    jpeg_mem_src(&info, bytes, static_cast<unsigned long>(length));
    jpeg_read_header(&info, TRUE);
    report->width = static_cast<int>(info.image_width);
    report->height = static_cast<int>(info.image_height);
    if (max_pixels > 0 && static_cast<int64_t>(info.image_width) * info.image_height > max_pixels) {
        report->over_pixel_limit = 1;
        jpeg_destroy_decompress(&info);
        return nullptr;
    }
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        return decode_with_opencv(bytes, length, reduction);
    }
    // As cv::imdecode does with libjpeg-turbo: BGR out, the library's default (accurate integer) DCT.
    info.out_color_space = JCS_EXT_BGR;
    if (reduction == 2 || reduction == 4 || reduction == 8) {
        info.scale_num = 1;
        info.scale_denom = static_cast<unsigned int>(reduction);
    }
    jpeg_start_decompress(&info);
    if (info.output_components != 3) {
        std::snprintf(report->message, sizeof report->message, "unexpected JPEG colour layout");
        jpeg_destroy_decompress(&info);
        return nullptr;
    }
    image = new cvb_image;
    image->mat.create(static_cast<int>(info.output_height), static_cast<int>(info.output_width), CV_8UC3);
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = image->mat.ptr<JSAMPLE>(static_cast<int>(info.output_scanline));
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return image;
}
