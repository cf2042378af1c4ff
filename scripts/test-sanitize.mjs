// npm run test:sanitize: the native test suite (every ctest test but the
// GPU ones) built with AddressSanitizer and UndefinedBehaviorSanitizer, in
// native/build-asan. g++ (the compiler of the normal build, so the same code
// paths), core and tests instrumented alike; any report (an out-of-bounds
// access, a use after free, a leak, signed overflow, a misaligned load, a
// bad shift) ends its test with a non-zero exit and the stack on stderr.
// CI runs it once after npm test.
import os from 'node:os';
import path from 'node:path';
import { ensureSystemPackages, root, run } from './lib.mjs';

ensureSystemPackages(['core']);
const dir = path.join(root, 'native', 'build-asan');
// No CUDA plugin (its tests need a GPU) and no Node addon (node itself is not
// instrumented, so the addon cannot load under ASan; the addon's code is the
// core's, which these tests cover).
run('cmake', ['-S', 'native', '-B', dir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DTRAINSCOPE_SANITIZE=ON',
  '-DTRAINSCOPE_USE_CUDA=OFF', '-DTRAINSCOPE_BUILD_ADDON=OFF']);
run('cmake', ['--build', dir, '-j', String(Math.max(1, Math.min(8, os.availableParallelism())))]);
const started = Date.now();
run('ctest', ['--test-dir', dir, '--output-on-failure', '-LE', 'gpu'], {
  env: {
    ...process.env,
    // abort_on_error: a report is a failed test, never a warning that scrolls by.
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  },
});
console.log(`\nnative tests under ASan + UBSan: pass, ${((Date.now() - started) / 1000).toFixed(0)} s`);
