/**
 * Architecture diagrams from a space's `describe()` rows: a cell's DAG (rows `{from, to, op}`), or a
 * network's blocks top to bottom (rows `{block, op, channels_in, channels_out, stride, ...}`, with
 * `branches`/`combine` for a multi-branch block). Layout is pure (and unit-tested); drawing builds SVG
 * with `textContent` only, so nothing in a payload is ever parsed as markup.
 */
import type { DescribeRow, IArchPayload } from './types';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Ops are coloured by family. */
export type OpFamily = 'conv' | 'pool' | 'skip' | 'none' | 'other';

export function opFamily(op: string): OpFamily {
  const name = op.toLowerCase();
  if (name === 'none' || name === 'zero') {
    return 'none';
  }
  if (name.includes('skip') || name.includes('identity')) {
    return 'skip';
  }
  if (name.includes('pool')) {
    return 'pool';
  }
  if (name.includes('conv') || name.includes('sep')) {
    return 'conv'; // dwsep: depthwise-separable convolution
  }
  return 'other';
}

// -- cells ---------------------------------------------------------------------------------------------

export interface ICellEdge {
  from: number;
  to: number;
  op: string;
  family: OpFamily;
  /** SVG path data. */
  path: string;
  labelX: number;
  labelY: number;
}

export interface ICellLayout {
  width: number;
  height: number;
  nodes: { id: number; x: number; y: number; label: string }[];
  edges: ICellEdge[];
}

const NODE_GAP = 130;
const MARGIN = 16;
const LABEL_ROOM = 16;

/** Rows of a cell: each an edge with numeric `from`, `to` and a string `op`. */
export function isCellRows(rows: DescribeRow[]): boolean {
  return (
    rows.length > 0 &&
    rows.every(
      row =>
        typeof row.from === 'number' &&
        typeof row.to === 'number' &&
        typeof row.op === 'string'
    )
  );
}

/**
 * Nodes left to right (the cell's input first, its output last); an edge between neighbours is a
 * straight line, a longer one an arc whose height grows with its span, above from even nodes and below
 * from odd ones so that crossing spans do not overlap. "none" edges (no connection) are not drawn.
 */
export function layoutCell(rows: DescribeRow[]): ICellLayout {
  const ids = [
    ...new Set(rows.flatMap(row => [row.from as number, row.to as number]))
  ].sort((a, b) => a - b);
  const column = new Map(ids.map((id, index) => [id, index]));
  const drawn = rows.filter(row => opFamily(row.op as string) !== 'none');
  const bulge = (span: number): number => 26 * (span - 1) + 18;
  let up = 0;
  let down = 0;
  for (const row of drawn) {
    const span =
      column.get(row.to as number)! - column.get(row.from as number)!;
    if (span > 1) {
      if ((row.from as number) % 2 === 0) {
        up = Math.max(up, bulge(span));
      } else {
        down = Math.max(down, bulge(span));
      }
    }
  }
  const y = MARGIN + up + LABEL_ROOM;
  const x = (id: number): number => MARGIN + 14 + column.get(id)! * NODE_GAP;
  const last = ids[ids.length - 1];
  const nodes = ids.map(id => ({
    id,
    x: x(id),
    y,
    label: id === ids[0] ? 'in' : id === last ? 'out' : String(id)
  }));
  const edges = drawn.map(row => {
    const from = row.from as number;
    const to = row.to as number;
    const op = row.op as string;
    const [x1, x2] = [x(from), x(to)];
    const span = column.get(to)! - column.get(from)!;
    if (span <= 1) {
      return {
        from,
        to,
        op,
        family: opFamily(op),
        path: `M ${x1 + 14} ${y} L ${x2 - 14} ${y}`,
        labelX: (x1 + x2) / 2,
        labelY: y - 6
      };
    }
    const sign = from % 2 === 0 ? -1 : 1;
    const height = bulge(span);
    const middle = (x1 + x2) / 2;
    // a quadratic curve peaks halfway to its control point
    return {
      from,
      to,
      op,
      family: opFamily(op),
      path: `M ${x1} ${y + sign * 14} Q ${middle} ${y + sign * 2 * height} ${x2} ${y + sign * 14}`,
      labelX: middle,
      labelY: y + sign * (height + 7) + (sign > 0 ? 8 : 0)
    };
  });
  return {
    width: 2 * MARGIN + 28 + (ids.length - 1) * NODE_GAP,
    height: y + 14 + down + LABEL_ROOM + MARGIN,
    nodes,
    edges
  };
}

// -- networks of blocks --------------------------------------------------------------------------------

