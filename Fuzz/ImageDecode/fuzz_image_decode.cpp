// libFuzzer harness for the bridge's image decoding (clang++ -fsanitize=fuzzer,address): JPEGs through
// libjpeg with the pixel limit and warnings (full size and the reduced sizes), and any other format
// through OpenCV's decoder. OpenCV's own pixel cap (OPENCV_IO_MAX_IMAGE_PIXELS, set by scripts/fuzz)
// stands in for the header check Affect's Swift code makes before that call.
#include "CVBridge.h"

#include <cstdint>
#include <cstdlib>

namespace {
constexpr int64_t maximum_pixels = 4000000;
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    cvb_silence_logging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    // The first byte picks the reduction, so every decoding path is reached from one corpus.
    const int reductions[4] = {1, 2, 4, 8};
    const int reduction = reductions[data[0] & 3];
    const uint8_t *bytes = data + 1;
    const size_t length = size - 1;
    cvb_jpeg_report report;
    if (cvb_image *image = cvb_jpeg_decode(bytes, length, reduction, maximum_pixels, &report)) {
        const int64_t pixels = static_cast<int64_t>(cvb_image_width(image)) * cvb_image_height(image);
        if (pixels > maximum_pixels) abort();  // the limit must hold whatever the header says
        cvb_image_free(image);
    } else if (report.over_pixel_limit && static_cast<int64_t>(report.width) * report.height <= maximum_pixels) {
        abort();  // refused for size, but not over the limit
    }
    if (cvb_image *image = cvb_image_decode(bytes, length)) cvb_image_free(image);
    return 0;
}
