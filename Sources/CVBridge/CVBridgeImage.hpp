// The bridge's image type, shared by its C++ files; never seen by Swift, which holds an opaque pointer.
#ifndef AFFECT_CVBRIDGE_IMAGE_HPP
#define AFFECT_CVBRIDGE_IMAGE_HPP

#include "OpenCVModules.hpp"

#include <opencv2/core.hpp>

struct cvb_image {
    cv::Mat mat;
};

/// Zeroes a matrix's pixels (when no other matrix shares them) and releases it.
void cvb_wipe(cv::Mat &mat);
/// Wraps a decoded matrix; NULL when it is empty.
cvb_image *cvb_adopt(cv::Mat &&mat);

#endif