export interface IBlockBox {
  y: number;
  height: number;
  title: string;
  /** The op with its kernel and expansion, e.g. "mbconv k5 e6". */
  op: string;
  family: OpFamily;
  /** The parallel branches of a multi-branch block (empty otherwise). */
  branches: string[];
  combine: string | null;
  /** Channels in → out, stride and output shape. */
  shape: string;
  /** The block adds its input (a residual or skip connection). */
  residual: boolean;
}

export interface ILayersLayout {
  width: number;
  height: number;
  boxes: IBlockBox[];
}

const BOX_WIDTH = 240;
const BOX_HEIGHT = 44;
const BRANCH_HEIGHT = 30;
const BOX_GAP = 18;

/** Rows of a network: each a layer with a string `op`. */
export function isLayerRows(rows: DescribeRow[]): boolean {
  return rows.length > 0 && rows.every(row => typeof row.op === 'string');
}

function dims(value: unknown): string | null {
  return Array.isArray(value) ? value.join('×') : null;
}

/** "16→32 ch · stride 2 · out 32×4×4" from a layer row (whatever of it is known); a head whose classes
 * are not known reads "16→classes" ("16→classes ch" read as channels named classes: tutorial 01). */
export function shapeText(row: DescribeRow): string {
  const parts: string[] = [];
  const channelsIn = row.channels_in;
  const channelsOut = row.channels_out;
  if (typeof channelsIn === 'number' || typeof channelsOut === 'number') {
    const from = typeof channelsIn === 'number' ? String(channelsIn) : 'input';
    const to =
      typeof channelsOut === 'number' ? `${channelsOut} ch` : 'classes';
    parts.push(`${from}→${to}`);
  }
  if (typeof row.stride === 'number' && row.stride > 1) {
    parts.push(`stride ${row.stride}`);
  }
  const out = dims(row.output_shape);
  if (out !== null) {
    parts.push(`out ${out}`);
  }
  return parts.join(' · ');
}

function opText(row: DescribeRow): string {
  const op = row.op as string;
  const parts = [op];
  if (typeof row.kernel === 'number' && !op.includes(`${row.kernel}x`)) {
    parts.push(`k${row.kernel}`);
  }
  if (typeof row.expansion === 'number') {
    parts.push(`e${row.expansion}`);
  }
  return parts.join(' ');
}

/** Blocks top to bottom, a multi-branch block taller to hold its branches side by side. */
export function layoutLayers(rows: DescribeRow[]): ILayersLayout {
  let y = MARGIN;
  const boxes = rows.map((row, index) => {
    const op = row.op as string;
    const branches =
      typeof row.branches === 'number' && row.branches > 1
        ? op.split(' + ')
        : [];
    const height = BOX_HEIGHT + (branches.length ? BRANCH_HEIGHT : 0);
    const box: IBlockBox = {
      y,
      height,
      title: String(row.block ?? row.name ?? `layer ${index}`),
      op: branches.length ? `${branches.length} branches` : opText(row),
      family: branches.length ? 'other' : opFamily(op),
      branches,
      combine: typeof row.combine === 'string' ? row.combine : null,
      shape: shapeText(row),
      residual: row.residual === true || row.skip === true
    };
    y += height + BOX_GAP;
    return box;
  });
  return {
    width: 2 * MARGIN + BOX_WIDTH + 36, // the residual arcs on the right
    height: y - BOX_GAP + MARGIN,
    boxes
  };
}

// -- drawing -------------------------------------------------------------------------------------------

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  text?: string
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

/** Diagrams get their own arrowhead id: one hidden diagram must not hide another's arrows. */
let diagrams = 0;

function canvas(
  width: number,
  height: number,
  label: string
): [SVGSVGElement, string] {
  const arrow = `url(#nasw-arrow-${++diagrams})`;
  const root = svg('svg', {
    class: 'nasw-Diagram',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': label
  });
  const marker = svg('marker', {
    id: `nasw-arrow-${diagrams}`,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse'
  });
  marker.appendChild(
    svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'nasw-Arrowhead' })
  );
  const defs = svg('defs', {});
  defs.appendChild(marker);
  root.appendChild(defs);
  return [root, arrow];
}

function drawCell(rows: DescribeRow[]): SVGSVGElement {
  const layout = layoutCell(rows);
  const [root, arrow] = canvas(layout.width, layout.height, 'cell DAG');
  for (const edge of layout.edges) {
    root.appendChild(
      svg('path', {
        d: edge.path,
        class: `nasw-Edge nasw-op-${edge.family}`,
        'marker-end': arrow
      })
    );
    root.appendChild(
      svg(
        'text',
        {
          x: edge.labelX,
          y: edge.labelY,
          class: `nasw-EdgeLabel nasw-op-${edge.family}`
        },
        edge.op
      )
    );
  }
  for (const node of layout.nodes) {
    root.appendChild(
      svg('circle', { cx: node.x, cy: node.y, r: 14, class: 'nasw-Node' })
    );
    root.appendChild(
      svg(
        'text',
        { x: node.x, y: node.y + 4, class: 'nasw-NodeLabel' },
        node.label
      )
    );
  }
  return root;
}

