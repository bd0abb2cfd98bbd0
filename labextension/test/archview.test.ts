import { describe, expect, it } from 'vitest';

import {
  isCellRows,
  isLayerRows,
  layoutCell,
  layoutLayers,
  opFamily,
  shapeText
} from '../src/archview';

// describe() rows as the spaces write them (nas_workbench/spaces/cell.py, chain.py, multi_branch.py)
const NB201_ROWS = [
  { from: 0, to: 1, op: 'nor_conv_3x3', decision: 'node1.from0' },
  { from: 0, to: 2, op: 'nor_conv_3x3', decision: 'node2.from0' },
  { from: 1, to: 2, op: 'none', decision: 'node2.from1' },
  { from: 0, to: 3, op: 'nor_conv_1x1', decision: 'node3.from0' },
  { from: 1, to: 3, op: 'avg_pool_3x3', decision: 'node3.from1' },
  { from: 2, to: 3, op: 'skip_connect', decision: 'node3.from2' }
];

const CHAIN_ROWS = [
  {
    block: 'stem',
    op: 'conv',
    kernel: 3,
    channels_in: null,
    channels_out: 16,
    stride: 1
  },
  {
    block: 'stage1.block0',
    op: 'mbconv',
    kernel: 5,
    expansion: 6,
    residual: true,
    channels_in: 16,
    channels_out: 16,
    stride: 1
  },
  {
    block: 'stage2.block0',
    op: 'dwsep',
    kernel: 3,
    expansion: null,
    residual: false,
    channels_in: 16,
    channels_out: 32,
    stride: 2,
    output_shape: [32, 4, 4]
  },
  {
    block: 'head',
    op: 'pool+linear',
    channels_in: 32,
    channels_out: null,
    stride: 0
  }
];

const MULTI_BRANCH_ROW = {
  block: 'stage1.block0',
  op: 'sep_conv_3x3 + nor_conv_1x1 + max_pool_3x3',
  branches: 3,
  combine: 'concat',
  skip: true,
  channels_in: 16,
  channels_out: 16,
  stride: 1
};

describe('opFamily', () => {
  it('groups ops by what they do', () => {
    expect(opFamily('nor_conv_3x3')).toBe('conv');
    expect(opFamily('dil_conv_3x3')).toBe('conv');
    expect(opFamily('avg_pool_3x3')).toBe('pool');
    expect(opFamily('skip_connect')).toBe('skip');
    expect(opFamily('none')).toBe('none');
    expect(opFamily('mbconv')).toBe('conv');
    expect(opFamily('dwsep')).toBe('conv');
    expect(opFamily('pool+linear')).toBe('pool');
    expect(opFamily('attention')).toBe('other');
  });
});

describe('cell layout', () => {
  const layout = layoutCell(NB201_ROWS);

  it('recognises cell rows and nothing else', () => {
    expect(isCellRows(NB201_ROWS)).toBe(true);
    expect(isCellRows(CHAIN_ROWS)).toBe(false);
    expect(isCellRows([])).toBe(false);
  });

  it('puts the nodes left to right, input first and output last', () => {
    expect(layout.nodes.map(n => n.label)).toEqual(['in', '1', '2', 'out']);
    const xs = layout.nodes.map(n => n.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(new Set(layout.nodes.map(n => n.y)).size).toBe(1);
  });

  it('draws every edge but the "none" ones, each with its op', () => {
    expect(layout.edges.map(e => `${e.from}-${e.to}:${e.op}`)).toEqual([
      '0-1:nor_conv_3x3',
      '0-2:nor_conv_3x3',
      '0-3:nor_conv_1x1',
      '1-3:avg_pool_3x3',
      '2-3:skip_connect'
    ]);
    expect(layout.edges.map(e => e.family)).toEqual([
      'conv',
      'conv',
      'conv',
      'pool',
      'skip'
    ]);
  });

  it('keeps every label apart and inside the drawing', () => {
    const labels = layout.edges.map(e => [e.labelX, e.labelY]);
    for (const [i, [x, y]] of labels.entries()) {
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(layout.width);
      expect(y).toBeGreaterThan(0);
      expect(y).toBeLessThan(layout.height);
      for (const [x2, y2] of labels.slice(i + 1)) {
        expect(Math.abs(x - x2) > 60 || Math.abs(y - y2) > 10).toBe(true);
      }
    }
  });

  it('sends crossing arcs of the same span to opposite sides', () => {
    const y = layout.nodes[0].y;
    const above = (from: number, to: number) =>
      layout.edges.find(e => e.from === from && e.to === to)!.labelY < y;
    expect(above(0, 3)).toBe(true);
    expect(above(1, 3)).toBe(false);
  });
});

describe('layer layout', () => {
  it('recognises layer rows', () => {
    expect(isLayerRows(CHAIN_ROWS)).toBe(true);
    expect(isLayerRows([{ decision: 'x', choice: 1 }])).toBe(false);
  });

  it('stacks the blocks top to bottom without overlap', () => {
    const layout = layoutLayers([...CHAIN_ROWS, MULTI_BRANCH_ROW]);
    const boxes = layout.boxes;
    expect(boxes.map(b => b.title)).toEqual([
      'stem',
      'stage1.block0',
      'stage2.block0',
      'head',
      'stage1.block0'
    ]);
    for (let i = 1; i < boxes.length; i++) {
      expect(boxes[i].y).toBeGreaterThan(boxes[i - 1].y + boxes[i - 1].height);
    }
    const last = boxes[boxes.length - 1];
    expect(layout.height).toBeGreaterThan(last.y + last.height);
  });

  it('labels ops with kernel and expansion, and marks residual blocks', () => {
    const [stem, mbconv, dwsep, head] = layoutLayers(CHAIN_ROWS).boxes;
    expect(stem.op).toBe('conv k3');
    expect(mbconv.op).toBe('mbconv k5 e6');
    expect(mbconv.residual).toBe(true);
    expect(dwsep.residual).toBe(false);
    expect(head.family).toBe('pool');
  });

  it('shows the shapes a block maps between', () => {
    expect(shapeText(CHAIN_ROWS[0])).toBe('input→16 ch');
    expect(shapeText(CHAIN_ROWS[2])).toBe('16→32 ch · stride 2 · out 32×4×4');
    expect(shapeText(CHAIN_ROWS[3])).toBe('32→classes');
  });

  it('splits a multi-branch block into its branches, taller than a plain block', () => {
    const [plain, multi] = layoutLayers([
      CHAIN_ROWS[1],
      MULTI_BRANCH_ROW
    ]).boxes;
    expect(multi.branches).toEqual([
      'sep_conv_3x3',
      'nor_conv_1x1',
      'max_pool_3x3'
    ]);
    expect(multi.combine).toBe('concat');
    expect(multi.residual).toBe(true);
    expect(multi.height).toBeGreaterThan(plain.height);
  });
});
