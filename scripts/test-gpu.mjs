// npm run test:gpu: the CUDA backend's tests (native/gpu_tests, CTest label
// "gpu"). Needs an NVIDIA GPU (compute capability 8.0 or newer) with its
// driver, nvcc to build the backend, and cuBLAS at run time (the CUDA
// toolkit's, or pip's nvidia-cublas as PyTorch installs it); NCCL is
// optional (its round trip is skipped without libnccl.so.2). `npm test`
// leaves these out: CI has no GPU.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildDir, buildNative, cudaLibraryPath, run } from './lib.mjs';

buildNative();
// CMake defines the plugin's target only where it found nvcc.
if (!existsSync(path.join(buildDir, 'CMakeFiles', 'trainscope_cuda.dir')) || !existsSync(path.join(buildDir, 'libtrainscope_cuda.so'))) {
  console.error('test:gpu: the CUDA backend was not built: CMake found no nvcc (put it on PATH or set CUDACXX, then delete native/build/CMakeCache.txt)');
  process.exit(1);
}
process.env.LD_LIBRARY_PATH = cudaLibraryPath();
try {
  run('ctest', ['--test-dir', buildDir, '--output-on-failure', '-L', 'gpu']);
} catch (err) {
  console.error(`test:gpu: ${err.message}`);
  process.exit(1);
}
