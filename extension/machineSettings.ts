// The settings that choose what TrainScope executes (the trainer, mpirun and
// mpirun's arguments: through its MPMD syntax `: -n 1 /bin/sh -c …` or
// `-x LD_PRELOAD=…` an argument list is a program) are machine-scoped in
// package.json and read here from user (or remote machine) settings only. A
// workspace's .vscode/settings.json is content someone else may have
// written, and must not choose what runs on this machine, trusted or not;
// VS Code already drops machine-scoped workspace values, this is the same
// rule in the code that reads them. No `vscode` import, so that it is
// tested under plain Node.

/** The parts of `WorkspaceConfiguration.inspect()` this reads. */
export interface InspectedSetting {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export interface MachineValue<T> {
  /** The user value when it is valid, else the default (undefined when neither is). */
  value: T | undefined;
  from: 'user settings' | 'default';
  /** What a workspace or folder set and was ignored, when it differs from what is used. */
  ignored?: unknown;
}

/**
 * The value of a machine setting: `globalValue` when `valid` accepts it,
 * else `defaultValue`; never `workspaceValue` nor `workspaceFolderValue`.
 */
export function machineValue<T>(i: InspectedSetting | undefined, valid: (v: unknown) => v is T): MachineValue<T> {
  const user = i !== undefined && valid(i.globalValue) ? i.globalValue : undefined;
  const fallback = i !== undefined && valid(i.defaultValue) ? i.defaultValue : undefined;
  const r: MachineValue<T> = user !== undefined ? { value: user, from: 'user settings' } : { value: fallback, from: 'default' };
  const ws = i?.workspaceFolderValue ?? i?.workspaceValue;
  // JSON compares arrays (mpirunArgs) by content: a workspace value equal
  // to the one used changes nothing and is not worth a warning.
  if (ws !== undefined && JSON.stringify(ws) !== JSON.stringify(r.value)) r.ignored = ws;
  return r;
}

/** The warning for a workspace value `machineValue` ignored. */
export function ignoredWarning(key: string, ignored: unknown): string {
  return `${key} is set in workspace settings to ${JSON.stringify(ignored)}; TrainScope ignores that: set it in your user settings to choose the program it runs.`;
}
