// `node out/report.js RUN_DIR... [--webview PATH] [--budget SIZE]`: writes
// RUN_DIR/report.html for each run folder. The webview bundle defaults to
// webview.js beside this script (both live in out/).
import path from 'node:path';
import { parseSize } from '../../common/format';
import { writeReport } from './report';

async function main(argv: string[]): Promise<number> {
  const dirs: string[] = [];
  let webview = path.join(path.dirname(process.argv[1] ?? '.'), 'webview.js');
  let budgetBytes: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--webview' && i + 1 < argv.length) webview = argv[++i];
    else if (a === '--budget' && i + 1 < argv.length) {
      const s = parseSize(argv[++i]);
      if (!s.ok) {
        console.error(`trainscope report: ${s.error}`);
        return 2;
      }
      budgetBytes = s.bytes;
    } else if (a === '--help' || a === '-h') {
      console.log('usage: node out/report.js RUN_DIR... [--webview out/webview.js] [--budget 2GB]');
      return 0;
    } else if (a.startsWith('-')) {
      console.error(`trainscope report: unknown option '${a}'`);
      return 2;
    } else dirs.push(a);
  }
  if (!dirs.length) {
    console.error('usage: node out/report.js RUN_DIR... [--webview out/webview.js] [--budget 2GB]');
    return 2;
  }
  let failed = 0;
  for (const dir of dirs) {
    try {
      const out = await writeReport(dir, { webviewScript: webview, settings: { budgetBytes } });
      console.log(out);
    } catch (err) {
      console.error(`trainscope report: ${dir}: ${(err as Error).message}`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
