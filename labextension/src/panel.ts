/**
 * The "NAS Workbench" side panel: the studies of the configured storages, and a study's details (its
 * Pareto front and best architecture with its profile) with "Open in notebook". It polls the server
 * while it is shown: every 2 s while a search runs or a study's details are shown, every 15 s otherwise,
 * backing off when the server cannot be reached. A study whose finalists were measured on its target
 * device says so in its row, and its details list which trials the device measured within or over the
 * budget; the Pareto front labels each latency "measured on <device>" or "predicted for <device>".
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { addIcon, LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { renderArchitecture } from './archview';
import {
  formatAccuracy,
  formatAgo,
  formatDeviceLatency,
  formatFeasible,
  formatMeasurement,
  formatObjective,
  formatTrials
} from './format';
import { nasIcon } from './icons';
import { PanelModel } from './model';
import type { IStudyDetails, IStudySummary, IVerification } from './types';

export namespace NasPanel {
  export interface IOptions {
    model: PanelModel;
    /** The folder new notebooks go to (the file browser's). */
    currentDirectory: () => string;
    /** Open a notebook the server wrote. */
    openPath: (path: string) => void;
    /** Run the "New NAS search" command. */
    newSearch: () => void;
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function iconButton(
  icon: LabIcon,
  title: string,
  onClick: () => void
): HTMLButtonElement {
  const node = element('button', 'jp-ToolbarButtonComponent nasw-IconButton');
  node.title = title;
  node.setAttribute('aria-label', title);
  icon.element({ container: node });
  node.addEventListener('click', onClick);
  return node;
}

function button(
  label: string,
  title: string,
  onClick: () => void
): HTMLButtonElement {
  const node = element('button', 'jp-Button jp-mod-styled nasw-Button', label);
  node.title = title;
  node.addEventListener('click', onClick);
  return node;
}

function statusBadge(status: string): HTMLElement {
  return element('span', `nasw-Status nasw-Status-${status}`, status);
}

/** "name value" lines of a definition list. */
function facts(entries: [string, string][]): HTMLElement {
  const list = element('dl', 'nasw-Facts');
  for (const [name, value] of entries) {
    list.append(
      element('dt', undefined, name),
      element('dd', undefined, value)
    );
  }
  return list;
}

export class NasPanel extends Widget {
  constructor(options: NasPanel.IOptions) {
    super();
    this.model = options.model;
    this._options = options;
    this.id = 'nas-workbench-panel';
    this.addClass('nasw-Panel');
    this.title.icon = nasIcon;
    this.title.caption = 'NAS Workbench';

    const header = element('div', 'nasw-Header');
    header.append(
      element('h2', undefined, 'NAS Workbench'),
      iconButton(
        addIcon,
        'New NAS search: a notebook with a search config, in the current folder',
        options.newSearch
      ),
      iconButton(
        refreshIcon,
        'Refresh the studies',
        () => void this._poll.refresh()
      )
    );
    this._body = element('div', 'nasw-Body');
    this.node.append(header, this._body);

    this._poll = new Poll({
      auto: false,
      factory: async () => {
        await this.model.refresh();
        if (this.model.error !== null) {
          throw new Error(this.model.error); // the poll backs off while the server is unreachable
        }
      },
      frequency: {
        interval: this.model.idleInterval,
        backoff: true,
        max: 60_000
      },
      name: 'nas-workbench:studies',
      standby: 'when-hidden'
    });
    this.model.changed.connect(this._onModelChanged, this);
    this._render();
  }

