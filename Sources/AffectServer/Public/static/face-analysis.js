// Faces and their expressions from one camera frame, in the page: the server's detector and
// classifier steps (Sources/AffectVision: BlazeFaceDetector, SSDAnchors, NonMaximumSuppression,
// EmotionClassifier) ported line for line, around the inference kernel (inference-kernel.js), which
// makes the tensors and runs the networks. tests/browser/test_device_parity.py holds the two to the
// same boxes and probabilities on the same pixels; change one, change both.
"use strict";

const AffectFaces = (() => {
  const DETECTOR_INPUT = 128;
  const SCORE_THRESHOLD = 0.5; // MediaPipe's default
  const IOU_THRESHOLD = 0.3; // MediaPipe's weighted suppression
  const CROP_SCALE = 1.1; // EmotionClassifier.Options().cropScale
  const CLASSIFIER_INPUT = 64;
  // Pixels to network values: value = pixel * 2/255 - 1, for both networks.
  const ENCODING = { scale: 2 / 255, offset: -1 };

  // Swift's `rounded()`: halves away from zero (Math.round takes -2.5 to -2).
  const rounded = (value) => Math.sign(value) * Math.round(Math.abs(value));

  // SSDAnchors.blazeFaceShortRange: 128x128 input, strides 8, 16, 16, 16, two anchors per layer;
  // layers with the same stride share a grid.
  function anchors(inputSize = DETECTOR_INPUT, strides = [8, 16, 16, 16], perLayer = 2) {
    const result = [];
    let layer = 0;
    while (layer < strides.length) {
      let last = layer;
      while (last + 1 < strides.length && strides[last + 1] === strides[layer]) last += 1;
      const perCell = perLayer * (last - layer + 1);
      const grid = Math.floor((inputSize + strides[layer] - 1) / strides[layer]);
      for (let row = 0; row < grid; row++) {
        for (let column = 0; column < grid; column++) {
          for (let k = 0; k < perCell; k++) result.push({ x: (column + 0.5) / grid, y: (row + 0.5) / grid });
        }
      }
      layer = last + 1;
    }
    return result;
  }
  const ANCHORS = anchors();

  // Boxes are {x, y, width, height} in frame pixels, as AffectCore's Box.
  const maxX = (box) => box.x + box.width;
  const maxY = (box) => box.y + box.height;
  const area = (box) => Math.max(0, box.width) * Math.max(0, box.height);
  const fromCorners = (minX, minY, maxX, maxY) => ({ x: minX, y: minY, width: maxX - minX, height: maxY - minY });

  function iou(a, b) {
    const minX = Math.max(a.x, b.x), minY = Math.max(a.y, b.y);
    const right = Math.min(maxX(a), maxX(b)), bottom = Math.min(maxY(a), maxY(b));
    if (!(right > minX && bottom > minY)) return 0;
    const overlap = area(fromCorners(minX, minY, right, bottom));
    const union = area(a) + area(b) - overlap;
    return union > 0 ? overlap / union : 0;
  }

  function clipped(box, width, height) {
    const minX = Math.min(Math.max(box.x, 0), width), minY = Math.min(Math.max(box.y, 0), height);
    return fromCorners(minX, minY, Math.min(Math.max(maxX(box), minX), width), Math.min(Math.max(maxY(box), minY), height));
  }

  // NonMaximumSuppression.weighted: each kept face is the score-weighted mean of the candidates
  // overlapping the best one.
  function weightedSuppression(candidates, threshold) {
    let remaining = [...candidates].sort((a, b) => b.score - a.score);
    const kept = [];
    while (remaining.length > 0) {
      const best = remaining[0];
      const rest = remaining.slice(1);
      const cluster = [best, ...rest.filter((c) => iou(c.box, best.box) > threshold)];
      remaining = rest.filter((c) => iou(c.box, best.box) <= threshold);
      const total = cluster.reduce((sum, c) => sum + c.score, 0);
      if (cluster.length <= 1 || !(total > 0)) {
        kept.push(best);
        continue;
      }
      const mean = (value) => cluster.reduce((sum, c) => sum + value(c) * c.score, 0) / total;
      kept.push({
        box: fromCorners(mean((c) => c.box.x), mean((c) => c.box.y), mean((c) => maxX(c.box)), mean((c) => maxY(c.box))),
        score: best.score,
        landmarks: best.landmarks.map((_, i) => ({ x: mean((c) => c.landmarks[i].x), y: mean((c) => c.landmarks[i].y) })),
      });
    }
    return kept;
  }

  // BlazeFaceDetector.detect: letterbox to the largest centred square, decode the anchors' offsets,
  // keep scores of at least the threshold, merge overlaps, clip to the frame.
  function detect(detector, frame) {
    const { width, height } = frame;
    if (width < 8 || height < 8) return [];
    const side = Math.max(width, height);
    const square = { x: rounded((width - side) / 2), y: rounded((height - side) / 2), width: side, height: side };
    const outputs = detector.runOnFrame(frame, [square.x, square.y, side, side], ENCODING);
    const regressors = outputs.regressors, scores = outputs.classificators;
    if (!regressors || !scores || scores.length !== ANCHORS.length || regressors.length !== ANCHORS.length * 16) {
      throw new Error("the detector's outputs have unexpected shapes");
    }
    const logitLimit = Math.log(SCORE_THRESHOLD / (1 - SCORE_THRESHOLD));
    const unit = DETECTOR_INPUT;
    const candidates = [];
    ANCHORS.forEach((anchor, index) => {
      const logit = scores[index];
      if (!(logit >= logitLimit)) return;
      const score = 1 / (1 + Math.exp(-Math.min(Math.max(logit, -100), 100)));
      const raw = regressors.subarray(index * 16, index * 16 + 16);
      const point = (dx, dy) => ({ x: square.x + (anchor.x + dx / unit) * side, y: square.y + (anchor.y + dy / unit) * side });
      const center = point(raw[0], raw[1]);
      const boxWidth = raw[2] / unit * side, boxHeight = raw[3] / unit * side;
      const box = { x: center.x - boxWidth / 2, y: center.y - boxHeight / 2, width: boxWidth, height: boxHeight };
      const landmarks = [0, 1, 2, 3, 4, 5].map((k) => point(raw[4 + 2 * k], raw[5 + 2 * k]));
      candidates.push({ box, score, landmarks });
    });
    return weightedSuppression(candidates, IOU_THRESHOLD)
      .map((face) => ({ box: clipped(face.box, width, height), score: face.score, landmarks: face.landmarks }))
      .filter((face) => area(face.box) > 0);
  }

  // EmotionClassifier.classify with its defaults: a square crop 1.1 times the box's longer side,
  // area averaging when it shrinks more than twice, one pass, uncalibrated (the server applies the
  // model's temperature to what the page reports, as it does to its own).
  function classify(classifier, frame, face) {
    const side = Math.max(face.box.width, face.box.height) * CROP_SCALE;
    const centerX = face.box.x + face.box.width / 2, centerY = face.box.y + face.box.height / 2;
    const crop = [rounded(centerX - side / 2), rounded(centerY - side / 2), rounded(side), rounded(side)];
    const outputs = classifier.runOnFrame(frame, crop, { grey: true, area: side > 2 * CLASSIFIER_INPUT, ...ENCODING });
    const probabilities = Object.values(outputs)[0];
    if (!probabilities || probabilities.length !== 7) throw new Error("the classifier's output has an unexpected shape");
    return Array.from(probabilities);
  }

  // Every face in an RGBA frame ({data, width, height}): box and landmarks in frame pixels, the
  // detector's score, and the classifier's raw probabilities in the model's order (angry, disgust,
  // fear, happy, sad, surprise, neutral).
  function analyse(networks, frame) {
    return detect(networks.detector, frame).map((face) => ({ ...face, probabilities: classify(networks.classifier, frame, face) }));
  }

  return { analyse, detect, anchors, weightedSuppression, iou };
})();
