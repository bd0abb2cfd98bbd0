/**
 * The JSON the server extension sends (nas_workbench/server/handlers.py), and the client interface the
 * panel model talks to. Field names are the server's (snake_case).
 */

/** How a search is doing: a live trial, every planned trial done, stopped early, or died. */
export type StudyStatus = 'running' | 'finished' | 'stopped' | 'failed';

export interface IObjective {
  metric: string;
  direction: 'maximize' | 'minimize';
}

/** A storage the server was configured with; the client names it only by `id`. */
export interface IStorageInfo {
  id: string;
  label: string;
  error: string | null;
}

/** One row of the panel: a study's summary. */
export interface IStudySummary {
  storage: string;
  name: string;
  space: string | null;
  strategy: string | null;
  objectives: IObjective[];
  status: StudyStatus;
  trials: { done: number; total: number | null; running: number };
  best_accuracy: number | null;
  pareto_size: number;
  feasible: { count: number; evaluated: number };
  /** Epoch seconds. */
  last_update: number | null;
  /** The latest verification of the finalists on the target device, or null before any. */
  verified: IVerifiedRow | null;
}

/**
 * A study's finalists measured on its target device (`nas-workbench device verify`, `run.verify`):
 * the device, the measurements its profile was refitted with (a new verification changes it), and how
 * many trials the device measured within and over the budget.
 */
export interface IVerifiedRow {
  device: string;
  measurements: number;
  within: number;
  over: number;
}

/** A trial whose latency the verification measured on the device, with its verdict. */
export interface IMeasuredTrial {
  number: number;
  arch: string;
  summary: string;
  status: string;
  latency_ms: number;
  within: boolean;
  verdict: string;
}

/** The details' word on a verification: the measured trials, and how the others' latency is labelled. */
export interface IVerification extends IVerifiedRow {
  limit_ms: number;
  /** "predicted for pixel3 from 15 measurements". */
  predicted: string;
  measured: IMeasuredTrial[];
}

export interface IStudyList {
  storages: IStorageInfo[];
  studies: IStudySummary[];
}

/** One figure of a profile: value, unit and how it was obtained. */
export interface IMeasurement {
  value: number;
  unit: string;
  method: string;
  source: string;
  detail?: Record<string, unknown>;
}

/** One row of the `describe()` table of a space: a cell's edge or a network's layer. */
export type DescribeRow = Record<string, unknown>;

/** The payload of application/vnd.nas-workbench.arch+json. */
export interface IArchPayload {
  spec: {
    space: string;
    options: Record<string, unknown>;
    choices: Record<string, unknown>;
  };
  id: string;
  summary: string | null;
  describe: DescribeRow[] | null;
}

/** A stored trial, as the engine records it. */
export interface ITrialRecord {
  number: number;
  status: string;
  spec: IArchPayload['spec'];
  arch: string;
  summary: string;
  metrics: Record<string, IMeasurement>;
  values: number[] | null;
  feasible: boolean;
  reason: string | null;
  duration_s: number | null;
  worker: string | null;
}

export interface IBestTrial extends ITrialRecord {
  device: Record<string, unknown> | null;
  architecture: IArchPayload | null;
}

export interface IStudyDetails extends IStudySummary {
  storage_label: string;
  budget: Record<string, number>;
  config: Record<string, unknown>;
  counts: Record<string, number>;
  pareto: ITrialRecord[];
  best: IBestTrial | null;
  verified: IVerification | null;
}

/** What the panel needs from the server. */
export interface INasApi {
  listStudies(): Promise<IStudyList>;
  studyDetails(storage: string, study: string): Promise<IStudyDetails>;
  /** Write a notebook that loads the study into `directory`; resolves to its path. */
  openInNotebook(
    storage: string,
    study: string,
    directory: string
  ): Promise<string>;
  /** Write a "New NAS search" notebook into `directory`; resolves to its path. */
  newSearchNotebook(directory: string): Promise<string>;
}