  readonly model: PanelModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    this.model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._poll.start();
    void this._poll.refresh();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    void this._poll.stop();
  }

  private _onModelChanged(): void {
    const interval = this.model.refreshInterval;
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
    this._render();
  }

  private _render(): void {
    const model = this.model;
    const content: HTMLElement[] = [];
    if (model.error !== null) {
      content.push(
        element('div', 'nasw-Error', `Cannot list the studies: ${model.error}`)
      );
    }
    content.push(
      model.selected === null ? this._renderList() : this._renderDetails()
    );
    this._body.replaceChildren(...content);
  }

  private _renderList(): HTMLElement {
    const model = this.model;
    const list = element('div', 'nasw-List');
    if (!model.loaded) {
      list.append(element('p', 'nasw-Note', 'Loading studies…'));
      return list;
    }
    if (model.studies.length === 0) {
      list.append(
        element(
          'p',
          'nasw-Note',
          'No studies yet. Start one with "New NAS search"; it is stored in runs/nas_workbench.db.'
        )
      );
    }
    const now = Date.now();
    for (const study of model.studies) {
      list.append(this._renderRow(study, now));
    }
    for (const storage of model.storages) {
      if (storage.error !== null) {
        list.append(element('div', 'nasw-StorageError', storage.error));
      }
    }
    return list;
  }

  private _renderRow(study: IStudySummary, now: number): HTMLElement {
    const row = element('div', 'nasw-StudyRow');
    row.tabIndex = 0;
    row.dataset.study = study.name;
    row.title = `Show the details of ${study.name}`;
    const top = element('div', 'nasw-StudyTop');
    top.append(
      element('span', 'nasw-StudyName', study.name),
      statusBadge(study.status)
    );
    const stats = element('div', 'nasw-StudyStats');
    stats.append(
      element('span', undefined, `${formatTrials(study.trials)} trials`),
      element('span', undefined, `best ${formatAccuracy(study.best_accuracy)}`),
      element('span', undefined, `Pareto ${study.pareto_size}`),
      element('span', undefined, `${formatFeasible(study.feasible)} feasible`),
      element('span', 'nasw-Ago', formatAgo(study.last_update, now))
    );
    if (study.verified !== null) {
      const { device, within, over } = study.verified;
      stats.append(
        element(
          'span',
          `nasw-Verified${over ? ' nasw-mod-over' : ''}`,
          `measured on ${device}: ${within} within, ${over} over`
        )
      );
    }
    const space = [study.space, study.strategy].filter(Boolean).join(' · ');
    row.append(top, stats);
    if (space) {
      row.append(element('div', 'nasw-StudySpace', space));
    }
    const open = (): void =>
      void this.model.select({ storage: study.storage, name: study.name });
    row.addEventListener('click', open);
    row.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return row;
  }

  private _renderDetails(): HTMLElement {
    const model = this.model;
    const key = model.selected!;
    const view = element('div', 'nasw-Details');
    const bar = element('div', 'nasw-DetailsBar');
    bar.append(
      button(
        '← Studies',
        'Back to the list of studies',
        () => void model.select(null)
      ),
      button(
        'Open in notebook',
        'Create a notebook that loads this study into the workbench',
        () => void this._openInNotebook()
      )
    );
    view.append(bar);
    const title = element('h3', 'nasw-DetailsTitle', key.name);
    view.append(title);
    if (model.detailsError !== null) {
      view.append(element('div', 'nasw-Error', model.detailsError));
      return view;
    }
    const details = model.details;
    if (details === null) {
      view.append(element('p', 'nasw-Note', 'Loading…'));
      return view;
    }
    title.append(statusBadge(details.status));
    view.append(
      this._renderFacts(details),
      ...this._renderVerified(details.verified),
      ...this._renderBest(details),
      ...this._renderPareto(details)
    );
    return view;
  }

  private _renderFacts(details: IStudyDetails): HTMLElement {
    const objectives = details.objectives
      .map(o => `${o.direction === 'maximize' ? 'max' : 'min'} ${o.metric}`)
      .join(', ');
    const budget = Object.entries(details.budget)
      .map(([metric, limit]) => `${metric} ≤ ${limit}`)
      .join(', ');
    const counts = Object.entries(details.counts)
      .map(([status, count]) => `${count} ${status}`)
      .join(', ');
    return facts([
      ['Storage', details.storage_label],
      ['Space', details.space ?? '–'],
      ['Strategy', details.strategy ?? '–'],
      ['Objectives', objectives],
      ['Budget', budget || 'none'],
      [
        'Trials',
        `${formatTrials(details.trials)}${counts ? ` (${counts})` : ''}`
      ],
      ['Updated', formatAgo(details.last_update, Date.now())]
    ]);
  }

  /** The trials the target device measured, within or over the budget, and how the rest is judged. */
  private _renderVerified(verified: IVerification | null): HTMLElement[] {
    if (verified === null) {
      return [];
    }
    const { device, measured } = verified;
    const heading = element(
      'h4',
      undefined,
      `Measured on ${device} (${verified.within} within, ${verified.over} over ${verified.limit_ms} ms)`
    );
    const note = element(
      'p',
      'nasw-Note',
      `The other trials' latency is ${verified.predicted}.`
    );
    if (measured.length === 0) {
      return [heading, note];
    }
    const table = element('table', 'nasw-Table nasw-Measured');
    const head = table.createTHead().insertRow();
    for (const name of ['#', 'Latency', 'Verdict', 'Architecture']) {
      head.append(element('th', undefined, name));
    }
    const body = table.createTBody();
    for (const trial of measured) {
      const line = body.insertRow();
      line.className = trial.within ? 'nasw-mod-within' : 'nasw-mod-over';
      const verdict = element(
        'td',
        'nasw-Verdict',
        `${trial.within ? 'within' : 'OVER'}${trial.status === 'ok' ? '' : ` (${trial.status})`}`
      );
      verdict.title = trial.verdict;
      const arch = element('td', 'nasw-Arch', trial.summary || trial.arch);
      arch.title = trial.arch;
      line.append(
        element('td', undefined, String(trial.number)),
        element(
          'td',
          undefined,
          `${Number(trial.latency_ms.toPrecision(4))} ms`
        ),
        verdict,
        arch
      );
    }
    return [heading, table, note];
  }

  private _renderBest(details: IStudyDetails): HTMLElement[] {
    const best = details.best;
    if (best === null) {
      return [element('p', 'nasw-Note', 'No feasible architecture yet.')];
    }
    const nodes: HTMLElement[] = [
      element('h4', undefined, `Best architecture (trial ${best.number})`)
    ];
    if (best.architecture !== null) {
      nodes.push(renderArchitecture(best.architecture));
    } else {
      nodes.push(element('code', undefined, best.summary || best.arch));
    }
    const table = element('table', 'nasw-Table nasw-Profile');
    const head = table.createTHead().insertRow();
    for (const name of ['Metric', 'Value', 'Method', 'Source']) {
      head.append(element('th', undefined, name));
    }
    const body = table.createTBody();
    for (const [metric, measurement] of Object.entries(best.metrics)) {
      const line = body.insertRow();
      line.append(
        element('td', undefined, metric),
        element('td', undefined, formatMeasurement(measurement)),
        element('td', undefined, measurement.method),
        element('td', undefined, measurement.source)
      );
    }
    nodes.push(table);
    if (best.device) {
      const device = Object.entries(best.device)
        .filter(([, value]) => value !== null && value !== undefined)
        .map(([name, value]) => `${name}: ${String(value)}`)
        .join(', ');
      nodes.push(element('p', 'nasw-Note', `Measured on ${device}`));
    }
    return nodes;
  }

  private _renderPareto(details: IStudyDetails): HTMLElement[] {
    const heading = element(
      'h4',
      undefined,
      `Pareto front (${details.pareto.length})`
    );
    if (details.pareto.length === 0) {
      return [heading, element('p', 'nasw-Note', 'No feasible trial yet.')];
    }
    const table = element('table', 'nasw-Table nasw-Pareto');
    const head = table.createTHead().insertRow();
    head.append(element('th', undefined, '#'));
    for (const objective of details.objectives) {
      head.append(element('th', undefined, objective.metric));
    }
    const device = details.verified?.device ?? null;
    if (device !== null) {
      head.append(element('th', undefined, `Latency on ${device}`));
    }
    head.append(element('th', undefined, 'Architecture'));
    const body = table.createTBody();
    for (const trial of details.pareto) {
      const line = body.insertRow();
      line.append(element('td', undefined, String(trial.number)));
      details.objectives.forEach((objective, index) => {
        const value = trial.values?.[index];
        line.append(
          element(
            'td',
            undefined,
            value === undefined ? '–' : formatObjective(objective.metric, value)
          )
        );
      });
      const latency = trial.metrics.latency_ms;
      if (device !== null) {
        const cell = element(
          'td',
          'nasw-DeviceLatency',
          latency ? formatDeviceLatency(latency, device) : '–'
        );
        cell.title = latency?.source ?? '';
        line.append(cell);
      }
      const arch = element('td', 'nasw-Arch', trial.summary || trial.arch);
      arch.title = trial.arch;
      line.append(arch);
    }
    return [heading, table];
  }

  private async _openInNotebook(): Promise<void> {
    try {
      const path = await this.model.openInNotebook(
        this._options.currentDirectory()
      );
      this._options.openPath(path);
    } catch (error) {
      await showErrorMessage('Open in notebook', error as Error);
    }
  }

  private readonly _options: NasPanel.IOptions;
  private readonly _body: HTMLElement;
  private readonly _poll: Poll;
}
