/**
 * The MIME renderer of architecture specs: `ArchSpec._repr_mimebundle_` emits
 * application/vnd.nas-workbench.arch+json, drawn here as a cell's DAG or a network's blocks.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { renderArchitecture } from './archview';
import type { IArchPayload } from './types';

export const MIME_TYPE = 'application/vnd.nas-workbench.arch+json';

export class ArchitectureRenderer
  extends Widget
  implements IRenderMime.IRenderer
{
  constructor(private readonly mimeType: string) {
    super();
    this.addClass('nasw-ArchitectureOutput');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = model.data[this.mimeType] as unknown as IArchPayload;
    this.node.replaceChildren(renderArchitecture(payload));
    return Promise.resolve();
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  // safe: the payload is drawn with textContent and SVG attributes, never parsed as HTML
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: 10, // before text/html (50), the fallback
  createRenderer: options => new ArchitectureRenderer(options.mimeType)
};

const extension: IRenderMime.IExtension = {
  id: 'nas-workbench:architecture-renderer',
  description: 'Draws NAS Workbench architecture specs.',
  rendererFactory,
  dataType: 'json'
};

export default extension;
