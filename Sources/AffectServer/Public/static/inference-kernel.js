// The inference kernel in the page: the same C the server's tests check against cv::dnn
// (Sources/InferenceKernel), built for wasm32 by scripts/build-kernel-wasm, running a model's
// kernel program (models/*.akw). Each network has its own instance and memory: the program, then an
// arena of activations. Inputs and activations are zeroed after every run, so nothing of a face stays
// in the page's memory between frames.
"use strict";

const AffectKernel = (() => {
  // A module using one SIMD instruction: validates only where WebAssembly SIMD is supported.
  const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
    65, 0, 253, 15, 253, 98, 11]);
  const PAGE = 65536;
  // The largest frame a page hands the kernel (its capture asks for 640x480; a camera may give more).
  const MAX_FRAME_PIXELS = 1920 * 1080;

  function simdSupported() {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  }

  const align = (value) => Math.ceil(value / 16) * 16;

  // One network: `module` is the compiled kernel, `program` the model's .akw bytes.
  class Network {
    static async create(module, program) {
      const instance = await WebAssembly.instantiate(module, {});
      return new Network(instance.exports, new Uint8Array(program));
    }

    constructor(exports, program) {
      this.exports = exports;
      const memory = exports.memory;
      this.programAt = align(exports.__heap_base.value);
      const length = program.byteLength;
      // The arena's size is the program's third word.
      const arenaFloats = new DataView(program.buffer, program.byteOffset).getUint32(8, true);
      this.arenaAt = align(this.programAt + length);
      const end = this.arenaAt + arenaFloats * 4;
      if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
      new Uint8Array(memory.buffer, this.programAt, length).set(program);
      const status = exports.akw_validate(this.programAt, length);
      if (status !== 0) throw new Error(`not a usable kernel program (check ${status})`);
      this.arenaFloats = arenaFloats;
      this.inputOffset = exports.akw_input_offset(this.programAt);
      this.inputShape = [exports.akw_input_channels(this.programAt), exports.akw_input_height(this.programAt),
        exports.akw_input_width(this.programAt)];
      this.outputs = [];
      for (let index = 0; index < exports.akw_output_count(this.programAt); index++) {
        const nameBytes = new Uint8Array(memory.buffer, exports.akw_output_name(this.programAt, index), 32);
        const zero = nameBytes.indexOf(0);
        this.outputs.push({
          name: new TextDecoder().decode(nameBytes.subarray(0, zero < 0 ? 32 : zero)),
          offset: exports.akw_output_offset(this.programAt, index),
          length: exports.akw_output_length(this.programAt, index),
        });
      }
    }

    arena() {
      return new Float32Array(this.exports.memory.buffer, this.arenaAt, this.arenaFloats);
    }

    // Runs on a crop of an RGBA frame ({data, width, height}, as a canvas's getImageData gives it):
    // the kernel crops, resizes and converts the pixels exactly as the server's OpenCV does
    // (akw_rgba_to_tensor). `crop` is [x, y, w, h] in whole pixels; `grey` and `area` choose the
    // colour and the resampling; `scale` and `offset` map pixel values to the network's. The frame's
    // copy and the arena are zeroed before this returns.
    runOnFrame(frame, crop, { grey = false, area = false, scale, offset }) {
      const { data, width, height } = frame;
      if (!(width > 0 && height > 0 && width * height <= MAX_FRAME_PIXELS) || data.length !== width * height * 4) {
        throw new Error(`a ${width}x${height} frame is not one the kernel takes`);
      }
      const [c, h, w] = this.inputShape;
      if (c !== (grey ? 1 : 3)) throw new Error(`this network takes ${c} channels`);
      const pixelsAt = align(this.arenaAt + this.arenaFloats * 4);
      const memory = this.exports.memory;
      const end = pixelsAt + data.length;
      if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
      const pixels = new Uint8Array(memory.buffer, pixelsAt, data.length);
      pixels.set(data);
      const status = this.exports.akw_rgba_to_tensor(pixelsAt, width, height, crop[0], crop[1], crop[2], crop[3], w, h,
        grey ? 1 : 0, area ? 1 : 0, scale, offset, this.arenaAt + this.inputOffset * 4);
      pixels.fill(0);
      if (status !== 0) {
        this.arena().fill(0);
        throw new Error(`the crop ${crop} of a ${width}x${height} frame was refused`);
      }
      return this.runArena();
    }

    // Runs on one planar input (channels x height x width); returns each output by name, copied out,
    // with the arena zeroed.
    run(input) {
      const [c, h, w] = this.inputShape;
      if (input.length !== c * h * w) throw new Error(`input has ${input.length} values for ${c}x${h}x${w}`);
      this.arena().set(input, this.inputOffset);
      return this.runArena();
    }

    // Runs the program on the input already in the arena; copies the outputs out and zeroes the arena.
    runArena() {
      this.exports.akw_run(this.programAt, this.arenaAt);
      const arena = this.arena();
      const results = {};
      for (const output of this.outputs) results[output.name] = arena.slice(output.offset, output.offset + output.length);
      arena.fill(0);
      return results;
    }
  }

  // Compiles the kernel (the SIMD build where supported) once; networks are instances of it.
  async function compile(fetchModule) {
    const simd = simdSupported();
    const bytes = await fetchModule(simd);
    return { module: await WebAssembly.compile(bytes), simd };
  }

  return { simdSupported, compile, Network };
})();
