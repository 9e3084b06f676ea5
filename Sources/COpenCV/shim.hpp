// Only here so SwiftPM reads OpenCV's pkg-config flags for the targets that depend on this module.
#include <opencv2/core.hpp>
