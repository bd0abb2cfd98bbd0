/**
 * jupyter_bokeh's widget views stop sending once their kernel is gone.
 *
 * jupyter_bokeh's `BokehView` forwards every change of its Bokeh document to the kernel with
 * `DOMWidgetView.send`, and stays subscribed to that document after the view is removed. A kernel
 * restart disposes the comms of every widget (the widget manager marks their models `comm_live =
 * false`). When the notebook is run again, JupyterLab removes the old output; BokehJS lays the now
 * detached plots out once more (a ResizeObserver callback, then a repaint) and sets each plot's sizes,
 * and the old view sends these changes over its disposed comm, where JupyterLab's `CommHandler.send`
 * throws "Cannot send": one page error per plot. ipywidgets' `save_changes` already skips a model whose
 * comm is not live, but `send` (custom messages, the only kind jupyter_bokeh sends) does not.
 * `sendOnlyWhileLive` makes the view's `send` skip such messages too: no kernel could receive them.
 */

/** What `sendOnlyWhileLive` uses of a widget view: its model's comm state and its `send`. */
export interface ISendingView {
  readonly model: { readonly comm_live: boolean };
  send(content: unknown, buffers?: unknown): void;
}

/**
 * Make the `send` of every view of class `view` a no-op while its model's comm is not live (closed,
 * or disposed by a kernel restart); live views send as before.
 */
export function sendOnlyWhileLive(view: { prototype: ISendingView }): void {
  const send = view.prototype.send;
  view.prototype.send = function (
    this: ISendingView,
    content: unknown,
    buffers?: unknown
  ): void {
    if (this.model.comm_live) {
      send.call(this, content, buffers);
    }
  };
}
