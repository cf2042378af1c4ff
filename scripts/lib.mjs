// Shared helpers of the npm scripts: locate tools, install what is missing,
// build. Node built-ins only, so the scripts run before `npm install`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const buildDir = path.join(root, 'native', 'build');
export const trainerPath = path.join(buildDir, 'trainscope-train');

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
    err.exitCode = r.status ?? 1;
    throw err;
  }
  return r;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// Debian packages each job needs. `core`: build and train on CPU (OpenBLAS is
// opened at run time: without it training runs on the built-in kernel).
export const systemPackages = {
  core: ['cmake', 'g++', 'make', 'libopenblas0'],
  mpi: ['libopenmpi-dev', 'openmpi-bin'],
  bench: ['python3-torch'],
  // Browser tests: Chromium (test/webview.test.ts, scripts/e2e.mjs), and what
  // installing code-server for the e2e needs: libkrb5-dev and python3 (its
  // native modules, built by node-gyp), ripgrep (instead of a download).
  browser: ['chromium', 'libkrb5-dev', 'ripgrep', 'python3'],
  // npm run fuzz: clang with libFuzzer and the sanitizer runtimes, and the
  // OpenMP runtime clang links (the core's loops are OpenMP).
  fuzz: ['clang', 'libclang-rt-14-dev', 'libomp-14-dev'],
};

// Installs missing Debian packages when running as root (CI, containers);
// otherwise prints the exact command and stops.
export function ensureSystemPackages(groups) {
  const wanted = [...new Set(groups.flatMap((g) => systemPackages[g]))];
  if (!have('dpkg-query')) {
    const missingTools = ['cmake', 'g++'].filter((t) => !have(t));
    if (missingTools.length) throw new Error(`missing ${missingTools.join(', ')}: install them with your package manager`);
    return;
  }
  const missing = wanted.filter((p) => !dpkgInstalled(p));
  if (!missing.length) return;
  const line = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid && process.getuid() === 0) {
    console.log(`trainscope: installing ${missing.join(' ')}`);
    run('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`]);
  } else {
    console.error(`trainscope: missing system packages. Run:\n\n  sudo ${line}\n`);
    process.exit(1);
  }
}

export function ensureNodeModules() {
  if (existsSync(path.join(root, 'node_modules', 'esbuild'))) return;
  run('npm', ['install', '--no-audit', '--no-fund']);
}

export function buildNative({ target } = {}) {
  if (!existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
    run('cmake', ['-S', 'native', '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release']);
  }
  const jobs = String(Math.max(1, Math.min(8, os.availableParallelism())));
  run('cmake', ['--build', buildDir, '-j', jobs, ...(target ? ['--target', target] : [])]);
}

// Bundles the TypeScript: the extension (Node, CJS), the webview (browser,
// ESM) and the tests (Node, ESM, one file per test).
export async function buildTypeScript() {
  const esbuild = await import('esbuild');
  const tests = existsSync(path.join(root, 'test'))
    ? readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.ts')).map((f) => path.join(root, 'test', f))
    : [];
  const common = { bundle: true, sourcemap: true, logLevel: 'warning', absWorkingDir: root };
  const jobs = [];
  if (existsSync(path.join(root, 'extension', 'extension.ts'))) {
    jobs.push(esbuild.build({ ...common, entryPoints: ['extension/extension.ts'], outfile: 'out/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', '*.node'] }));
  }
  if (existsSync(path.join(root, 'extension', 'panel', 'reportCli.ts'))) {
    jobs.push(esbuild.build({ ...common, entryPoints: ['extension/panel/reportCli.ts'], outfile: 'out/report.js', platform: 'node', format: 'cjs', target: 'node20' }));
  }
  if (existsSync(path.join(root, 'webview', 'main.ts'))) {
    jobs.push(esbuild.build({ ...common, entryPoints: ['webview/main.ts'], outfile: 'out/webview.js', platform: 'browser', format: 'esm', target: 'es2022', minify: true }));
  }
  if (tests.length) {
    jobs.push(esbuild.build({ ...common, entryPoints: tests, outdir: 'out/test', platform: 'node', format: 'esm', target: 'node20', outExtension: { '.js': '.mjs' }, packages: 'external' }));
  }
  await Promise.all(jobs);
}

// LD_LIBRARY_PATH for GPU runs: cuBLAS and NCCL are opened at run time
// (native/cuda/cublas.cuh, native/core/dist/nccl_loader.cpp). Besides the
// caller's path and the CUDA toolkit's folder, the lib folders of the
// NVIDIA pip packages (nvidia-cublas, nvidia-nccl, as PyTorch installs
// them) are added when python3 can import them.
export function cudaLibraryPath() {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const py = spawnSync('python3', ['-c', [
    'import importlib, os',
    'for m in ("nvidia.cublas", "nvidia.nccl", "nvidia.cu13", "nvidia.cuda_runtime"):',
    '    try: mod = importlib.import_module(m)',
    '    except Exception: continue',
    '    for p in mod.__path__:',
    '        d = os.path.join(p, "lib")',
    '        if os.path.isdir(d): print(d)',
  ].join('\n')], { encoding: 'utf8' });
  if (py.status === 0) dirs.push(...py.stdout.split('\n').filter(Boolean));
  dirs.push('/usr/local/cuda/lib64');
  return [...new Set(dirs)].join(':');
}
