/**
 * The NAS Workbench JupyterLab extension: the side panel of studies, the "New NAS search" command
 * in the launcher and the command palette, and jupyter_bokeh's views kept from sending to a kernel that
 * is gone (bokeh.ts). The architecture renderer is the MIME extension (mime.ts).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';

import { ServerApi } from './api';
import { sendOnlyWhileLive } from './bokeh';
import { nasIcon } from './icons';
import { PanelModel } from './model';
import { NasPanel } from './panel';

namespace CommandIDs {
  export const newSearch = 'nas-workbench:new-search';
  export const openPanel = 'nas-workbench:open-panel';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nas-workbench:plugin',
  description: 'NAS Workbench side panel, launcher card and command.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, ILayoutRestorer, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const api = new ServerApi(app.serviceManager.serverSettings);
    const currentDirectory = (): string => fileBrowser?.model.path ?? '';
    const openPath = (path: string): void =>
      void app.commands.execute('docmanager:open', { path });

    app.commands.addCommand(CommandIDs.newSearch, {
      label: 'New NAS search',
      caption:
        'Create a notebook with a search config and the NAS Workbench widget',
      icon: args => (args.isPalette ? undefined : nasIcon),
      execute: async args => {
        // the launcher passes its folder as `cwd`; the palette uses the file browser's
        const directory =
          typeof args.cwd === 'string' ? args.cwd : currentDirectory();
        try {
          openPath(await api.newSearchNotebook(directory));
        } catch (error) {
          await showErrorMessage('New NAS search', error as Error);
        }
      }
    });

    const panel = new NasPanel({
      model: new PanelModel(api),
      currentDirectory,
      openPath,
      newSearch: () => void app.commands.execute(CommandIDs.newSearch)
    });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Show NAS Workbench studies',
      execute: () => app.shell.activateById(panel.id)
    });

    launcher?.add({
      command: CommandIDs.newSearch,
      category: 'NAS Workbench',
      rank: 0
    });
    for (const command of [CommandIDs.newSearch, CommandIDs.openPanel]) {
      palette?.addItem({ command, category: 'NAS Workbench' });
    }
  }
};

/**
 * After a kernel restart, the live plots of the previous kernel's workbench (jupyter_bokeh views) drop
 * what they would send over their disposed comms, instead of throwing "Cannot send" page errors.
 */
const bokehViews: JupyterFrontEndPlugin<void> = {
  id: 'nas-workbench:bokeh-views',
  description:
    "Stops jupyter_bokeh's widget views sending once their kernel is gone.",
  autoStart: true,
  activate: async () => {
    let jupyterBokeh: typeof import('@bokeh/jupyter_bokeh');
    try {
      jupyterBokeh = await import('@bokeh/jupyter_bokeh');
    } catch {
      return; // jupyter_bokeh is not installed in this JupyterLab: there are no such views
    }
    sendOnlyWhileLive(jupyterBokeh.BokehView);
  }
};

export default [plugin, bokehViews];
