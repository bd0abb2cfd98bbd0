import { describe, expect, it } from 'vitest';

import { PanelModel } from '../src/model';
import type {
  INasApi,
  IStudyDetails,
  IStudyList,
  IStudySummary,
  StudyStatus
} from '../src/types';

function summary(
  name: string,
  status: StudyStatus,
  lastUpdate: number,
  storage = 'aaaaaaaaaaaa'
): IStudySummary {
  return {
    storage,
    name,
    space: 'chain',
    strategy: 'tpe',
    objectives: [{ metric: 'accuracy', direction: 'maximize' }],
    status,
    trials: { done: 3, total: 10, running: status === 'running' ? 1 : 0 },
    best_accuracy: 0.9,
    pareto_size: 2,
    feasible: { count: 2, evaluated: 3 },
    last_update: lastUpdate,
    verified: null
  };
}

function details(row: IStudySummary): IStudyDetails {
  return {
    ...row,
    storage_label: 'runs/nas_workbench.db',
    budget: {},
    config: {},
    counts: {},
    pareto: [],
    best: null,
    verified:
      row.verified === null
        ? null
        : {
            ...row.verified,
            limit_ms: 8.5,
            predicted: 'predicted',
            measured: []
          }
  };
}

/** A deferred answer, so a test decides when (and in which order) the server replies. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An in-memory server: a listing the test edits, and a log of the details asked for. */
class FakeApi implements INasApi {
  listing: IStudyList = { storages: [], studies: [] };
  listError: Error | null = null;
  detailsAsked: string[] = [];
  pending = new Map<string, ReturnType<typeof deferred<IStudyDetails>>>();
  manual = false;

  listStudies(): Promise<IStudyList> {
    return this.listError
      ? Promise.reject(this.listError)
      : Promise.resolve(structuredClone(this.listing));
  }

  studyDetails(storage: string, study: string): Promise<IStudyDetails> {
    this.detailsAsked.push(study);
    const row = this.listing.studies.find(
      s => s.storage === storage && s.name === study
    );
    if (this.manual) {
      const answer = deferred<IStudyDetails>();
      this.pending.set(study, answer);
      return answer.promise;
    }
    return row
      ? Promise.resolve(details(row))
      : Promise.reject(new Error(`no study named '${study}'`));
  }

  openInNotebook(
    storage: string,
    study: string,
    directory: string
  ): Promise<string> {
    return Promise.resolve(`${directory}/${study}.ipynb (${storage})`);
  }

  newSearchNotebook(directory: string): Promise<string> {
    return Promise.resolve(`${directory}/nas_search.ipynb`);
  }
}

