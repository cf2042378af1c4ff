// Entry point: activation builds the context (which owns everything) and
// registers commands and editor features; deactivation stops a live run and
// disposes the context.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { ExtensionCtx } from './host';
import { registerEditorFeatures } from './config/editorFeatures';

let ctx: ExtensionCtx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const c = new ExtensionCtx(context);
  ctx = c;
  // Disposed by VS Code too if deactivate is never reached (a crash).
  context.subscriptions.push(c);
  registerCommands(c);
  registerEditorFeatures(c);
  c.log.info(`TrainScope activated (${context.extension.packageJSON.version as string})`);
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  if (!c) return;
  // Ask a live trainer to stop and give it a moment to write its summary
  // and trace; dispose then escalates to SIGKILL for the whole group.
  c.runs.stop();
  await c.runs.settle(3000);
  c.dispose();
}