function drawLayers(rows: DescribeRow[]): SVGSVGElement {
  const layout = layoutLayers(rows);
  const [root, arrow] = canvas(layout.width, layout.height, 'network blocks');
  const left = MARGIN;
  layout.boxes.forEach((box, index) => {
    const group = svg('g', { class: `nasw-Block nasw-op-${box.family}` });
    group.appendChild(
      svg('rect', {
        x: left,
        y: box.y,
        width: BOX_WIDTH,
        height: box.height,
        rx: 5
      })
    );
    group.appendChild(
      svg(
        'text',
        { x: left + 8, y: box.y + 17, class: 'nasw-BlockTitle' },
        box.title
      )
    );
    group.appendChild(
      svg(
        'text',
        { x: left + BOX_WIDTH - 8, y: box.y + 17, class: 'nasw-BlockOp' },
        box.combine ? `${box.op} · ${box.combine}` : box.op
      )
    );
    group.appendChild(
      svg(
        'text',
        { x: left + 8, y: box.y + 35, class: 'nasw-BlockShape' },
        box.shape
      )
    );
    const width =
      (BOX_WIDTH - 16 - 6 * (box.branches.length - 1)) /
      Math.max(1, box.branches.length);
    box.branches.forEach((branch, b) => {
      const x = left + 8 + b * (width + 6);
      const family = opFamily(branch);
      group.appendChild(
        svg('rect', {
          x,
          y: box.y + BOX_HEIGHT - 4,
          width,
          height: BRANCH_HEIGHT - 6,
          rx: 3,
          class: `nasw-Branch nasw-op-${family}`
        })
      );
      group.appendChild(
        svg(
          'text',
          {
            x: x + width / 2,
            y: box.y + BOX_HEIGHT + 12,
            class: 'nasw-BranchLabel'
          },
          branch
        )
      );
    });
    if (box.residual) {
      const right = left + BOX_WIDTH;
      group.appendChild(
        svg('path', {
          d: `M ${right} ${box.y + 8} C ${right + 30} ${box.y + 8} ${right + 30} ${box.y + box.height - 8} ${right + 2} ${box.y + box.height - 8}`,
          class: 'nasw-Residual',
          'marker-end': arrow
        })
      );
      group.appendChild(
        svg(
          'text',
          {
            x: right + 30,
            y: box.y + box.height / 2 + 4,
            class: 'nasw-ResidualLabel'
          },
          '+'
        )
      );
    }
    root.appendChild(group);
    const next = layout.boxes[index + 1];
    if (next) {
      const x = left + BOX_WIDTH / 2;
      root.appendChild(
        svg('path', {
          d: `M ${x} ${box.y + box.height} L ${x} ${next.y - 1}`,
          class: 'nasw-Flow',
          'marker-end': arrow
        })
      );
    }
  });
  return root;
}

function drawTable(rows: DescribeRow[]): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'nasw-Table';
  const columns = [...new Set(rows.flatMap(row => Object.keys(row)))];
  const head = table.createTHead().insertRow();
  for (const column of columns) {
    const cell = document.createElement('th');
    cell.textContent = column;
    head.appendChild(cell);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const line = body.insertRow();
    for (const column of columns) {
      const value = row[column];
      line.insertCell().textContent =
        value === null || value === undefined
          ? ''
          : Array.isArray(value)
            ? value.join('×')
            : String(value);
    }
  }
  return table;
}

/** The architecture of `payload`: its summary and id, then its diagram (or a table of its choices). */
export function renderArchitecture(payload: IArchPayload): HTMLElement {
  const node = document.createElement('div');
  node.className = 'nasw-Architecture';
  const header = document.createElement('div');
  header.className = 'nasw-ArchitectureHeader';
  const title = document.createElement('span');
  title.className = 'nasw-ArchitectureId';
  title.textContent = `${payload.spec.space}:${payload.id}`;
  header.appendChild(title);
  if (payload.summary) {
    const summary = document.createElement('code');
    summary.textContent = payload.summary;
    header.appendChild(summary);
  }
  node.appendChild(header);
  const rows = payload.describe;
  if (rows && isCellRows(rows)) {
    node.appendChild(drawCell(rows));
  } else if (rows && isLayerRows(rows)) {
    node.appendChild(drawLayers(rows));
  } else {
    const choices = Object.entries(payload.spec.choices).map(
      ([decision, choice]) => ({ decision, choice })
    );
    node.appendChild(drawTable(rows ?? choices));
  }
  return node;
}
