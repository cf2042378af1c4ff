// npm run build: the native core, trainer and tests (CMake), then the TypeScript (esbuild).
import { buildNative, buildTypeScript, ensureNodeModules, ensureSystemPackages } from './lib.mjs';

ensureSystemPackages(['core']);
ensureNodeModules();
buildNative();
await buildTypeScript();
