/**
 * The state of the NAS Workbench panel, apart from any DOM: the studies, the selected study's details,
 * errors, and how often to refresh. The view renders it and calls `refresh` on a timer; tests drive it
 * with an in-memory `INasApi`.
 */
import { ISignal, Signal } from '@lumino/signaling';

import type {
  INasApi,
  IStorageInfo,
  IStudyDetails,
  IStudySummary,
  IVerifiedRow,
  StudyStatus
} from './types';

/** A study is named by its storage id and its name. */
export interface IStudyKey {
  storage: string;
  name: string;
}

export namespace PanelModel {
  export interface IOptions {
    /** Refresh interval while a search runs (ms). */
    busyInterval?: number;
    /** Refresh interval when nothing runs (ms): new searches still show up. */
    idleInterval?: number;
  }
}

/** Running searches first, then the most recently updated. */
const STATUS_ORDER: Record<StudyStatus, number> = {
  running: 0,
  failed: 1,
  stopped: 1,
  finished: 1
};

export function sameStudy(a: IStudyKey | null, b: IStudyKey | null): boolean {
  return (
    a !== null && b !== null && a.storage === b.storage && a.name === b.name
  );
}

/** Whether two rows say the same verification (none, or the same device and measurements). */
function sameVerification(
  a: IVerifiedRow | null | undefined,
  b: IVerifiedRow | null | undefined
): boolean {
  return (
    (a ?? null) === (b ?? null) ||
    (!!a && !!b && a.device === b.device && a.measurements === b.measurements)
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class PanelModel {
  constructor(
    private readonly api: INasApi,
    options: PanelModel.IOptions = {}
  ) {
    this.busyInterval = options.busyInterval ?? 2000;
    this.idleInterval = options.idleInterval ?? 15000;
  }

  readonly busyInterval: number;
  readonly idleInterval: number;

  /** Emitted after any change of state. */
  get changed(): ISignal<PanelModel, void> {
    return this._changed;
  }

  /** Studies of every storage, running first, then the most recently updated. */
  get studies(): readonly IStudySummary[] {
    return this._studies;
  }

  /** The configured storages, each with its read error (or null). */
  get storages(): readonly IStorageInfo[] {
    return this._storages;
  }

  /** Why the last listing failed (the server is unreachable, ...), or null. */
  get error(): string | null {
    return this._error;
  }

  /** Whether a listing has arrived yet. */
  get loaded(): boolean {
    return this._loaded;
  }

  get selected(): IStudyKey | null {
    return this._selected;
  }

  /** Details of the selected study, once they have arrived. */
  get details(): IStudyDetails | null {
    return this._details;
  }

  /** Why the selected study's details could not be read, or null. */
  get detailsError(): string | null {
    return this._detailsError;
  }

  get anyRunning(): boolean {
    return this._studies.some(study => study.status === 'running');
  }

  /**
   * How long to wait before the next refresh: short while a search runs, or while a study's details
   * are shown (a notebook cell may verify its finalists on the device: the verdicts show at once).
   */
  get refreshInterval(): number {
    return this.anyRunning || this._selected !== null
      ? this.busyInterval
      : this.idleInterval;
  }

  /**
   * Fetch the list of studies, and the selected study's details again when its row changed (a running
   * search's details change with every trial; a verification on the device judges its trials again)
   * or could not be read last time.
   */
  async refresh(): Promise<void> {
    let before: IStudySummary | undefined;
    try {
      const listing = await this.api.listStudies();
      before = this.findRow(this._selected);
      this._storages = listing.storages;
      this._studies = [...listing.studies].sort(
        (a, b) =>
          STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
          (b.last_update ?? 0) - (a.last_update ?? 0) ||
          a.name.localeCompare(b.name)
      );
      this._error = null;
    } catch (error) {
      this._error = message(error);
      this._changed.emit();
      return;
    }
    this._loaded = true;
    const after = this.findRow(this._selected);
    this._changed.emit();
    if (
      this._selected !== null &&
      after !== undefined &&
      (before === undefined ||
        before.last_update !== after.last_update ||
        before.status !== after.status ||
        !sameVerification(before.verified, after.verified) ||
        this._detailsError !== null)
    ) {
      await this.loadDetails(this._selected);
    }
  }

  /** Show the details of `key` (null: back to the list). */
  async select(key: IStudyKey | null): Promise<void> {
    if (sameStudy(key, this._selected)) {
      return;
    }
    this._selected = key;
    this._details = null;
    this._detailsError = null;
    this._changed.emit();
    if (key !== null) {
      await this.loadDetails(key);
    }
  }

  /** Write a notebook that loads the selected study into `directory`; resolves to its path. */
  async openInNotebook(directory: string): Promise<string> {
    const key = this._selected;
    if (key === null) {
      throw new Error('no study is selected');
    }
    return this.api.openInNotebook(key.storage, key.name, directory);
  }

  private findRow(key: IStudyKey | null): IStudySummary | undefined {
    return this._studies.find(study =>
      sameStudy(key, { storage: study.storage, name: study.name })
    );
  }

  /** Answers that arrive after the user selected another study are dropped. */
  private async loadDetails(key: IStudyKey): Promise<void> {
    const ticket = ++this._ticket;
    try {
      const details = await this.api.studyDetails(key.storage, key.name);
      if (ticket !== this._ticket || !sameStudy(key, this._selected)) {
        return;
      }
      this._details = details;
      this._detailsError = null;
    } catch (error) {
      if (ticket !== this._ticket || !sameStudy(key, this._selected)) {
        return;
      }
      this._detailsError = message(error);
    }
    this._changed.emit();
  }

  private _changed = new Signal<PanelModel, void>(this);
  private _studies: IStudySummary[] = [];
  private _storages: IStorageInfo[] = [];
  private _error: string | null = null;
  private _loaded = false;
  private _selected: IStudyKey | null = null;
  private _details: IStudyDetails | null = null;
  private _detailsError: string | null = null;
  private _ticket = 0;
}
