// npm run package: the installable extension, trainscope-linux-x64-<version>.vsix
// in the repository root.
//
// 1. Builds the native trainer and addon in Release in their own build folder
//    (out/package/native) with -DTRAINSCOPE_NATIVE_ARCH=OFF, so the shipped
//    binaries run on any x86-64, not only on CPUs like this one. Extra
//    arguments are CMake options: npm run package -- -DTRAINSCOPE_USE_MPI=OFF
// 2. Bundles the TypeScript (extension, report CLI, minified webview).
// 3. Stages a clean folder (out/package/stage) with only what the extension
//    runs from: package.json (without scripts and dependencies: everything is
//    bundled), README, LICENSE when there is one, out/*.js (no source maps),
//    syntaxes/, examples/*.train, docs (the README links them), and the two
//    binaries where extension/settings.ts and extension/native/addon.ts look for
//    them: native/build/trainscope-train and native/build/trainscope_addon.node.
// 4. Runs `vsce package --target linux-x64 --no-dependencies` there (offline:
//    no repository or LICENSE needed), then checks what the .vsix holds.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildTypeScript, ensureNodeModules, ensureSystemPackages, root, run } from './lib.mjs';

export const TARGET = 'linux-x64';
const packageDir = path.join(root, 'out', 'package');
const nativeDir = path.join(packageDir, 'native');
const stageDir = path.join(packageDir, 'stage');

/** Where `npm run package` writes the .vsix. */
export function vsixPath() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return path.join(root, `${pkg.name}-${TARGET}-${pkg.version}.vsix`);
}

// Files the packaged extension cannot work without (paths inside the .vsix).
const REQUIRED = [
  'extension/package.json',
  'extension/out/extension.js',
  'extension/out/webview.js',
  'extension/native/build/trainscope-train',
  'extension/native/build/trainscope_addon.node',
  'extension/syntaxes/trainscope.tmLanguage.json',
];

function buildNativeRelease(cmakeArgs) {
  run('cmake', [
    '-S', 'native',
    '-B', nativeDir,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DTRAINSCOPE_NATIVE_ARCH=OFF',
    ...cmakeArgs,
  ]);
  const jobs = String(Math.max(1, Math.min(8, os.availableParallelism())));
  run('cmake', ['--build', nativeDir, '-j', jobs, '--target', 'trainscope-train', 'trainscope_addon']);
  for (const f of ['trainscope-train', 'trainscope_addon.node']) {
    if (!existsSync(path.join(nativeDir, f))) {
      throw new Error(`the native build made no ${f} (is the addon skipped? see the CMake output above; npm install provides its headers)`);
    }
  }
  // The CUDA backend, where this machine has nvcc: the .vsix then trains on
  // GPUs too (train.device cuda|auto); without it, on the CPU only.
  if (cudaConfigured(nativeDir)) run('cmake', ['--build', nativeDir, '-j', jobs, '--target', 'trainscope_cuda']);
}

// CMake defines the plugin's target only where it found nvcc.
function cudaConfigured(dir) {
  return existsSync(path.join(dir, 'CMakeFiles', 'trainscope_cuda.dir'));
}

function copy(rel, from = path.join(root, rel)) {
  const to = path.join(stageDir, rel);
  mkdirSync(path.dirname(to), { recursive: true });
  cpSync(from, to, { recursive: true, preserveTimestamps: true });
}

