/** The NAS Workbench icon: a small network of three layers, in JupyterLab's icon colours. */
import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="4" cy="6" r="2.2"/><circle cx="4" cy="18" r="2.2"/>
    <circle cx="12" cy="4" r="2.2"/><circle cx="12" cy="12" r="2.2"/><circle cx="12" cy="20" r="2.2"/>
    <circle cx="20" cy="12" r="2.6"/>
  </g>
  <g class="jp-icon3" stroke="#616161" stroke-width="1.1" fill="none">
    <path d="M4 6 12 4M4 6 12 12M4 18 12 12M4 18 12 20M12 4 20 12M12 12 20 12M12 20 20 12"/>
  </g>
</svg>`;

export const nasIcon = new LabIcon({ name: 'nas-workbench:icon', svgstr });