describe('PanelModel', () => {
  it('lists running studies first, then the most recently updated', async () => {
    const api = new FakeApi();
    api.listing.studies = [
      summary('old', 'finished', 100),
      summary('new', 'stopped', 300),
      summary('live', 'running', 200)
    ];
    const model = new PanelModel(api);
    expect(model.loaded).toBe(false);
    await model.refresh();
    expect(model.loaded).toBe(true);
    expect(model.studies.map(s => s.name)).toEqual(['live', 'new', 'old']);
  });

  it('refreshes fast while a search runs and slowly otherwise', async () => {
    const api = new FakeApi();
    const model = new PanelModel(api, {
      busyInterval: 1000,
      idleInterval: 9000
    });
    api.listing.studies = [summary('a', 'finished', 1)];
    await model.refresh();
    expect(model.anyRunning).toBe(false);
    expect(model.refreshInterval).toBe(9000);
    api.listing.studies = [summary('a', 'running', 2)];
    await model.refresh();
    expect(model.refreshInterval).toBe(1000);
  });

  it('keeps the last listing and reports the error when the server fails', async () => {
    const api = new FakeApi();
    api.listing.studies = [summary('a', 'finished', 1)];
    const model = new PanelModel(api);
    await model.refresh();
    api.listError = new Error('Failed to fetch');
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(model.error).toBe('Failed to fetch');
    expect(model.studies.map(s => s.name)).toEqual(['a']);
    expect(changes).toBe(1);
    api.listError = null;
    await model.refresh();
    expect(model.error).toBeNull();
  });

  it('loads the details of the selected study, and again only when its row changes', async () => {
    const api = new FakeApi();
    api.listing.studies = [
      summary('a', 'running', 1),
      summary('b', 'finished', 1)
    ];
    const model = new PanelModel(api);
    await model.refresh();
    await model.select({ storage: 'aaaaaaaaaaaa', name: 'a' });
    expect(model.details?.name).toBe('a');
    await model.refresh(); // nothing changed
    expect(api.detailsAsked).toEqual(['a']);
    api.listing.studies[0] = summary('a', 'running', 2); // a trial finished
    await model.refresh();
    expect(api.detailsAsked).toEqual(['a', 'a']);
    api.listing.studies[1] = summary('b', 'finished', 5); // another study's row
    await model.refresh();
    expect(api.detailsAsked).toEqual(['a', 'a']);
    await model.select(null);
    expect(model.details).toBeNull();
  });

  it('loads the details again when the study is verified on its device', async () => {
    const api = new FakeApi();
    api.listing.studies = [summary('a', 'finished', 1)];
    const model = new PanelModel(api, {
      busyInterval: 1000,
      idleInterval: 9000
    });
    await model.refresh();
    expect(model.refreshInterval).toBe(9000);
    await model.select({ storage: 'aaaaaaaaaaaa', name: 'a' });
    expect(model.refreshInterval).toBe(1000); // a notebook cell may verify it: poll as for a search
    expect(model.details?.verified).toBeNull();
    const verified = { device: 'pixel3', measurements: 15, within: 2, over: 1 };
    api.listing.studies[0] = { ...summary('a', 'finished', 1), verified }; // no trial finished
    await model.refresh();
    expect(api.detailsAsked).toEqual(['a', 'a']);
    expect(model.details?.verified?.over).toBe(1);
    await model.refresh(); // the same verification
    expect(api.detailsAsked).toEqual(['a', 'a']);
    api.listing.studies[0] = {
      ...summary('a', 'finished', 1),
      verified: { ...verified, measurements: 17, within: 4 }
    }; // verified again with two more
    await model.refresh();
    expect(api.detailsAsked).toEqual(['a', 'a', 'a']);
    expect(model.details?.verified?.within).toBe(4);
    await model.select(null);
    expect(model.refreshInterval).toBe(9000);
  });

  it('tells studies of the same name in different storages apart', async () => {
    const api = new FakeApi();
    api.listing.studies = [
      summary('same', 'finished', 1, 'aaaaaaaaaaaa'),
      { ...summary('same', 'failed', 2, 'bbbbbbbbbbbb') }
    ];
    const model = new PanelModel(api);
    await model.refresh();
    await model.select({ storage: 'bbbbbbbbbbbb', name: 'same' });
    expect(model.details?.status).toBe('failed');
    expect(await model.openInNotebook('sub')).toBe(
      'sub/same.ipynb (bbbbbbbbbbbb)'
    );
  });

  it('drops details that arrive after another study was selected', async () => {
    const api = new FakeApi();
    api.listing.studies = [
      summary('a', 'finished', 1),
      summary('b', 'finished', 1)
    ];
    const model = new PanelModel(api);
    await model.refresh();
    api.manual = true;
    const first = model.select({ storage: 'aaaaaaaaaaaa', name: 'a' });
    const second = model.select({ storage: 'aaaaaaaaaaaa', name: 'b' });
    api.pending.get('b')!.resolve(details(api.listing.studies[1]));
    await second;
    api.pending.get('a')!.resolve(details(api.listing.studies[0]));
    await first;
    expect(model.selected?.name).toBe('b');
    expect(model.details?.name).toBe('b');
  });

  it('reports details that cannot be read, and retries on the next refresh', async () => {
    const api = new FakeApi();
    api.listing.studies = [summary('a', 'finished', 1)];
    const model = new PanelModel(api);
    await model.refresh();
    await model.select({ storage: 'aaaaaaaaaaaa', name: 'gone' });
    expect(model.detailsError).toBe("no study named 'gone'");
    expect(model.details).toBeNull();
    api.listing.studies.push(summary('gone', 'finished', 3));
    await model.refresh();
    expect(model.detailsError).toBeNull();
    expect(model.details?.name).toBe('gone');
  });

  it('needs a selected study to open one in a notebook', async () => {
    const model = new PanelModel(new FakeApi());
    await expect(model.openInNotebook('')).rejects.toThrow(
      'no study is selected'
    );
  });
});
