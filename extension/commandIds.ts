// Command ids and titles, and the profile panel's view type, which the
// manifest must match (test/manifest.test.ts checks package.json against
// them). No `vscode` import.

export const COMMANDS = {
  profile: { id: 'trainscope.profile', title: 'Profile Run' },
  stop: { id: 'trainscope.stop', title: 'Stop Run' },
  showProfile: { id: 'trainscope.showProfile', title: 'Show Profile' },
  compareRuns: { id: 'trainscope.compareRuns', title: 'Compare Runs' },
  exportTrace: { id: 'trainscope.exportTrace', title: 'Export Chrome Trace' },
  openRunFolder: { id: 'trainscope.openRunFolder', title: 'Open Run Folder' },
  applyAndProfile: { id: 'trainscope.applyAndProfile', title: 'Apply a Suggested Change and Re-profile' },
} as const;

export type CommandName = keyof typeof COMMANDS;

export const COMMAND_CATEGORY = 'TrainScope';

/** Settings whose values choose what runs (mpirun's arguments can name programs): never taken from a workspace. */
export const EXECUTABLE_SETTINGS = ['trainerPath', 'mpirunPath', 'mpirunArgs'] as const;

/** The profile panel's webview type: package.json activates on `onWebviewPanel:` it to restore the panel after a reload. */
export const PANEL_TYPE = 'trainscope.profile';
