import { describe, expect, it } from 'vitest';

import { type ISendingView, sendOnlyWhileLive } from '../src/bokeh';

/** A view class like jupyter_bokeh's BokehView: `send` hands the message to its model's comm. */
function viewClass(sent: unknown[][]) {
  return class implements ISendingView {
    constructor(readonly model: { comm_live: boolean }) {}
    send(content: unknown, buffers?: unknown): void {
      if (!this.model.comm_live) {
        throw new Error('Cannot send'); // as JupyterLab's CommHandler.send once the comm is disposed
      }
      sent.push([content, buffers]);
    }
  };
}

describe('sendOnlyWhileLive', () => {
  it('lets a view whose comm is live send its message and buffers', () => {
    const sent: unknown[][] = [];
    const View = viewClass(sent);
    sendOnlyWhileLive(View);
    new View({ comm_live: true }).send({ event: 'jsevent' }, ['buffer']);
    expect(sent).toEqual([[{ event: 'jsevent' }, ['buffer']]]);
  });

  it('drops what a view sends once its comm is gone, instead of throwing', () => {
    const sent: unknown[][] = [];
    const View = viewClass(sent);
    const model = { comm_live: true };
    const view = new View(model);
    expect(() => view.send('before')).not.toThrow();
    model.comm_live = false; // the kernel restarted: the widget manager marks the model
    expect(() => view.send('after')).toThrow('Cannot send'); // the patch is per class, not yet applied
    sendOnlyWhileLive(View);
    expect(() => view.send('after')).not.toThrow();
    model.comm_live = true;
    view.send('again');
    expect(sent.map(([content]) => content)).toEqual(['before', 'again']);
  });
});
