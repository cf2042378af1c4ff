// One trainer run: a LiveRun owns everything of one trainer process (the
// process, its event tail and the other ranks' tails) and is disposed when
// the run ends. The RunManager starts and owns it.
import path from 'node:path';
import * as vscode from 'vscode';
import type { RunModel } from '../../common/runModel';
import { RunModelBuilder } from './runModelBuilder';
import { allStreamProblems, rankFileName } from './runStore';
import { parseTrainerLine, type TrainerMessage } from './trainerDiagnostics';
import { EventTail, type RunResult, type TrainerLaunch, TrainerProcess } from './trainerProcess';

const MAX_MESSAGES = 500;

export class LiveRun implements vscode.Disposable {
  readonly builder: RunModelBuilder;
  readonly process: TrainerProcess;
  readonly done: Promise<RunResult>;
  /** Errors and warnings the trainer printed, in order. */
  readonly messages: TrainerMessage[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  private ended = false;
  /** Data-parallel runs: the other ranks' events files, followed. */
  private readonly rankTails: { file: string; tail: EventTail }[] = [];
  /** The model grew (fired per chunk of events; consumers throttle). */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    readonly configUri: vscode.Uri,
    readonly dir: string,
    readonly launch: TrainerLaunch,
  ) {
    this.builder = new RunModelBuilder(path.basename(dir), { live: true });
    this.process = TrainerProcess.start(launch, {
      onStdoutLine: (l) => log.info(l),
      onStderrLine: (l) => {
        const m = parseTrainerLine(l);
        if (m) {
          // Bounded: a trainer stuck printing errors must not grow the host.
          if (this.messages.length < MAX_MESSAGES) this.messages.push(m);
          if (m.severity === 'error') log.error(l);
          else log.warn(l);
        } else {
          log.info(l);
        }
      },
      onEvents: (events) => {
        this.builder.add(events);
        this.followRanks((w) => log.warn(w));
        this.updateProblems();
        this.changed.fire();
      },
      onWarning: (w) => log.warn(w),
    });
    this.done = this.process.done.then(async (r) => {
      // The other ranks have ended too: read what their files gained.
      await Promise.all(this.rankTails.map((t) => t.tail.finish()));
      this.updateProblems();
      this.builder.finish();
      this.ended = true;
      this.changed.fire();
      return r;
    });
  }

  /**
   * Once the run record says the run has several ranks: follows each
   * other rank's events file, whose spans and all-reduces fill the
   * Communication timeline as the run goes.
   */
  private followRanks(warn: (message: string) => void): void {
    // The timeline's ranks: the run record's, held to the builder's bounds.
    const ranks = this.builder.model.timeline?.ranks ?? 1;
    if (ranks < 2 || this.rankTails.length) return;
    for (let r = 1; r < ranks; r++) {
      const file = rankFileName(r);
      const tail = new EventTail(
        path.join(this.dir, file),
        (events) => {
          this.builder.addRank(events);
          this.updateProblems();
          this.changed.fire();
        },
        { onWarning: warn },
      );
      this.rankTails.push({ file, tail });
      tail.start();
    }
  }

  private updateProblems(): void {
    const p = allStreamProblems(
      this.process.tail.parser,
      this.rankTails.map((r) => ({ file: r.file, parser: r.tail.parser })),
    );
    this.builder.setStreamProblems(p.count, p.messages);
  }

  get id(): string {
    return this.builder.model.id;
  }

  /** Stops the run: SIGTERM to its process group, SIGKILL after 5 s. */
  cancel(): void {
    this.process.cancel();
  }

  /** Stop asked for by the user (Stop command, the panel's button): false when the run has already ended. */
  stop(): boolean {
    if (this.ended) return false;
    this.log.info(`stopping run ${this.id}`);
    this.cancel();
    return true;
  }

  dispose(): void {
    this.process.dispose();
    for (const r of this.rankTails) r.tail.dispose();
    this.changed.dispose();
  }
}

/** A run that profile() started and saw to its end. */
export interface FinishedRun {
  dir: string;
  model: RunModel;
  result: RunResult;
}
