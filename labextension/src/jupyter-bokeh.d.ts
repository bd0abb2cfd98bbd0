/**
 * The part of jupyter_bokeh's JupyterLab extension that this extension uses. It is taken from
 * JupyterLab's shared modules at run time (package.json: `sharedPackages`, never bundled), so it is
 * not an npm dependency.
 */
declare module '@bokeh/jupyter_bokeh' {
  export class BokehView {
    readonly model: { readonly comm_live: boolean };
    send(content: unknown, buffers?: unknown): void;
  }
}