function stage() {
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // The bundles carry their dependencies; the scripts and dev tools are the repository's.
  delete pkg.scripts;
  delete pkg.devDependencies;
  delete pkg.allowScripts;
  delete pkg.dependencies;
  writeFileSync(path.join(stageDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE', 'LICENSE.md', 'LICENSE.txt', '.vscodeignore']) {
    if (existsSync(path.join(root, f))) copy(f);
  }
  for (const f of ['extension.js', 'webview.js', 'report.js']) {
    if (!existsSync(path.join(root, 'out', f))) throw new Error(`out/${f} was not built`);
    copy(path.join('out', f));
  }
  copy('syntaxes');
  for (const f of readdirSync(path.join(root, 'examples'))) if (f.endsWith('.train')) copy(path.join('examples', f));
  if (existsSync(path.join(root, 'docs'))) {
    for (const f of readdirSync(path.join(root, 'docs'))) if (f.endsWith('.md')) copy(path.join('docs', f));
    // Only the images the README shows.
    const readme = existsSync(path.join(root, 'README.md')) ? readFileSync(path.join(root, 'README.md'), 'utf8') : '';
    for (const m of readme.matchAll(/\(\.?\/?(docs\/images\/[\w.-]+\.(?:png|jpe?g|gif))\)/g)) {
      if (existsSync(path.join(root, m[1]))) copy(m[1]);
    }
  }
  copy(path.join('native', 'build', 'trainscope-train'), path.join(nativeDir, 'trainscope-train'));
  copy(path.join('native', 'build', 'trainscope_addon.node'), path.join(nativeDir, 'trainscope_addon.node'));
  const plugin = path.join('native', 'build', 'libtrainscope_cuda.so');
  if (existsSync(path.join(nativeDir, 'libtrainscope_cuda.so'))) copy(plugin, path.join(nativeDir, 'libtrainscope_cuda.so'));
  return pkg;
}

/** The entries of a zip file (name, uncompressed size, unix mode), from its central directory. */
export function zipEntries(file) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 65557);
    const tail = Buffer.alloc(tailLen);
    readSync(fd, tail, 0, tailLen, size - tailLen);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${file} is not a zip file`);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    readSync(fd, cd, 0, cdSize, cdOffset);
    const out = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
      const usize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const external = cd.readUInt32LE(p + 38);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      out.push({ name, size: usize, mode: external >>> 16 });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Throws when the .vsix lacks a required file, holds sources or dependencies, or is too big. */
export function checkVsix(file) {
  const entries = zipEntries(file);
  const names = new Set(entries.map((e) => e.name));
  const missing = REQUIRED.filter((r) => !names.has(r));
  if (missing.length) throw new Error(`${path.basename(file)} lacks ${missing.join(', ')}`);
  const unwanted = entries.filter((e) => /(^|\/)node_modules\/|\.ts$|\.map$|\.cpp$|\.h$|CMake/.test(e.name));
  if (unwanted.length) throw new Error(`${path.basename(file)} holds files it should not: ${unwanted.slice(0, 5).map((e) => e.name).join(', ')}`);
  // The CUDA plugin, when this build made one, ships beside the trainer.
  if (existsSync(path.join(stageDir, 'native', 'build', 'libtrainscope_cuda.so')) && !names.has('extension/native/build/libtrainscope_cuda.so'))
    throw new Error(`${path.basename(file)} lacks the CUDA plugin the build made (native/build/libtrainscope_cuda.so)`);
  const trainer = entries.find((e) => e.name === 'extension/native/build/trainscope-train');
  if (trainer && trainer.mode && !(trainer.mode & 0o100)) throw new Error('the trainer is not executable inside the .vsix');
  const bytes = statSync(file).size;
  if (bytes > 20 * 1024 * 1024) throw new Error(`${path.basename(file)} is ${(bytes / 1048576).toFixed(1)} MiB: something large was packaged`);
  return { entries, bytes };
}

export async function packageExtension(cmakeArgs = []) {
  ensureSystemPackages(['core']);
  ensureNodeModules();
  const started = Date.now();
  buildNativeRelease(cmakeArgs);
  await buildTypeScript();
  const pkg = stage();
  const out = vsixPath();
  rmSync(out, { force: true });
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  if (!existsSync(vsce)) throw new Error('@vscode/vsce is not installed: run npm install');
  const hasLicense = ['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(path.join(stageDir, f)));
  run(process.execPath, [
    vsce, 'package',
    '--target', TARGET,
    '--no-dependencies',
    '--allow-missing-repository',
    // README links (docs/, docs/images/) are packaged and resolve inside the extension.
    '--no-rewrite-relative-links',
    ...(hasLicense ? [] : ['--skip-license']),
    '--out', out,
  ], { cwd: stageDir });
  const { entries, bytes } = checkVsix(out);
  console.log(`\n${path.relative(process.cwd(), out) || out}: ${pkg.name} ${pkg.version} (${TARGET}), ${entries.length} files, ${(bytes / 1024).toFixed(0)} KB, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`Install it: code --install-extension ${path.basename(out)}   (or code-server --install-extension ...)`);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const bad = args.filter((a) => !a.startsWith('-D'));
  if (bad.length) {
    console.error(`usage: npm run package [-- -DOPTION=VALUE...]   (CMake options for the native build; got ${bad.join(' ')})`);
    process.exit(2);
  }
  try {
    await packageExtension(args);
  } catch (err) {
    console.error(`trainscope package: ${err.message}`);
    process.exit(err.exitCode ?? 1);
  }
}
