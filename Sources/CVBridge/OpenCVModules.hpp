// The OpenCV modules the bridge uses, each from its own Debian package (not libopencv-dev, which pulls
// every module); Package.swift links the same list (opencv-modules). Included first by the bridge's C++
// files, so a missing module fails the build here, naming the package that holds it.
#ifndef AFFECT_CVBRIDGE_OPENCV_MODULES_HPP
#define AFFECT_CVBRIDGE_OPENCV_MODULES_HPP

#if !__has_include(<opencv2/core.hpp>)
#error "OpenCV's headers are missing: install libopencv-core-dev (scripts/bootstrap installs the modules Affect uses)"
#endif
#if !__has_include(<opencv2/imgproc.hpp>)
#error "OpenCV's imgproc module is missing: install libopencv-imgproc-dev"
#endif
#if !__has_include(<opencv2/imgcodecs.hpp>)
#error "OpenCV's imgcodecs module is missing: install libopencv-imgcodecs-dev"
#endif
#if !__has_include(<opencv2/videoio.hpp>)
#error "OpenCV's videoio module is missing: install libopencv-videoio-dev"
#endif
#if !__has_include(<opencv2/dnn.hpp>)
#error "OpenCV's dnn module is missing: install libopencv-dnn-dev"
#endif
#if !__has_include(<opencv2/calib3d.hpp>)
#error "OpenCV's calib3d module is missing: install libopencv-calib3d-dev"
#endif

#endif
